/*
 * jinja_eval.c - running a parsed template: scopes, statements, loops,
 * macros and the render entry point.
 *
 * Scoping follows what jinja2's compiled code does: the render variables
 * sit under the template's top-level scope; `if` opens no scope; every
 * iteration of a `for` body gets a fresh scope, so `set` inside a loop is
 * invisible after it (namespace() is the way out); macros see the scope
 * they were defined in as it is when they are called.  Every render owns
 * one arena (values, scopes) that is freed when it returns, and is bounded
 * by tlm_jlimits: output size, evaluation steps, macro depth and memory.
 */
#include "chat/jinja.h"

#include <string.h>

#define TRY(x)                                                               \
    do {                                                                     \
        tlm_status s_ = (x);                                                 \
        if (s_ != TLM_OK) return s_;                                         \
    } while (0)

enum { CTL_NONE, CTL_BREAK, CTL_CONTINUE };

/* ---- Scopes ---- */

tlm_status tlm_jframe_new(tlm_jctx *c, tlm_jframe *parent, tlm_jframe **out) {
    tlm_jframe *f = tlm_jarena_alloc(c->arena, sizeof *f);
    *out = f;
    if (!f) return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
    f->parent = parent;
    return TLM_OK;
}

tlm_status tlm_jframe_set(tlm_jctx *c, tlm_jframe *f, const char *name, tlm_jv v) {
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->names[i], name)) {
            f->vals[i] = v;
            return TLM_OK;
        }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 4;
        const char **names = tlm_jarena_alloc(c->arena, cap * sizeof *names);
        tlm_jv *vals = tlm_jarena_alloc(c->arena, cap * sizeof *vals);
        if (!names || !vals) return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
        if (f->n) {
            memcpy(names, f->names, f->n * sizeof *names);
            memcpy(vals, f->vals, f->n * sizeof *vals);
        }
        f->names = names;
        f->vals = vals;
        f->cap = cap;
    }
    f->names[f->n] = name;
    f->vals[f->n++] = v;
    return TLM_OK;
}

const tlm_jv *tlm_jframe_lookup(const tlm_jframe *f, const char *name) {
    for (; f; f = f->parent)
        for (size_t i = 0; i < f->n; i++)
            if (!strcmp(f->names[i], name)) return &f->vals[i];
    return NULL;
}

/* ---- Output ---- */

static tlm_status emit(tlm_jctx *c, const char *p, size_t n) {
    if (c->lim->max_output && c->out->len + n > c->lim->max_output)
        return tlm_jerr(c, TLM_ERR_RANGE, "output exceeds the limit of %zu bytes",
                        c->lim->max_output);
    if (tlm_buf_append(c->out, p, n) != TLM_OK) return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
    return TLM_OK;
}

/* Renders body into a new string (set blocks, filter blocks, macros). */
static tlm_status capture(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *body, tlm_jv *out) {
    tlm_buf b = {0}, *saved = c->out;
    c->out = &b;
    tlm_status st = tlm_jeval_body(c, f, body);
    c->out = saved;
    if (st != TLM_OK) {
        tlm_buf_free(&b);
        return st;
    }
    return tlm_jv_strbuf(c, &b, out);
}

/* ---- Assignment ---- */

static tlm_status assign(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *target, tlm_jv v) {
    if (target->type == J_NAME) return tlm_jframe_set(c, f, target->name, v);
    if (target->type == J_ATTR) {
        const tlm_jv *ns = tlm_jframe_lookup(f, target->a->name);
        if (!ns || ns->kind != TLM_JV_NS)
            return tlm_jerr(c, TLM_ERR_TYPE, "cannot assign attribute on non-namespace object");
        tlm_jv key = tlm_jv_strref(target->name, strlen(target->name)), d = *ns;
        d.kind = TLM_JV_DICT;
        return tlm_jv_dict_set(c, &d, key, v);
    }
    /* Tuple unpacking: any iterable with exactly the right length. */
    const tlm_jv *items;
    size_t n;
    TRY(tlm_jv_iterate(c, v, &items, &n));
    if (n != target->n_kids)
        return tlm_jerr(c, TLM_ERR_TYPE,
                        n > target->n_kids ? "too many values to unpack (expected %zu)"
                                           : "not enough values to unpack (expected %zu, got %zu)",
                        target->n_kids, n);
    for (size_t i = 0; i < n; i++) TRY(assign(c, f, target->kids[i], items[i]));
    return TLM_OK;
}

/* ---- Loops ---- */

/* A fresh scope per iteration, as jinja2 has; the previous one is recycled
 * unless a macro defined in it may still look at it. */
