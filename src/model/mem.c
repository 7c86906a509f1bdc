/*
 * mem.c - tlm_ctx_mem_stats: what a context holds and what the process
 * has resident.
 *
 * Resident memory comes from the kernel's own accounting, /proc/self/statm
 * (now) and the VmHWM line of /proc/self/status (peak), because mapped
 * weights count only once their pages have been touched: the size of the
 * mapping says nothing about the memory a model really uses.
 */
#include "model/ctx.h"

#include "gguf/gguf.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static uint64_t rss_now(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    if (!f) return 0;
    if (fscanf(f, "%llu %llu", &size, &resident) != 2) resident = 0;
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return resident * (uint64_t)(page > 0 ? page : 4096);
}

static uint64_t rss_peak(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kb = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6) && sscanf(line + 6, "%llu", &kb) == 1) break;
    fclose(f);
    return kb * 1024;
}

void tlm_ctx_mem_stats(const tlm_ctx *ctx, tlm_mem_stats *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (ctx) {
        out->weights_mapped = tlm_gguf_file_size(ctx->model->gguf);
        out->weights_packed = ctx->model->packed_size;
        out->kv_bytes = tlm_kv_bytes(&ctx->kv);
        out->scratch_bytes = ctx->scratch_bytes +
                             (uint64_t)ctx->logits_cap * (uint64_t)ctx->model->hp.n_vocab * 4;
    }
    out->rss = rss_now();
    out->rss_peak = rss_peak();
}
