/*
 * sandbox_run.c - one run in the sandbox (sandbox.h).
 *
 * Design (see docs/EVAL.md, "The sandbox"): the parent builds every argument
 * and environment string first, then forks; the child only makes
 * async-signal-safe calls (dup2, setrlimit, setuid, execve) because the
 * runner forks from several threads at once.  Program and fixture files
 * travel as memfds that bwrap copies (`--file FD DEST`) into a fresh,
 * size-limited tmpfs, so nothing of the run ever touches the host disk.  The
 * parent polls the output pipes and a pidfd against a monotonic deadline,
 * keeps at most output_keep bytes per stream but keeps draining (a child
 * must never block on a full pipe), and kills the process group on timeout
 * or runaway output.
 */
#include "eval/sandbox_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SANDBOX_DIR "/sandbox"
#define EXIT_SETUP 125 /* the launcher could not apply a limit */
#define EXIT_EXEC 127  /* execve failed in the child */

/* ---- Small string vector for argv/envp, built before fork ---- */

typedef struct strvec {
    char **v;
    size_t n, cap;
    bool oom;
} strvec;

static void sv_push(strvec *s, const char *str) {
    if (s->oom) return;
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **v = tlm_realloc(s->v, cap * sizeof *v);
        if (!v) {
            s->oom = true;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    char *d = tlm_strdup(str);
    if (!d) {
        s->oom = true;
        return;
    }
    s->v[s->n++] = d;
    s->v[s->n] = NULL;
}

static void sv_pushf(strvec *s, const char *fmt, ...) TLM_PRINTF(2, 3);
static void sv_pushf(strvec *s, const char *fmt, ...) {
    char tmp[PATH_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sv_push(s, tmp);
}

static void sv_free(strvec *s) {
    for (size_t i = 0; i < s->n; i++) tlm_free(s->v[i]);
    tlm_free(s->v);
    memset(s, 0, sizeof *s);
}

/* ---- The bwrap command line ---- */

static void push_system_binds(strvec *a, const tlm_sandbox *sb) {
    static const char *const links[] = {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};
    static const char *const ro[] = {"/etc/alternatives", "/etc/ld.so.cache", "/etc/localtime"};
    sv_push(a, "--ro-bind");
    sv_push(a, "/usr");
    sv_push(a, "/usr");
    for (size_t i = 0; i < TLM_ARRAY_LEN(links); i++) {
        struct stat st;
        if (lstat(links[i], &st) != 0) continue;
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlink(links[i], target, sizeof target - 1);
            if (n <= 0) continue;
            target[n] = '\0';
            sv_push(a, "--symlink");
            sv_push(a, target);
        } else {
            sv_push(a, "--ro-bind");
            sv_push(a, links[i]);
        }
        sv_push(a, links[i]);
    }
    for (size_t i = 0; i < TLM_ARRAY_LEN(ro); i++) {
        sv_push(a, "--ro-bind-try");
        sv_push(a, ro[i]);
        sv_push(a, ro[i]);
    }
    if (sb->python_prefix[0]) {
        sv_push(a, "--ro-bind");
        sv_push(a, sb->python_prefix);
        sv_push(a, sb->python_prefix);
    }
}

static void push_env(strvec *a, bool bwrap, const char *home) {
    static const char *const kv[][2] = {
        {"PATH", "/usr/local/bin:/usr/bin:/bin"},
        {"LC_ALL", "C.UTF-8"},
        {"LANG", "C.UTF-8"},
        {"PYTHONHASHSEED", "0"},
        {"PYTHONDONTWRITEBYTECODE", "1"},
        {"OMP_NUM_THREADS", "1"},
        {"OPENBLAS_NUM_THREADS", "1"},
        {"MKL_NUM_THREADS", "1"},
    };
    for (size_t i = 0; i < TLM_ARRAY_LEN(kv); i++) {
        if (bwrap) {
            sv_push(a, "--setenv");
            sv_push(a, kv[i][0]);
            sv_push(a, kv[i][1]);
        } else {
            sv_pushf(a, "%s=%s", kv[i][0], kv[i][1]);
        }
    }
    if (bwrap) {
        sv_push(a, "--setenv"), sv_push(a, "HOME"), sv_push(a, home);
        sv_push(a, "--setenv"), sv_push(a, "TMPDIR"), sv_push(a, home);
    } else {
        sv_pushf(a, "HOME=%s", home);
        sv_pushf(a, "TMPDIR=%s", home);
    }
}

/* files[i] arrives in the child as fd 3+i; the program itself is prog.py. */
static void build_bwrap_argv(const tlm_sandbox *sb, const tlm_sandbox_limits *lim,
                             const tlm_sandbox_file *files, size_t n_files, strvec *a) {
    sv_push(a, sb->bwrap);
    sv_push(a, "--unshare-all");
    sv_push(a, "--die-with-parent");
    sv_push(a, "--new-session");
    sv_push(a, "--clearenv");
    push_env(a, true, SANDBOX_DIR);
    push_system_binds(a, sb);
    sv_push(a, "--dev"), sv_push(a, "/dev");
    sv_push(a, "--size"), sv_pushf(a, "%llu", (unsigned long long)lim->tmpfs_bytes);
    sv_push(a, "--tmpfs"), sv_push(a, "/dev/shm");
    sv_push(a, "--proc"), sv_push(a, "/proc");
    sv_push(a, "--size"), sv_pushf(a, "%llu", (unsigned long long)lim->tmpfs_bytes);
    sv_push(a, "--tmpfs"), sv_push(a, SANDBOX_DIR);
    sv_push(a, "--symlink"), sv_push(a, SANDBOX_DIR), sv_push(a, "/tmp");
    sv_push(a, "--file"), sv_push(a, "3"), sv_push(a, SANDBOX_DIR "/prog.py");
    for (size_t i = 0; i < n_files; i++) {
        sv_push(a, "--file");
        sv_pushf(a, "%zu", i + 4);
        sv_pushf(a, "%s/%s", SANDBOX_DIR, files[i].name);
    }
    /* Read-only root and /dev: without these, bwrap's own tmpfs root would
     * take unbounded writes outside the size-limited directories. */
    sv_push(a, "--remount-ro"), sv_push(a, "/dev");
    sv_push(a, "--remount-ro"), sv_push(a, "/");
    sv_push(a, "--chdir"), sv_push(a, SANDBOX_DIR);
    sv_push(a, "/bin/sh");
    sv_push(a, "-c");
    /* dash spells the process limit -p, bash -u; bash's -p fails harmlessly. */
    sv_pushf(a, "ulimit -u %d 2>/dev/null || ulimit -p %d 2>/dev/null || exit %d; exec \"$@\"",
             lim->nproc, lim->nproc, EXIT_SETUP);
    sv_push(a, "sh");
    sv_push(a, sb->python);
    sv_push(a, "-I");
    sv_push(a, "-B");
    sv_push(a, "prog.py");
}

/* ---- The child side: async-signal-safe calls only ---- */

typedef struct child_plan {
    char *const *argv;
    char *const *envp;
    const char *workdir; /* unsafe mode only */
    int in_fd, out_fd, err_fd;
    const int *keep_fds; /* become fds 3.. */
    size_t n_keep;
    bool drop;
    unsigned uid;
    pid_t parent;
    struct rlimit as, cpu, fsize, nofile, nproc;
    bool set_nproc;
} child_plan;

static void child_fail(const char *msg) {
    static const char prefix[] = "tlm-sandbox: ";
    if (write(2, prefix, sizeof prefix - 1) < 0) _exit(EXIT_EXEC);
    if (write(2, msg, strlen(msg)) < 0) _exit(EXIT_EXEC);
    if (write(2, "\n", 1) < 0) _exit(EXIT_EXEC);
    _exit(EXIT_EXEC);
}

/* Places stdin, stdout, stderr and the kept fds at 0, 1, 2, 3, ... and
 * closes the rest.  Every source is first duplicated above the highest
 * target, so no dup2 can clobber a source still to be moved. */
static void child_fds(const child_plan *p) {
    int src[3 + TLM_SANDBOX_MAX_FILES + 1] = {p->in_fd, p->out_fd, p->err_fd};
    int n = 3 + (int)p->n_keep;
    for (size_t i = 0; i < p->n_keep; i++) src[3 + i] = p->keep_fds[i];
    for (int i = 0; i < n; i++)
        if ((src[i] = fcntl(src[i], F_DUPFD, n)) < 0) _exit(EXIT_EXEC);
    for (int i = 0; i < n; i++)
        if (dup2(src[i], i) < 0) _exit(EXIT_EXEC);
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)n, ~0u, 0) == 0) return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = n; fd < (max > 0 ? max : 65536); fd++) close((int)fd);
}