static tlm_status scope_for_iteration(tlm_jctx *c, tlm_jframe *parent, tlm_jframe **scope) {
    if (*scope && !(*scope)->captured) {
        (*scope)->n = 0;
        return TLM_OK;
    }
    return tlm_jframe_new(c, parent, scope);
}

static tlm_status filter_items(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, const tlm_jv **items,
                               size_t *count) {
    tlm_jv kept;
    tlm_jframe *tmp = NULL;
    TRY(tlm_jv_list(c, 0, &kept));
    for (size_t i = 0; i < *count; i++) {
        tlm_jv cond;
        TRY(tlm_jstep(c));
        TRY(scope_for_iteration(c, f, &tmp));
        TRY(assign(c, tmp, n->a, (*items)[i]));
        TRY(tlm_jeval(c, tmp, n->c, &cond));
        if (tlm_jv_truthy(cond)) TRY(tlm_jv_list_push(c, &kept, (*items)[i]));
    }
    *items = kept.u.list->items;
    *count = kept.u.list->n;
    return TLM_OK;
}

static tlm_status eval_for(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n) {
    tlm_jv seq;
    const tlm_jv *items;
    size_t count;
    TRY(tlm_jeval(c, f, n->b, &seq));
    TRY(tlm_jv_iterate(c, seq, &items, &count));
    if (n->c) TRY(filter_items(c, f, n, &items, &count));
    tlm_jloop *loop = tlm_jarena_alloc(c->arena, sizeof *loop);
    if (!loop) return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
    loop->items = items;
    loop->n = count;
    tlm_jv loop_v = {.kind = TLM_JV_LOOP};
    loop_v.u.loop = loop;
    tlm_jframe *it = NULL;
    bool completed = false; /* did any iteration run its body to the end? */
    for (size_t i = 0; i < count; i++) {
        TRY(tlm_jstep(c));
        TRY(scope_for_iteration(c, f, &it));
        loop->index0 = i;
        TRY(tlm_jframe_set(c, it, "loop", loop_v));
        TRY(assign(c, it, n->a, items[i]));
        TRY(tlm_jeval_body(c, it, n->body));
        int ctl = c->loop_ctl;
        c->loop_ctl = CTL_NONE;
        if (ctl == CTL_NONE) completed = true;
        if (ctl == CTL_BREAK) break;
    }
    /* jinja2 clears its "else" flag at the end of the body, so the else
     * branch also runs when every iteration ended in break or continue. */
    if (!completed && n->else_body) {
        tlm_jframe *scope;
        TRY(tlm_jframe_new(c, f, &scope));
        TRY(tlm_jeval_body(c, scope, n->else_body));
    }
    return TLM_OK;
}

/* ---- Macros ---- */

enum { USES_VARARGS = 1, USES_KWARGS = 2, USES_CALLER = 4 };

static tlm_status bind_params(tlm_jctx *c, tlm_jframe *mf, const tlm_jnode *m, const char *name,
                              const tlm_jargs *a, tlm_jv *kwargs, tlm_jv *caller) {
    size_t np = m->n_params, used_kw = 0;
    bool *kw_used = a->n_kw ? tlm_jarena_alloc(c->arena, a->n_kw) : NULL;
    if (a->n_kw && !kw_used) return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < np; i++) {
        tlm_jv v = tlm_jv_undef(NULL);
        bool given = i < a->n_pos;
        if (given) v = a->pos[i];
        for (size_t k = 0; !given && k < a->n_kw; k++)
            if (!strcmp(a->kw_names[k], m->params[i])) {
                v = a->kw[k];
                kw_used[k] = given = true;
                used_kw++;
            }
        if (!given && m->defaults[i]) TRY(tlm_jeval(c, mf, m->defaults[i], &v));
        else if (!given) TRY(tlm_jv_undef_fmt(c, &v, "parameter '%.60s' was not provided", m->params[i]));
        TRY(tlm_jframe_set(c, mf, m->params[i], v));
    }
    for (size_t k = 0; k < a->n_kw; k++) {
        if (kw_used[k]) continue;
        if ((m->op & USES_CALLER) && !strcmp(a->kw_names[k], "caller")) {
            *caller = a->kw[k];
            continue;
        }
        if (!(m->op & USES_KWARGS))
            return tlm_jerr(c, TLM_ERR_TYPE,
                            !strcmp(a->kw_names[k], "caller")
                                ? "macro '%s' was invoked with two values for the special caller "
                                  "argument"
                                : "macro '%s' takes no keyword argument '%s'",
                            name, a->kw_names[k]);
        tlm_jv key = tlm_jv_strref(a->kw_names[k], strlen(a->kw_names[k]));
        TRY(tlm_jv_dict_set(c, kwargs, key, a->kw[k]));
    }
    return TLM_OK;
}

