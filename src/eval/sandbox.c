/*
 * sandbox.c - configuring the Python sandbox declared in sandbox.h:
 * defaults, finding bwrap and python3, and the probe that proves the
 * isolation (no network, read-only root, process limit) before any model
 * answer is run.  A run itself is in sandbox_run.c.
 */
#include "eval/sandbox_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

tlm_sandbox_config tlm_sandbox_default_config(void) {
    tlm_sandbox_config c = {
        .mode = TLM_SANDBOX_BWRAP,
        .drop_uid = 65534,
        .limits =
            {
                .wall_s = 10.0,
                .mem_bytes = 2ull << 30,
                .fsize_bytes = 16ull << 20,
                .tmpfs_bytes = 64ull << 20,
                .nproc = 32,
                .nofile = 64,
                .output_keep = 64 << 10,
                .output_kill = 32 << 20,
            },
    };
    return c;
}

/* ---- Locating binaries ---- */

static bool find_in_path(const char *name, char *out, size_t cap) {
    const char *path = getenv("PATH");
    if (!path) return false;
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        if (len > 0 && (size_t)snprintf(out, cap, "%.*s/%s", (int)len, path, name) < cap &&
            access(out, X_OK) == 0)
            return true;
        path += len + (colon ? 1 : 0);
    }
    return false;
}

static bool pick_binary(const char *explicit_path, const char *env, const char *fallback,
                        const char *name, char *out, size_t cap) {
    const char *e = env ? getenv(env) : NULL;
    const char *want = explicit_path ? explicit_path : (e && *e ? e : NULL);
    if (want) {
        snprintf(out, cap, "%s", want);
        return access(out, X_OK) == 0;
    }
    if (access(fallback, X_OK) == 0) {
        snprintf(out, cap, "%s", fallback);
        return true;
    }
    return find_in_path(name, out, cap);
}

/* An interpreter outside the bound system directories (pyenv, conda) needs
 * its installation prefix bound too: the parent of its bin/ directory. */
static void python_prefix(const char *python, char *out, size_t cap) {
    char real[PATH_MAX];
    out[0] = '\0';
    if (!realpath(python, real)) return;
    if (!strncmp(real, "/usr/", 5)) return;
    char *slash = strrchr(real, '/');
    if (slash) *slash = '\0';
    slash = strrchr(real, '/');
    if (slash && slash != real) *slash = '\0';
    snprintf(out, cap, "%s", real);
}

/* ---- Creation and the probe ---- */

/* The probe proves the properties the graders rely on, not just that bwrap
 * starts: the network is unreachable, the root is read-only and the
 * process limit was applied inside the sandbox. */
static const char probe_program[] = "import os, resource, socket\n"
                                    "s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
                                    "s.settimeout(1)\n"
                                    "try:\n"
                                    "    s.connect(('1.1.1.1', 53)); print('network reachable')\n"
                                    "except OSError:\n"
                                    "    pass\n"
                                    "try:\n"
                                    "    open('/tlm-probe', 'w'); print('root writable')\n"
                                    "except OSError:\n"
                                    "    pass\n"
                                    "print('nproc', resource.getrlimit(resource.RLIMIT_NPROC)[0])\n"
                                    "open('probe.txt', 'w').write('x')\n"
                                    "print('ok')\n";

static tlm_status probe(tlm_sandbox *sb, tlm_error *err) {
    tlm_sandbox_limits lim = sb->cfg.limits;
    lim.wall_s = TLM_MAX(lim.wall_s, 10.0);
    tlm_sandbox_result r;
    tlm_status st = tlm_sandbox_run(sb, probe_program, NULL, 0, &lim, &r, err);
    if (st != TLM_OK) return st;
    char want[64];
    snprintf(want, sizeof want, "nproc %d\nok\n", lim.nproc);
    /* Unsafe mode isolates nothing, so only "python runs" is checked. */
    size_t n = strlen(r.out);
    bool good = sb->isolated ? !strcmp(r.out, want) : n >= 3 && !strcmp(r.out + n - 3, "ok\n");
    if (r.exit_code != 0 || !good) {
        char *nl = strchr(r.err, '\n');
        if (nl && nl[1]) *nl = '\0';
        st = tlm_error_set(err, TLM_ERR_UNSUPPORTED, "sandbox probe failed (exit %d): %s%s",
                           r.exit_code, r.out[0] && strcmp(r.out, want) ? r.out : "",
                           r.err[0] ? r.err : "no message");
    }
    tlm_sandbox_result_clear(&r);
    return st;
}