static void child_run(const child_plan *p) {
    setsid();
    child_fds(p);
    if (p->workdir && chdir(p->workdir) != 0) child_fail("chdir failed");
    umask(022);
    if (p->drop) {
        if (setgroups(0, NULL) != 0 || setgid(p->uid) != 0 || setuid(p->uid) != 0)
            child_fail("cannot drop to the sandbox uid");
    }
    /* After setuid: a credential change clears the parent-death signal. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != p->parent) _exit(EXIT_EXEC);
    struct rlimit core = {0, 0};
    if (setrlimit(RLIMIT_AS, &p->as) || setrlimit(RLIMIT_CPU, &p->cpu) ||
        setrlimit(RLIMIT_FSIZE, &p->fsize) || setrlimit(RLIMIT_NOFILE, &p->nofile) ||
        setrlimit(RLIMIT_CORE, &core))
        child_fail("setrlimit failed");
    if (p->set_nproc && setrlimit(RLIMIT_NPROC, &p->nproc)) child_fail("setrlimit failed");
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    signal(SIGPIPE, SIG_DFL);
    execve(p->argv[0], p->argv, p->envp);
    child_fail("execve failed");
}

/* Clamp a wanted limit to the current hard limit: raising it would fail. */
static struct rlimit clamp_limit(int resource, uint64_t want) {
    struct rlimit cur;
    struct rlimit r = {(rlim_t)want, (rlim_t)want};
    if (getrlimit(resource, &cur) == 0 && cur.rlim_max != RLIM_INFINITY &&
        r.rlim_max > cur.rlim_max)
        r.rlim_cur = r.rlim_max = cur.rlim_max;
    return r;
}

static void plan_limits(child_plan *p, const tlm_sandbox_limits *lim) {
    uint64_t cpu = (uint64_t)ceil(lim->wall_s) + 1;
    p->as = clamp_limit(RLIMIT_AS, lim->mem_bytes);
    p->cpu = clamp_limit(RLIMIT_CPU, cpu + 1);
    p->cpu.rlim_cur = p->cpu.rlim_max > 1 ? p->cpu.rlim_max - 1 : p->cpu.rlim_max;
    p->fsize = clamp_limit(RLIMIT_FSIZE, lim->fsize_bytes);
    p->nofile = clamp_limit(RLIMIT_NOFILE, (uint64_t)lim->nofile);
    p->nproc = clamp_limit(RLIMIT_NPROC, (uint64_t)lim->nproc);
}

/* ---- The parent side: collecting output against a deadline ---- */

typedef struct stream {
    int fd;
    char *keep;
    size_t kept, total, cap;
    char ring[TLM_SANDBOX_TAIL]; /* the last bytes, at total % TLM_SANDBOX_TAIL */
} stream;

static void ring_add(stream *s, const char *p, size_t n) {
    if (n > TLM_SANDBOX_TAIL) {
        p += n - TLM_SANDBOX_TAIL;
        s->total += n - TLM_SANDBOX_TAIL;
        n = TLM_SANDBOX_TAIL;
    }
    for (size_t i = 0; i < n; i++) s->ring[(s->total + i) % TLM_SANDBOX_TAIL] = p[i];
    s->total += n;
}

static char *ring_string(const stream *s) {
    size_t n = TLM_MIN(s->total, (size_t)TLM_SANDBOX_TAIL);
    char *out = tlm_malloc(n + 1);
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) out[i] = s->ring[(s->total - n + i) % TLM_SANDBOX_TAIL];
    out[n] = '\0';
    return out;
}

