/*
 * sandbox_impl.h - what sandbox.c (configuration, probing) and
 * sandbox_run.c (one run: argv, fork, limits, collecting output) share.
 * Internal to src/eval.
 */
#ifndef TLM_EVAL_SANDBOX_IMPL_H
#define TLM_EVAL_SANDBOX_IMPL_H

#include "eval/sandbox.h"

#include <limits.h>

struct tlm_sandbox {
    tlm_sandbox_config cfg;
    char bwrap[PATH_MAX];
    char python[PATH_MAX];
    char python_prefix[PATH_MAX]; /* bound read-only when outside /usr */
    bool isolated;
    bool drop; /* a root caller drops to cfg.drop_uid */
    char desc[PATH_MAX + 96];
};

#endif /* TLM_EVAL_SANDBOX_IMPL_H */
