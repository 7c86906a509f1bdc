/*
 * sandbox.h - runs untrusted Python (model answers plus hidden tests) in a
 * bubblewrap sandbox: no network, read-only system directories, a private
 * size-limited tmpfs as the working directory, rlimits on CPU time, address
 * space, processes, file size and open files, a wall-clock deadline that
 * kills the whole process tree, and captured, capped stdout/stderr.
 *
 * One run = one fork of the caller, which becomes `bwrap ... sh -c 'ulimit
 * -u N; exec python3 -I -B prog.py'`.  RLIMIT_NPROC is set *inside* the
 * sandbox because the kernel counts processes per user namespace there, so
 * parallel runs do not share one budget; the kernel never enforces it for
 * uid 0, so a root caller drops to an unprivileged uid first (65534 by
 * default).  Killing bwrap's process group ends the sandbox's PID namespace
 * and with it every process the candidate forked.
 *
 * Without a usable bwrap, tlm_sandbox_create fails unless the caller asked
 * for the explicit unsafe mode (rlimits and a process group only).
 *
 * Thread safety: a tlm_sandbox is immutable after creation; any number of
 * threads may call tlm_sandbox_run on it at once.
 */
#ifndef TLM_EVAL_SANDBOX_H
#define TLM_EVAL_SANDBOX_H

#include "core/util.h"

typedef struct tlm_sandbox_limits {
    double wall_s;        /* wall-clock limit; the process tree is killed after it */
    uint64_t mem_bytes;   /* RLIMIT_AS of every process */
    uint64_t fsize_bytes; /* RLIMIT_FSIZE: largest file a process may write */
    uint64_t tmpfs_bytes; /* size of the private working directory (and /dev/shm) */
    int nproc;            /* RLIMIT_NPROC inside the sandbox */
    int nofile;           /* RLIMIT_NOFILE */
    size_t output_keep;   /* bytes of stdout and of stderr kept (each) */
    size_t output_kill;   /* total output after which the run is killed */
} tlm_sandbox_limits;

typedef enum tlm_sandbox_mode {
    TLM_SANDBOX_BWRAP,  /* bubblewrap; creation fails if it does not work */
    TLM_SANDBOX_UNSAFE, /* no namespaces: rlimits + process group only */
    TLM_SANDBOX_AUTO,   /* bwrap if it works, else unsafe if allow_unsafe */
} tlm_sandbox_mode;

typedef struct tlm_sandbox_config {
    tlm_sandbox_mode mode;
    bool allow_unsafe;       /* required for TLM_SANDBOX_UNSAFE (and AUTO's fallback) */
    const char *bwrap_path;  /* NULL: $TLM_BWRAP, /usr/bin/bwrap, then $PATH */
    const char *python_path; /* NULL: $TLM_EVAL_PYTHON or /usr/bin/python3 */
    unsigned drop_uid;       /* uid (and gid) a root caller runs sandboxes as */
    tlm_sandbox_limits limits;
} tlm_sandbox_config;

/* Defaults: bwrap, 10 s wall, 2 GiB address space, 16 MiB files, 64 MiB
 * tmpfs, 32 processes, 64 open files, 64 KiB kept and 32 MiB total output,
 * drop_uid 65534. */
tlm_sandbox_config tlm_sandbox_default_config(void);

typedef struct tlm_sandbox tlm_sandbox;

/* Checks the configuration and probes the sandbox with a tiny program (no
 * network, read-only root, process limit honoured).  The caller owns *out and
 * frees it with tlm_sandbox_free.  Fails with TLM_ERR_UNSUPPORTED and a
 * message saying why when bwrap is unusable and unsafe mode was not allowed. */
tlm_status tlm_sandbox_create(const tlm_sandbox_config *cfg, tlm_sandbox **out, tlm_error *err);
void tlm_sandbox_free(tlm_sandbox *sb);

/* A short description of the isolation in use, e.g. "bwrap 0.8.0, uid 65534"
 * or "none (unsafe)".  Borrowed; valid until tlm_sandbox_free. */
const char *tlm_sandbox_describe(const tlm_sandbox *sb);
bool tlm_sandbox_is_isolated(const tlm_sandbox *sb);
const tlm_sandbox_limits *tlm_sandbox_get_limits(const tlm_sandbox *sb);

/* An extra file placed in the working directory before the run. */
typedef struct tlm_sandbox_file {
    const char *name; /* plain file name: no '/', not "." or ".." */
    const char *data;
    size_t len;
} tlm_sandbox_file;

#define TLM_SANDBOX_MAX_FILES 16
#define TLM_SANDBOX_TAIL 4096

typedef struct tlm_sandbox_result {
    int exit_code;       /* exit status, or -1 when killed by a signal */
    int term_signal;     /* signal that ended the process, 0 if it exited */
    bool timed_out;      /* the wall-clock deadline killed it */
    bool output_limited; /* output passed limits.output_kill; killed */
    bool setup_failed;   /* the sandbox itself failed to start (not the program) */
    double wall_ms;
    double cpu_ms; /* user + system time of the whole tree */
    long maxrss_kb;
    char *out;      /* first output_keep bytes of stdout, NUL-terminated; owned */
    char *err;      /* same for stderr; owned */
    char *out_tail; /* last TLM_SANDBOX_TAIL bytes of stdout (tracebacks end there); owned */
    char *err_tail;
    size_t out_total; /* bytes the program wrote to stdout (including dropped ones) */
    size_t err_total;
} tlm_sandbox_result;

/* Runs `python3 -I -B prog.py` with `program` as prog.py and `files` next to
 * it.  `limits` overrides the sandbox's limits when not NULL.  Returns an
 * error status only when the run could not be attempted (bad arguments,
 * out of memory, fork failure); a program that crashes, loops or is killed
 * is a successful run whose result says so.  Release the result with
 * tlm_sandbox_result_clear. */
tlm_status tlm_sandbox_run(const tlm_sandbox *sb, const char *program,
                           const tlm_sandbox_file *files, size_t n_files,
                           const tlm_sandbox_limits *limits, tlm_sandbox_result *out,
                           tlm_error *err);
void tlm_sandbox_result_clear(tlm_sandbox_result *r);

#endif /* TLM_EVAL_SANDBOX_H */