static void stream_read(stream *s) {
    char buf[65536];
    for (;;) {
        ssize_t n = read(s->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0 || errno != EAGAIN) {
                close(s->fd);
                s->fd = -1;
            }
            return;
        }
        size_t room = s->cap - s->kept;
        size_t take = (size_t)n < room ? (size_t)n : room;
        memcpy(s->keep + s->kept, buf, take);
        s->kept += take;
        ring_add(s, buf, (size_t)n);
        if ((size_t)n < sizeof buf) return;
    }
}

static void kill_tree(pid_t pid) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
}

typedef struct watch {
    pid_t pid;
    int pidfd;
    stream s[2];
    uint64_t deadline_ns;
    size_t output_kill;
    tlm_sandbox_result *res;
} watch;

/* Returns true once the child has exited (its status may still be unreaped). */
static bool watch_step(watch *w, bool exited) {
    struct pollfd pf[3];
    int np = 0;
    for (int i = 0; i < 2; i++)
        if (w->s[i].fd >= 0) pf[np++] = (struct pollfd){.fd = w->s[i].fd, .events = POLLIN};
    int pid_slot = -1;
    if (!exited && w->pidfd >= 0) {
        pid_slot = np;
        pf[np++] = (struct pollfd){.fd = w->pidfd, .events = POLLIN};
    }
    uint64_t now = tlm_time_ns();
    int timeout = now >= w->deadline_ns ? 0 : (int)((w->deadline_ns - now) / 1000000 + 1);
    if (w->pidfd < 0 || exited) timeout = TLM_MIN(timeout, 20);
    if (np > 0)
        poll(pf, (nfds_t)np, timeout);
    else if (timeout > 0)
        usleep((useconds_t)timeout * 1000);
    for (int i = 0; i < 2; i++)
        if (w->s[i].fd >= 0) stream_read(&w->s[i]);
    if (w->s[0].total + w->s[1].total > w->output_kill && !w->res->output_limited) {
        w->res->output_limited = true;
        kill_tree(w->pid);
    }
    if (pid_slot >= 0 && (pf[pid_slot].revents & POLLIN)) return true;
    if (w->pidfd < 0 && !exited) {
        siginfo_t si = {0};
        if (waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
            return true;
    }
    return exited;
}

static void watch_run(watch *w) {
    bool exited = false;
    uint64_t grace_end = 0;
    while (w->s[0].fd >= 0 || w->s[1].fd >= 0 || !exited) {
        exited = watch_step(w, exited);
        uint64_t now = tlm_time_ns();
        if (!exited && now >= w->deadline_ns && !w->res->timed_out) {
            w->res->timed_out = true;
            kill_tree(w->pid);
        }
        if (exited && !grace_end) {
            /* Orphans outside bwrap (unsafe mode) may hold the pipes open. */
            kill_tree(w->pid);
            grace_end = now + 200000000ull;
        }
        if (grace_end && now >= grace_end) break;
    }
}

static void finish_status(tlm_sandbox_result *r, int status, const struct rusage *ru) {
    if (WIFEXITED(status)) {
        r->exit_code = WEXITSTATUS(status);
    } else {
        r->exit_code = -1;
        r->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
    r->cpu_ms = (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1e3 +
                (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e3;
    r->maxrss_kb = ru->ru_maxrss;
    if (r->timed_out || r->output_limited) return;
    bool ours = r->err && (!strncmp(r->err, "tlm-sandbox: ", 13) || !strncmp(r->err, "bwrap: ", 7));
    if (r->exit_code == EXIT_SETUP || (r->exit_code == EXIT_EXEC && ours) ||
        (r->exit_code == 1 && r->err && !strncmp(r->err, "bwrap: ", 7)))
        r->setup_failed = true;
}

/* ---- Preparing inputs ---- */

static int make_memfd(const char *name, const char *data, size_t len) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool valid_file_name(const char *name) {
    if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return false;
    return strcmp(name, "prog.py") != 0 && strlen(name) < 128;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static tlm_status write_host_file(const char *dir, const char *name, const char *data, size_t len,
                                  tlm_error *err) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        if (f) fclose(f);
        return tlm_error_set(err, TLM_ERR_IO, "sandbox: cannot write %s", path);
    }
    fclose(f);
    return TLM_OK;
}

/* Unsafe mode has no tmpfs: a host directory, owned by the run's uid. */
static tlm_status make_workdir(const tlm_sandbox *sb, const char *program,
                               const tlm_sandbox_file *files, size_t n_files, char *dir,
                               tlm_error *err) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, PATH_MAX, "%s/tlm-evalXXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir))
        return tlm_error_set(err, TLM_ERR_IO, "sandbox: mkdtemp: %s", strerror(errno));
    tlm_status st = write_host_file(dir, "prog.py", program, strlen(program), err);
    for (size_t i = 0; st == TLM_OK && i < n_files; i++)
        st = write_host_file(dir, files[i].name, files[i].data, files[i].len, err);
    if (st == TLM_OK && sb->drop) {
        if (chown(dir, sb->cfg.drop_uid, sb->cfg.drop_uid) != 0)
            st = tlm_error_set(err, TLM_ERR_IO, "sandbox: chown %s: %s", dir, strerror(errno));
    }
    if (st != TLM_OK) nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return st;
}

/* ---- Running ---- */

typedef struct run_io {
    int keep[TLM_SANDBOX_MAX_FILES + 1];
    size_t n_keep;
    int pipes[2][2];
    int devnull;
    char workdir[PATH_MAX];
} run_io;

static void io_close(run_io *io) {
    for (size_t i = 0; i < io->n_keep; i++) close(io->keep[i]);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            if (io->pipes[i][j] >= 0) close(io->pipes[i][j]);
    if (io->devnull >= 0) close(io->devnull);
    if (io->workdir[0]) nftw(io->workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static tlm_status prepare_io(const tlm_sandbox *sb, const char *program,
                             const tlm_sandbox_file *files, size_t n_files, run_io *io,
                             tlm_error *err) {
    if (sb->isolated) {
        io->keep[io->n_keep] = make_memfd("prog.py", program, strlen(program));
        if (io->keep[io->n_keep] < 0) goto fail_fd;
        io->n_keep++;
        for (size_t i = 0; i < n_files; i++) {
            io->keep[io->n_keep] = make_memfd(files[i].name, files[i].data, files[i].len);
            if (io->keep[io->n_keep] < 0) goto fail_fd;
            io->n_keep++;
        }
    } else {
        tlm_status st = make_workdir(sb, program, files, n_files, io->workdir, err);
        if (st != TLM_OK) {
            io->workdir[0] = '\0';
            return st;
        }
    }
    if (pipe2(io->pipes[0], O_CLOEXEC) || pipe2(io->pipes[1], O_CLOEXEC)) goto fail_fd;
    io->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (io->devnull < 0) goto fail_fd;
    return TLM_OK;
fail_fd:
    return tlm_error_set(err, TLM_ERR_IO, "sandbox: cannot set up files: %s", strerror(errno));
}

static void build_argv(const tlm_sandbox *sb, const tlm_sandbox_limits *lim,
                       const tlm_sandbox_file *files, size_t n_files, const run_io *io,
                       strvec *argv, strvec *envp) {
    if (sb->isolated) {
        build_bwrap_argv(sb, lim, files, n_files, argv);
        sv_push(envp, "PATH=/usr/bin:/bin");
    } else {
        sv_push(argv, sb->python);
        sv_push(argv, "-I");
        sv_push(argv, "-B");
        sv_push(argv, "prog.py");
        push_env(envp, false, io->workdir);
    }
}

static tlm_status check_run_args(const tlm_sandbox *sb, const char *program,
                                 const tlm_sandbox_file *files, size_t n_files,
                                 const tlm_sandbox_limits *lim, tlm_error *err) {
    if (!sb || !program) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sandbox: no program");
    if (n_files > TLM_SANDBOX_MAX_FILES)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sandbox: %zu files (at most %d)", n_files,
                             TLM_SANDBOX_MAX_FILES);
    for (size_t i = 0; i < n_files; i++)
        if (!valid_file_name(files[i].name) || (!files[i].data && files[i].len))
            return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sandbox: bad file name '%s'",
                                 files[i].name ? files[i].name : "(null)");
    if (!(lim->wall_s > 0 && lim->wall_s < 86400) || lim->nproc < 1 || lim->nofile < 8 ||
        lim->mem_bytes < (16u << 20) || lim->tmpfs_bytes < 4096 || lim->output_kill == 0)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sandbox: limits out of range");
    return TLM_OK;
}

static void collect(pid_t pid, run_io *io, const tlm_sandbox_limits *lim, uint64_t start,
                    tlm_sandbox_result *out) {
    close(io->pipes[0][1]);
    close(io->pipes[1][1]);
    io->pipes[0][1] = io->pipes[1][1] = -1;
    watch w = {.pid = pid, .pidfd = -1, .output_kill = lim->output_kill, .res = out};
    w.deadline_ns = start + (uint64_t)(lim->wall_s * 1e9);
#ifdef SYS_pidfd_open
    w.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    for (int i = 0; i < 2; i++) {
        w.s[i] = (stream){
            .fd = io->pipes[i][0], .keep = i ? out->err : out->out, .cap = lim->output_keep};
        fcntl(w.s[i].fd, F_SETFL, O_NONBLOCK);
        io->pipes[i][0] = -1; /* the stream owns it now */
    }
    watch_run(&w);
    for (int i = 0; i < 2; i++)
        if (w.s[i].fd >= 0) close(w.s[i].fd);
    if (w.pidfd >= 0) close(w.pidfd);
    out->out[w.s[0].kept] = '\0';
    out->err[w.s[1].kept] = '\0';
    out->out_total = w.s[0].total;
    out->err_total = w.s[1].total;
    out->out_tail = ring_string(&w.s[0]);
    out->err_tail = ring_string(&w.s[1]);
    int status = 0;
    struct rusage ru = {0};
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    out->wall_ms = (double)(tlm_time_ns() - start) / 1e6;
    finish_status(out, status, &ru);
}

tlm_status tlm_sandbox_run(const tlm_sandbox *sb, const char *program,
                           const tlm_sandbox_file *files, size_t n_files,
                           const tlm_sandbox_limits *limits, tlm_sandbox_result *out,
                           tlm_error *err) {
    if (!out) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sandbox: no result");
    memset(out, 0, sizeof *out);
    const tlm_sandbox_limits *lim = limits ? limits : (sb ? &sb->cfg.limits : NULL);
    if (!lim) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sandbox: no sandbox");
    tlm_status st = check_run_args(sb, program, files, n_files, lim, err);
    if (st != TLM_OK) return st;
    run_io io = {.pipes = {{-1, -1}, {-1, -1}}, .devnull = -1};
    strvec argv = {0}, envp = {0};
    out->out = tlm_malloc(lim->output_keep + 1);
    out->err = tlm_malloc(lim->output_keep + 1);
    if (!out->out || !out->err) {
        st = tlm_error_set(err, TLM_ERR_NOMEM, "sandbox: out of memory");
        goto done;
    }
    st = prepare_io(sb, program, files, n_files, &io, err);
    if (st != TLM_OK) goto done;
    build_argv(sb, lim, files, n_files, &io, &argv, &envp);
    if (argv.oom || envp.oom) {
        st = tlm_error_set(err, TLM_ERR_NOMEM, "sandbox: out of memory");
        goto done;
    }
    child_plan plan = {
        .argv = argv.v,
        .envp = envp.v,
        .workdir = io.workdir[0] ? io.workdir : NULL,
        .in_fd = io.devnull,
        .out_fd = io.pipes[0][1],
        .err_fd = io.pipes[1][1],
        .keep_fds = io.keep,
        .n_keep = io.n_keep,
        .drop = sb->drop,
        .uid = sb->cfg.drop_uid,
        .parent = getpid(),
        .set_nproc = !sb->isolated && sb->drop,
    };
    plan_limits(&plan, lim);
    uint64_t start = tlm_time_ns();
    pid_t pid = fork();
    if (pid < 0) {
        st = tlm_error_set(err, TLM_ERR_IO, "sandbox: fork: %s", strerror(errno));
        goto done;
    }
    if (pid == 0) child_run(&plan);
    collect(pid, &io, lim, start, out);
done:
    io_close(&io);
    sv_free(&argv);
    sv_free(&envp);
    if (st != TLM_OK) tlm_sandbox_result_clear(out);
    return st;
}

void tlm_sandbox_result_clear(tlm_sandbox_result *r) {
    if (!r) return;
    tlm_free(r->out);
    tlm_free(r->err);
    tlm_free(r->out_tail);
    tlm_free(r->err_tail);
    memset(r, 0, sizeof *r);
}
