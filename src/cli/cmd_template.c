/*
 * cmd_template.c - `tinylm template TEMPLATE MESSAGES.json`: renders a chat
 * template for a conversation and prints the prompt, byte for byte what the
 * model would be fed.  For debugging templates and for the reference test
 * that compares us with Python's jinja2.
 *
 * TEMPLATE is a template file, a GGUF model (its tokenizer.chat_template, or
 * the built-in fallback, and its BOS/EOS tokens) or builtin:NAME.
 * MESSAGES.json is a list of messages, or an object whose "messages" key
 * holds them and whose other keys become template variables.
 */
#include "chat/chat.h"
#include "cli/commands.h"
#include "core/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: tinylm template TEMPLATE MESSAGES.json [options]\n"
            "  TEMPLATE                 a .jinja file, a .gguf model, or builtin:NAME\n"
            "  MESSAGES.json            [messages...] or {\"messages\": [...], other variables}\n"
            "  --add-generation-prompt  end with the assistant turn header\n"
            "  --tools FILE             JSON list of tool schemas\n"
            "  --bos S, --eos S         bos_token / eos_token (default: the GGUF's, else none)\n"
            "  --now SECONDS            clock for strftime_now (Unix time), for reproducible output\n"
            "  --list-builtins          print the built-in template names\n");
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    tlm_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (tlm_buf_append(&b, chunk, n) != TLM_OK) break;
    bool ok = !ferror(f) && tlm_buf_reserve(&b, 1) == TLM_OK;
    fclose(f);
    if (!ok) {
        tlm_buf_free(&b);
        return NULL;
    }
    b.data[b.len] = '\0';
    *len = b.len;
    return b.data;
}

static bool is_gguf(const char *path) {
    char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    return n == 4 && memcmp(magic, "GGUF", 4) == 0;
}

typedef struct opts {
    bool add_gen;
    const char *tools_path, *bos, *eos;
    int64_t now;
} opts;

/* Loads the template; the BOS and EOS texts of a GGUF come back in bos and eos (to
 * free) when the user gave none. */
static tlm_status load_template(const char *arg, tlm_chat_template **t, char **bos, char **eos,
                                tlm_error *err) {
    if (!strncmp(arg, "builtin:", 8)) {
        const char *src = tlm_chat_builtin_template(arg + 8);
        if (!src) return tlm_error_set(err, TLM_ERR_NOT_FOUND, "no built-in template '%s'", arg + 8);
        return tlm_chat_template_parse(src, strlen(src), t, err);
    }
    if (is_gguf(arg)) {
        tlm_gguf *g;
        const char *builtin = NULL;
        tlm_status st = tlm_gguf_open(arg, &g, err);
        if (st != TLM_OK) return st;
        st = tlm_chat_template_from_gguf(g, NULL, t, &builtin, err);
        if (st == TLM_OK) st = tlm_chat_special_tokens(g, bos, eos, err);
        if (st == TLM_OK && builtin)
            fprintf(stderr, "tinylm template: %s has no chat template, using built-in '%s'\n", arg,
                    builtin);
        tlm_gguf_free(g);
        return st;
    }
    size_t len;
    char *src = read_file(arg, &len);
    if (!src) return tlm_error_set(err, TLM_ERR_IO, "cannot read %s", arg);
    tlm_status st = tlm_chat_template_parse(src, len, t, err);
    free(src);
    return st;
}

/* Builds the variables from the conversation file and the options. */
static json_t *load_vars(const char *path, const opts *o, const char *bos, const char *eos,
                         tlm_error *err) {
    json_error_t je;
    json_t *conv = json_load_file(path, JSON_ALLOW_NUL, &je), *tools = NULL, *extra = NULL;
    if (!conv) {
        tlm_error_set(err, TLM_ERR_FORMAT, "%s:%d: %s", path, je.line, je.text);
        return NULL;
    }
    json_t *messages = conv;
    if (json_is_object(conv)) {
        messages = json_object_get(conv, "messages");
        extra = json_deep_copy(conv);
        json_object_del(extra, "messages");
    }
    if (o->tools_path) {
        tools = json_load_file(o->tools_path, JSON_ALLOW_NUL, &je);
        if (!tools) {
            tlm_error_set(err, TLM_ERR_FORMAT, "%s:%d: %s", o->tools_path, je.line, je.text);
            json_decref(conv);
            json_decref(extra);
            return NULL;
        }
        if (extra) json_object_del(extra, "tools");
    } else if (extra && json_object_get(extra, "tools")) {
        tools = json_incref(json_object_get(extra, "tools"));
        json_object_del(extra, "tools");
    }
    json_t *vars = tlm_chat_vars(messages, tools, o->add_gen, bos, eos, extra);
    if (!vars) tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    json_decref(tools);
    json_decref(extra);
    json_decref(conv);
    return vars;
}

int cmd_template(int argc, char **argv) {
    static const struct option longopts[] = {
        {"add-generation-prompt", no_argument, NULL, 'g'},
        {"tools", required_argument, NULL, 't'},
        {"bos", required_argument, NULL, 'b'},
        {"eos", required_argument, NULL, 'e'},
        {"now", required_argument, NULL, 'n'},
        {"list-builtins", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opts o = {.now = -1};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'g': o.add_gen = true; break;
        case 't': o.tools_path = optarg; break;
        case 'b': o.bos = optarg; break;
        case 'e': o.eos = optarg; break;
        case 'n': o.now = strtoll(optarg, NULL, 10); break;
        case 'l':
            for (const char *const *n = tlm_chat_builtin_names(); *n; n++) puts(*n);
            return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind != 2) {
        usage(stderr);
        return 2;
    }
    tlm_error err = {0};
    tlm_chat_template *t = NULL;
    char *file_bos = NULL, *file_eos = NULL, *out = NULL;
    json_t *vars = NULL;
    size_t len = 0;
    tlm_status st = load_template(argv[optind], &t, &file_bos, &file_eos, &err);
    if (st == TLM_OK) {
        vars = load_vars(argv[optind + 1], &o, o.bos ? o.bos : file_bos, o.eos ? o.eos : file_eos, &err);
        st = vars ? TLM_OK : err.code;
    }
    if (st == TLM_OK) {
        tlm_chat_render_opts ro = tlm_chat_render_default_opts();
        ro.now = o.now;
        st = tlm_chat_template_render_ex(t, vars, &ro, &out, &len, &err);
    }
    if (st == TLM_OK) fwrite(out, 1, len, stdout);
    else fprintf(stderr, "tinylm template: %s\n", err.msg[0] ? err.msg : tlm_status_str(st));
    tlm_free(out);
    json_decref(vars);
    free(file_bos);
    free(file_eos);
    tlm_chat_template_free(t);
    return st == TLM_OK ? 0 : 1;
}
