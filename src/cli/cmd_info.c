/*
 * cmd_info.c - `tinylm info FILE`: what a GGUF file holds, for people.
 * Architecture and hyperparameters first (what most users want), then the
 * tokenizer, the chat template, the tensor table and the size by type.
 * Works on any valid GGUF, whatever tool wrote it: unknown keys are listed
 * as they are.
 */
#include "cli/commands.h"
#include "core/util.h"
#include "gguf/gguf.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void print_str(FILE *f, tlm_gguf_str s, size_t max) {
    size_t n = s.len < max ? (size_t)s.len : max;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        if (ch == '\n') fputs("\\n", f);
        else if (ch < 0x20) fprintf(f, "\\x%02x", ch);
        else fputc(ch, f);
    }
    if (s.len > max) fputs("...", f);
}

static void print_value(FILE *f, const tlm_gguf_value *v) {
    switch (v->type) {
    case TLM_GGUF_STRING: fputc('"', f); print_str(f, v->v.str, 60); fputc('"', f); break;
    case TLM_GGUF_BOOL: fputs(v->v.u ? "true" : "false", f); break;
    case TLM_GGUF_F32: case TLM_GGUF_F64: fprintf(f, "%g", v->v.f); break;
    case TLM_GGUF_I8: case TLM_GGUF_I16: case TLM_GGUF_I32: case TLM_GGUF_I64:
        fprintf(f, "%" PRId64, v->v.i);
        break;
    case TLM_GGUF_ARRAY:
        fprintf(f, "[%s x %" PRIu64 "]", tlm_gguf_vtype_name(v->v.arr.type), v->v.arr.n);
        break;
    default: fprintf(f, "%" PRIu64, v->v.u); break;
    }
}

static bool key_has_prefix(const tlm_gguf_kv *kv, const char *prefix) {
    size_t n = strlen(prefix);
    return kv->key.len >= n && memcmp(kv->key.ptr, prefix, n) == 0;
}

/* Prints the keys with prefix (all keys not under general./tokenizer. when
 * prefix is NULL). */
static void print_keys(const tlm_gguf *g, const char *prefix) {
    for (uint64_t i = 0; i < tlm_gguf_n_kv(g); i++) {
        const tlm_gguf_kv *kv = tlm_gguf_kv_at(g, i);
        bool match = prefix ? key_has_prefix(kv, prefix)
                            : !key_has_prefix(kv, "general.") && !key_has_prefix(kv, "tokenizer.");
        if (!match || key_has_prefix(kv, "tokenizer.chat_template")) continue;
        printf("  %-44.*s ", (int)kv->key.len, kv->key.ptr);
        print_value(stdout, &kv->value);
        putchar('\n');
    }
}

static void print_token(const tlm_gguf *g, const char *label, const char *key) {
    uint32_t id;
    const tlm_gguf_value *toks;
    if (tlm_gguf_get_u32(g, key, &id, NULL) != TLM_OK) return;
    printf("  %-44s %u", label, id);
    if (tlm_gguf_get_arr(g, "tokenizer.ggml.tokens", TLM_GGUF_STRING, &toks, NULL) == TLM_OK &&
        id < toks->v.arr.n) {
        fputs(" '", stdout);
        print_str(stdout, tlm_gguf_arr_str(toks, id), 40);
        fputc('\'', stdout);
    }
    putchar('\n');
}