tlm_status tlm_jcall_macro(tlm_jctx *c, const tlm_jfunc *fn, const tlm_jargs *a, tlm_jv *out) {
    const tlm_jnode *m = fn->macro;
    const char *name = m->type == J_MACRO ? m->name : "caller";
    TRY(tlm_jstep(c));
    if (c->depth >= c->lim->max_depth)
        return tlm_jerr(c, TLM_ERR_RANGE, "maximum recursion depth exceeded in macro '%s'", name);
    if (a->n_pos > m->n_params && !(m->op & USES_VARARGS))
        return tlm_jerr(c, TLM_ERR_TYPE, "macro '%s' takes not more than %zu argument(s)", name,
                        m->n_params);
    tlm_jframe *mf;
    tlm_jv kwargs, caller = tlm_jv_undef("No caller defined");
    TRY(tlm_jframe_new(c, fn->closure, &mf));
    TRY(tlm_jv_dict(c, &kwargs));
    TRY(bind_params(c, mf, m, name, a, &kwargs, &caller));
    if (m->op & USES_CALLER) TRY(tlm_jframe_set(c, mf, "caller", caller));
    if (m->op & USES_KWARGS) TRY(tlm_jframe_set(c, mf, "kwargs", kwargs));
    if (m->op & USES_VARARGS) {
        size_t extra = a->n_pos > m->n_params ? a->n_pos - m->n_params : 0;
        tlm_jv varargs;
        TRY(tlm_jv_tuple(c, extra, &varargs));
        for (size_t i = 0; i < extra; i++) varargs.u.list->items[i] = a->pos[m->n_params + i];
        TRY(tlm_jframe_set(c, mf, "varargs", varargs));
    }
    c->depth++;
    tlm_status st = capture(c, mf, m->body, out);
    c->depth--;
    c->loop_ctl = CTL_NONE;
    return st;
}

static tlm_status make_macro(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, tlm_jv *out) {
    TRY(tlm_jv_func(c, n->type == J_MACRO ? n->name : "caller", NULL, tlm_jv_none(), out));
    out->u.fn->macro = n;
    out->u.fn->closure = f;
    for (tlm_jframe *p = f; p; p = p->parent) p->captured = true;
    return TLM_OK;
}

static tlm_status emit_value(tlm_jctx *c, tlm_jv v) {
    tlm_buf b = {0};
    tlm_status st = tlm_jv_write_str(c, &b, v);
    if (st == TLM_OK) st = emit(c, b.data ? b.data : "", b.len);
    tlm_buf_free(&b);
    return st;
}

static tlm_status eval_callblock(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n) {
    const tlm_jnode *call = n->a;
    tlm_jv fn, caller, result;
    TRY(make_macro(c, f, n, &caller));
    if (!call) { /* {% generation %}: transformers calls the body right away */
        tlm_jargs none = {0};
        TRY(tlm_jcall_macro(c, caller.u.fn, &none, &result));
        return emit_value(c, result);
    }
    const tlm_jcall *ca = call->call;
    TRY(tlm_jeval(c, f, call->a, &fn));
    if (ca->dyn_args || ca->dyn_kwargs || ca->n_args > 24 || ca->n_kw >= 24)
        return tlm_jerr(c, TLM_ERR_UNSUPPORTED, "call block arguments too complex");
    tlm_jv pos[24], kw[24];
    const char *names[24];
    for (size_t i = 0; i < ca->n_args; i++) TRY(tlm_jeval(c, f, ca->args[i], &pos[i]));
    for (size_t i = 0; i < ca->n_kw; i++) {
        TRY(tlm_jeval(c, f, ca->kw_vals[i], &kw[i]));
        names[i] = ca->kw_names[i];
    }
    names[ca->n_kw] = "caller";
    kw[ca->n_kw] = caller;
    tlm_jargs a = {pos, ca->n_args, names, kw, ca->n_kw + 1};
    c->line = n->line;
    TRY(tlm_jcall_value(c, fn, &a, &result));
    return emit_value(c, result);
}

/* ---- Statements ---- */

static tlm_status eval_print(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n) {
    tlm_jv v;
    TRY(tlm_jeval(c, f, n->a, &v));
    if (v.kind == TLM_JV_STR) return emit(c, v.u.s.p, v.u.s.len);
    tlm_buf b = {0};
    tlm_status st = tlm_jv_write_str(c, &b, v);
    if (st == TLM_OK) st = emit(c, b.data ? b.data : "", b.len);
    tlm_buf_free(&b);
    return st;
}