static tlm_status try_bwrap(tlm_sandbox *sb, const char *bwrap_path, tlm_error *err) {
    if (!pick_binary(bwrap_path, "TLM_BWRAP", "/usr/bin/bwrap", "bwrap", sb->bwrap,
                     sizeof sb->bwrap))
        return tlm_error_set(err, TLM_ERR_UNSUPPORTED, "bubblewrap (bwrap) not found");
    sb->isolated = true;
    tlm_status st = probe(sb, err);
    if (st == TLM_OK) {
        if (sb->drop)
            snprintf(sb->desc, sizeof sb->desc, "bwrap (%s), uid %u", sb->bwrap, sb->cfg.drop_uid);
        else
            snprintf(sb->desc, sizeof sb->desc, "bwrap (%s)", sb->bwrap);
        return TLM_OK;
    }
    if (sb->drop) {
        /* Unprivileged user namespaces may be disabled: bwrap as root still
         * isolates, but the kernel never applies RLIMIT_NPROC to uid 0. */
        sb->drop = false;
        if (probe(sb, NULL) == TLM_OK) {
            snprintf(sb->desc, sizeof sb->desc, "bwrap (%s) as root: process limit not enforced",
                     sb->bwrap);
            return TLM_OK;
        }
        sb->drop = true;
    }
    sb->isolated = false;
    return st;
}

tlm_status tlm_sandbox_create(const tlm_sandbox_config *cfg, tlm_sandbox **out, tlm_error *err) {
    if (!out) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sandbox: no output");
    *out = NULL;
    tlm_sandbox *sb = tlm_calloc(1, sizeof *sb);
    if (!sb) return tlm_error_set(err, TLM_ERR_NOMEM, "sandbox: out of memory");
    sb->cfg = cfg ? *cfg : tlm_sandbox_default_config();
    sb->cfg.bwrap_path = sb->cfg.python_path = NULL; /* resolved into sb->bwrap, sb->python */
    tlm_status st = TLM_OK;
    if (!pick_binary(cfg ? cfg->python_path : NULL, "TLM_EVAL_PYTHON", "/usr/bin/python3",
                     "python3", sb->python, sizeof sb->python)) {
        st = tlm_error_set(err, TLM_ERR_NOT_FOUND,
                           "sandbox: python3 not found (set TLM_EVAL_PYTHON)");
        goto fail;
    }
    python_prefix(sb->python, sb->python_prefix, sizeof sb->python_prefix);
    sb->drop = geteuid() == 0 && sb->cfg.drop_uid != 0;
    if (sb->cfg.mode == TLM_SANDBOX_UNSAFE && !sb->cfg.allow_unsafe) {
        st = tlm_error_set(err, TLM_ERR_INVALID_ARG, "sandbox: unsafe mode needs allow_unsafe");
        goto fail;
    }
    if (sb->cfg.mode != TLM_SANDBOX_UNSAFE) {
        st = try_bwrap(sb, cfg ? cfg->bwrap_path : NULL, err);
        if (st == TLM_OK) goto ok;
        if (sb->cfg.mode == TLM_SANDBOX_BWRAP || !sb->cfg.allow_unsafe) {
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err ? err->msg : "");
            st = tlm_error_set(err, TLM_ERR_UNSUPPORTED,
                               "%s; refusing to run code without a sandbox unless the unsafe "
                               "mode (--unsafe-no-sandbox) is chosen",
                               why);
            goto fail;
        }
    }
    sb->isolated = false;
    st = probe(sb, err);
    if (st != TLM_OK) goto fail;
    snprintf(sb->desc, sizeof sb->desc, "none (unsafe: rlimits only%s)",
             sb->drop ? ", unprivileged uid" : "");
ok:
    *out = sb;
    return TLM_OK;
fail:
    tlm_free(sb);
    return st;
}

void tlm_sandbox_free(tlm_sandbox *sb) { tlm_free(sb); }

const char *tlm_sandbox_describe(const tlm_sandbox *sb) { return sb ? sb->desc : "none"; }

bool tlm_sandbox_is_isolated(const tlm_sandbox *sb) { return sb && sb->isolated; }

const tlm_sandbox_limits *tlm_sandbox_get_limits(const tlm_sandbox *sb) {
    return sb ? &sb->cfg.limits : NULL;
}
