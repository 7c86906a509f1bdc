/*
 * cmd_pull.c - `tinylm pull NAME|URL` downloads a GGUF model into the cache
 * (src/model/pull.h); `tinylm pull --list` shows what is there.  Ctrl-C
 * stops a download and keeps the partial file for the next attempt.
 */
#include "cli/commands.h"
#include "cli/common.h"
#include "core/util.h"
#include "model/pull.h"

#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static volatile int cancel_flag;

static void on_sigint(int sig) {
    (void)sig;
    cancel_flag = 1;
}

/* The shared bar, drawn once per amount (curl reports the same one often). */
static void progress(void *user, uint64_t done, uint64_t total) {
    static uint64_t last = UINT64_MAX;
    if (done == last) return;
    last = done;
    tlm_cli_progress(user, done, total);
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: tinylm pull [--dir DIR] [--sha256 HEX] NAME|URL\n"
            "       tinylm pull --list\n\n"
            "Downloads a GGUF model into the cache, resuming an interrupted download, and\n"
            "checks it (GGUF header, size, SHA-256 when known) before it can be used.\n"
            "Afterwards NAME works wherever a MODEL is expected (tinylm run NAME).\n\n"
            "  --list        the models in the cache\n"
            "  --dir DIR     download into DIR instead of the cache\n"
            "  --sha256 HEX  also require this SHA-256 digest\n\n"
            "Cache: $XDG_CACHE_HOME/tinylm/models, else ~/.cache/tinylm/models.\n"
            "Gated Hugging Face models need HF_TOKEN set to an access token.\n\n"
            "known names:\n");
    for (int i = 0; tlm_pull_known_at(i); i++)
        fprintf(f, "  %-24s %s\n", tlm_pull_known_at(i)->name, tlm_pull_known_at(i)->about);
    fprintf(f,
            "\nexamples:\n"
            "  tinylm pull qwen2.5:0.5b-instruct\n"
            "  tinylm pull https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/"
            "qwen2.5-0.5b-instruct-q8_0.gguf\n"
            "  tinylm pull --list\n");
}

static void human_size(uint64_t n, char *buf, size_t cap) {
    if (n >= 1000000000ull) snprintf(buf, cap, "%.2f GB", n / 1e9);
    else snprintf(buf, cap, "%.1f MB", n / 1e6);
}

static int list(const char *dir) {
    tlm_pull_entry *e = NULL;
    int32_t n = 0;
    tlm_error err = {0};
    if (tlm_pull_list(dir, &e, &n, &err) != TLM_OK) {
        fprintf(stderr, "tinylm %s\n", err.msg);
        return 1;
    }
    char *cache = NULL;
    if (!dir && tlm_pull_cache_dir(&cache, NULL) == TLM_OK) dir = cache;
    if (!n) fprintf(stderr, "no models pulled yet (cache: %s)\n", dir ? dir : "?");
    else printf("%-36s %10s  %s\n", "NAME", "SIZE", "PATH");
    for (int32_t i = 0; i < n; i++) {
        char size[32];
        human_size(e[i].size, size, sizeof size);
        printf("%-36s %10s  %s\n", e[i].name, size, e[i].path);
    }
    tlm_pull_list_free(e, n);
    tlm_free(cache);
    return 0;
}

int cmd_pull(int argc, char **argv) {
    static const struct option opts[] = {{"list", no_argument, 0, 'l'},
                                         {"dir", required_argument, 0, 'd'},
                                         {"sha256", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    tlm_pull_params p = {0};
    int do_list = 0, c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': do_list = 1; break;
        case 'd': p.dir = optarg; break;
        case 's': p.sha256 = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (do_list) return list(p.dir);
    if (optind + 1 != argc) {
        fprintf(stderr, "tinylm pull: give one NAME or URL\n\n");
        usage(stderr);
        return 2;
    }
    if (p.sha256 && (strlen(p.sha256) != 64 || strspn(p.sha256, "0123456789abcdef") != 64)) {
        fprintf(stderr, "tinylm pull: --sha256 expects 64 lowercase hex digits\n");
        return 2;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    p.progress = progress;
    p.user = (void *)"pull";
    p.cancel = &cancel_flag;
    char *path = NULL;
    tlm_error err = {0};
    tlm_status s = tlm_pull(argv[optind], &p, &path, &err);
    if (s != TLM_OK) {
        fprintf(stderr, "\ntinylm %s\n", err.msg); /* messages start with "pull: " */
        return s == TLM_ERR_CANCELLED ? 130 : 1;
    }
    fprintf(stderr, "%s is ready: %s\n", argv[optind], path);
    printf("%s\n", path);
    tlm_free(path);
    return 0;
}