static tlm_status eval_with(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n) {
    tlm_jframe *scope;
    TRY(tlm_jframe_new(c, f, &scope));
    for (size_t i = 0; i + 1 < n->n_kids; i += 2) {
        tlm_jv v;
        TRY(tlm_jeval(c, f, n->kids[i + 1], &v)); /* values see the outer scope */
        TRY(assign(c, scope, n->kids[i], v));
    }
    return tlm_jeval_body(c, scope, n->body);
}

static tlm_status eval_stmt(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n) {
    tlm_jv v;
    tlm_jframe *scope;
    c->line = n->line;
    TRY(tlm_jstep(c));
    switch ((tlm_jnode_type)n->type) {
    case J_TEXT: return emit(c, n->value.u.s.p, n->value.u.s.len);
    case J_PRINT: return eval_print(c, f, n);
    case J_BODY: return tlm_jeval_body(c, f, n);
    case J_IF:
        TRY(tlm_jeval(c, f, n->a, &v));
        if (tlm_jv_truthy(v)) return tlm_jeval_body(c, f, n->body);
        return n->else_body ? tlm_jeval_body(c, f, n->else_body) : TLM_OK;
    case J_FOR: return eval_for(c, f, n);
    case J_SET:
        TRY(tlm_jeval(c, f, n->b, &v));
        return assign(c, f, n->a, v);
    case J_SETBLOCK: /* set and filter blocks are scopes of their own */
        TRY(tlm_jframe_new(c, f, &scope));
        TRY(capture(c, scope, n->body, &v));
        if (c->loop_ctl != CTL_NONE) return TLM_OK; /* break/continue drop the capture */
        if (n->c) TRY(tlm_jeval_filter(c, f, n->c, &v, &v));
        return assign(c, f, n->a, v);
    case J_MACRO:
        TRY(make_macro(c, f, n, &v));
        return tlm_jframe_set(c, f, n->name, v);
    case J_CALLBLOCK: return eval_callblock(c, f, n);
    case J_FILTERBLOCK: {
        TRY(tlm_jframe_new(c, f, &scope));
        TRY(capture(c, scope, n->body, &v));
        if (c->loop_ctl != CTL_NONE) return TLM_OK;
        TRY(tlm_jeval_filter(c, f, n->a, &v, &v));
        tlm_jv s;
        TRY(tlm_jv_to_str(c, v, &s));
        return emit(c, s.u.s.p, s.u.s.len);
    }
    case J_WITH: return eval_with(c, f, n);
    case J_BREAK: c->loop_ctl = CTL_BREAK; return TLM_OK;
    case J_CONTINUE: c->loop_ctl = CTL_CONTINUE; return TLM_OK;
    default: return tlm_jerr(c, TLM_ERR_INTERNAL, "not a statement (node type %d)", n->type);
    }
}

tlm_status tlm_jeval_body(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *body) {
    if (body->type != J_BODY) return eval_stmt(c, f, body);
    for (size_t i = 0; i < body->n_kids; i++) {
        TRY(eval_stmt(c, f, body->kids[i]));
        if (c->loop_ctl != CTL_NONE) return TLM_OK;
    }
    return TLM_OK;
}

/* ---- Entry point ---- */

tlm_status tlm_jinja_render(const tlm_jnode *root, const json_t *vars, const tlm_jlimits *lim,
                            tlm_buf *out, tlm_error *err) {
    if (vars && !json_is_object(vars))
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "template variables must be a JSON object");
    tlm_jctx ctx = {.out = out, .err = err, .lim = lim, .line = 1};
    ctx.arena = tlm_jarena_create(lim->max_memory);
    if (!ctx.arena) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    tlm_jframe *globals, *context, *top;
    tlm_status st = tlm_jframe_new(&ctx, NULL, &globals);
    if (st == TLM_OK) st = tlm_jglobals_install(&ctx, globals);
    if (st == TLM_OK) st = tlm_jframe_new(&ctx, globals, &context);
    if (st == TLM_OK && vars) {
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)vars, key, val) {
            tlm_jv v;
            char *name = tlm_jarena_strndup(ctx.arena, key, strlen(key));
            if (st == TLM_OK && !name) st = tlm_jerr(&ctx, TLM_ERR_NOMEM, "out of memory");
            if (st == TLM_OK) st = tlm_jv_from_json(&ctx, val, &v);
            if (st == TLM_OK) st = tlm_jframe_set(&ctx, context, name, v);
        }
    }
    if (st == TLM_OK) st = tlm_jframe_new(&ctx, context, &top);
    ctx.globals = globals;
    if (st == TLM_OK) st = tlm_jeval_body(&ctx, top, root);
    tlm_jarena_free(ctx.arena);
    return st;
}
