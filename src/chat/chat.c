/*
 * chat.c - the chat-template API of chat.h on top of the Jinja interpreter
 * (jinja.h): parsing once, rendering per request with bounded resources,
 * building transformers' template variables, and finding a model's
 * template and special tokens in its GGUF metadata.
 */
#include "chat/chat.h"
#include "chat/jinja.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tlm_chat_template {
    tlm_jarena *arena; /* owns the source copy, tokens and AST */
    const char *source;
    tlm_jnode *root;
};

tlm_status tlm_chat_template_parse(const char *src, size_t len, tlm_chat_template **out,
                                   tlm_error *err) {
    *out = NULL;
    if (!src && len) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "template source is NULL");
    tlm_chat_template *t = tlm_calloc(1, sizeof *t);
    if (!t) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    tlm_status st = TLM_ERR_NOMEM;
    tlm_jtok *toks = NULL;
    size_t n_toks = 0;
    t->arena = tlm_jarena_create(0);
    if (t->arena) t->source = tlm_jarena_strndup(t->arena, src ? src : "", len);
    if (!t->source) {
        tlm_error_set(err, st, "out of memory");
        goto fail;
    }
    st = tlm_jinja_lex(t->arena, t->source, len, &toks, &n_toks, err);
    if (st == TLM_OK) st = tlm_jinja_parse(t->arena, toks, n_toks, &t->root, err);
    if (st != TLM_OK) goto fail;
    *out = t;
    return TLM_OK;
fail:
    tlm_chat_template_free(t);
    return st;
}

void tlm_chat_template_free(tlm_chat_template *t) {
    if (!t) return;
    tlm_jarena_free(t->arena);
    free(t);
}

const char *tlm_chat_template_source(const tlm_chat_template *t) { return t->source; }

tlm_chat_render_opts tlm_chat_render_default_opts(void) {
    tlm_chat_render_opts o = {
        .max_output = (size_t)16 << 20,
        .max_steps = 10000000,
        .max_depth = 100,
        .max_memory = (size_t)512 << 20,
        .now = -1,
    };
    return o;
}

tlm_status tlm_chat_template_render_ex(const tlm_chat_template *t, const json_t *vars,
                                       const tlm_chat_render_opts *opts, char **out,
                                       size_t *out_len, tlm_error *err) {
    *out = NULL;
    if (out_len) *out_len = 0;
    tlm_chat_render_opts d = tlm_chat_render_default_opts();
    if (!opts) opts = &d;
    tlm_jlimits lim = {opts->max_output, opts->max_steps, opts->max_depth, opts->max_memory,
                       opts->now};
    tlm_buf b = {0};
    tlm_status st = tlm_jinja_render(t->root, vars, &lim, &b, err);
    if (st == TLM_OK && !b.data && tlm_buf_reserve(&b, 1) != TLM_OK)
        st = tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    if (st != TLM_OK) {
        tlm_buf_free(&b);
        return st;
    }
    b.data[b.len] = '\0';
    *out = b.data;
    if (out_len) *out_len = b.len;
    return TLM_OK;
}

tlm_status tlm_chat_template_render(const tlm_chat_template *t, const json_t *vars, char **out,
                                    tlm_error *err) {
    return tlm_chat_template_render_ex(t, vars, NULL, out, NULL, err);
}

json_t *tlm_chat_vars(const json_t *messages, const json_t *tools, bool add_generation_prompt,
                      const char *bos_token, const char *eos_token, const json_t *extra) {
    json_t *v = json_object();
    if (!v) return NULL;
    int bad = 0;
    bad |= json_object_set_new(v, "messages", messages ? json_incref((json_t *)messages) : json_array());
    bad |= json_object_set_new(v, "tools", tools ? json_incref((json_t *)tools) : json_null());
    bad |= json_object_set_new(v, "documents", json_null());
    bad |= json_object_set_new(v, "add_generation_prompt", json_boolean(add_generation_prompt));
    if (bos_token) bad |= json_object_set_new(v, "bos_token", json_string(bos_token));
    if (eos_token) bad |= json_object_set_new(v, "eos_token", json_string(eos_token));
    if (extra && json_is_object(extra)) bad |= json_object_update(v, (json_t *)extra);
    if (bad) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* ---- GGUF ---- */

tlm_status tlm_chat_template_from_gguf(const tlm_gguf *g, const char *name,
                                       tlm_chat_template **out, const char **builtin_name,
                                       tlm_error *err) {
    char key[160];
    tlm_gguf_str s;
    *out = NULL;
    if (builtin_name) *builtin_name = NULL;
    snprintf(key, sizeof key, name ? "tokenizer.chat_template.%s" : "tokenizer.chat_template",
             name ? name : "");
    tlm_status st = tlm_gguf_get_str(g, key, &s, err);
    if (st == TLM_OK) {
        if (s.len > (uint64_t)SIZE_MAX / 2)
            return tlm_error_set(err, TLM_ERR_FORMAT, "%s is too long", key);
        st = tlm_chat_template_parse(s.ptr, (size_t)s.len, out, err);
        if (st != TLM_OK && err) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            tlm_error_set(err, st, "%s in the GGUF file: %s", key, msg);
        }
        return st;
    }
    if (st != TLM_ERR_NOT_FOUND || name) return st;
    const char *b = tlm_chat_builtin_for_gguf(g);
    if (builtin_name) *builtin_name = b;
    const char *src = tlm_chat_builtin_template(b);
    return tlm_chat_template_parse(src, strlen(src), out, err);
}

static tlm_status token_text(const tlm_gguf *g, const char *id_key, char **out, tlm_error *err) {
    uint32_t id;
    const tlm_gguf_value *tokens;
    *out = NULL;
    if (tlm_gguf_get_u32(g, id_key, &id, NULL) == TLM_OK &&
        tlm_gguf_get_arr(g, "tokenizer.ggml.tokens", TLM_GGUF_STRING, &tokens, NULL) == TLM_OK &&
        id < tokens->v.arr.n) {
        tlm_gguf_str s = tlm_gguf_arr_str(tokens, id);
        *out = tlm_strndup(s.ptr, (size_t)s.len);
    } else {
        *out = tlm_strdup("");
    }
    return *out ? TLM_OK : tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
}

tlm_status tlm_chat_special_tokens(const tlm_gguf *g, char **bos, char **eos, tlm_error *err) {
    tlm_status st = token_text(g, "tokenizer.ggml.bos_token_id", bos, err);
    if (st == TLM_OK) st = token_text(g, "tokenizer.ggml.eos_token_id", eos, err);
    if (st != TLM_OK) {
        free(*bos);
        *bos = NULL;
    }
    return st;
}