static void print_tokenizer(const tlm_gguf *g) {
    tlm_gguf_str s;
    const tlm_gguf_value *arr;
    printf("\ntokenizer:\n");
    if (tlm_gguf_get_str(g, "tokenizer.ggml.model", &s, NULL) != TLM_OK) {
        printf("  (none)\n");
        return;
    }
    printf("  %-44s %.*s\n", "model", (int)s.len, s.ptr);
    if (tlm_gguf_get_str(g, "tokenizer.ggml.pre", &s, NULL) == TLM_OK)
        printf("  %-44s %.*s\n", "pre-tokenizer", (int)s.len, s.ptr);
    if (tlm_gguf_get_arr(g, "tokenizer.ggml.tokens", TLM_GGUF_STRING, &arr, NULL) == TLM_OK)
        printf("  %-44s %" PRIu64 "\n", "tokens", arr->v.arr.n);
    if (tlm_gguf_get_arr(g, "tokenizer.ggml.merges", TLM_GGUF_STRING, &arr, NULL) == TLM_OK)
        printf("  %-44s %" PRIu64 "\n", "merges", arr->v.arr.n);
    if (tlm_gguf_get_arr(g, "tokenizer.ggml.scores", TLM_GGUF_VTYPE_COUNT, &arr, NULL) == TLM_OK)
        printf("  %-44s %" PRIu64 "\n", "scores", arr->v.arr.n);
    print_token(g, "bos", "tokenizer.ggml.bos_token_id");
    print_token(g, "eos", "tokenizer.ggml.eos_token_id");
    print_token(g, "eot", "tokenizer.ggml.eot_token_id");
    print_token(g, "padding", "tokenizer.ggml.padding_token_id");
    bool b;
    if (tlm_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b, NULL) == TLM_OK)
        printf("  %-44s %s\n", "add bos", b ? "yes" : "no");
    printf("\nchat template: ");
    if (tlm_gguf_get_str(g, "tokenizer.chat_template", &s, NULL) == TLM_OK) {
        printf("yes (%" PRIu64 " bytes): ", s.len);
        print_str(stdout, s, 60);
        putchar('\n');
    } else {
        printf("none (a built-in template for the architecture will be used)\n");
    }
}

static void print_tensors(const tlm_gguf *g, bool list) {
    uint64_t by_type[TLM_TYPE_COUNT] = {0}, count[TLM_TYPE_COUNT] = {0}, total = 0, params = 0;
    if (list) printf("\n%-5s %-36s %-6s %-22s %12s\n", "#", "tensor", "type", "shape", "bytes");
    for (uint64_t i = 0; i < tlm_gguf_n_tensors(g); i++) {
        const tlm_gguf_tensor *t = tlm_gguf_tensor_at(g, i);
        char shape[64] = "";
        size_t n = 0;
        uint64_t elems = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            n += (size_t)snprintf(shape + n, sizeof shape - n, d ? " x %" PRIu64 : "%" PRIu64, t->ne[d]);
            elems *= t->ne[d];
        }
        if (list)
            printf("%-5" PRIu64 " %-36.*s %-6s %-22s %12" PRIu64 "\n", i, (int)t->name.len,
                   t->name.ptr, tlm_type_info(t->type)->name, shape, t->nbytes);
        by_type[t->type] += t->nbytes;
        count[t->type]++;
        total += t->nbytes;
        params += elems;
    }
    printf("\n%" PRIu64 " tensors, %.2f M parameters, %.2f MiB of tensor data\n",
           tlm_gguf_n_tensors(g), params / 1e6, total / 1048576.0);
    for (int t = 0; t < TLM_TYPE_COUNT; t++)
        if (count[t])
            printf("  %-6s %5" PRIu64 " tensors %10.2f MiB (%4.1f%%)\n", tlm_type_info((uint32_t)t)->name,
                   count[t], by_type[t] / 1048576.0, total ? 100.0 * by_type[t] / total : 0.0);
}

int cmd_info(int argc, char **argv) {
    static const struct option opts[] = {
        {"no-tensors", no_argument, 0, 'n'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    bool list = true;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'n') list = false;
        else if (c == 'h') {
            printf("usage: tinylm info [--no-tensors] FILE\n\n"
                   "Describes a GGUF model: architecture and hyperparameters, tokenizer, chat\n"
                   "template, every tensor (name, type, shape, bytes) and the size by type.\n\n"
                   "example:\n  tinylm info qwen2.5-0.5b-instruct-q4_k_m.gguf\n");
            return 0;
        } else {
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: tinylm info [--no-tensors] FILE\n");
        return 2;
    }
    const char *path = argv[optind];
    tlm_gguf *g;
    tlm_error err = {0};
    if (tlm_gguf_open(path, &g, &err) != TLM_OK) {
        fprintf(stderr, "tinylm info: %s\n", err.msg);
        return 1;
    }
    tlm_gguf_str arch = {"(unknown)", 9};
    tlm_gguf_get_str(g, "general.architecture", &arch, NULL);
    printf("file:         %s\n", path);
    printf("format:       GGUF v%u, %" PRIu64 " bytes, alignment %u\n", tlm_gguf_version(g),
           tlm_gguf_file_size(g), tlm_gguf_alignment(g));
    printf("architecture: %.*s\n\ngeneral:\n", (int)arch.len, arch.ptr);
    print_keys(g, "general.");
    printf("\nhyperparameters:\n");
    print_keys(g, NULL);
    print_tokenizer(g);
    print_tensors(g, list);
    tlm_gguf_free(g);
    return 0;
}
