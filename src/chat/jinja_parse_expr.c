/*
 * jinja_parse_expr.c - the expression half of the Jinja parser, plus the
 * token-stream helpers both halves share.
 *
 * The grammar and its precedence are jinja2's (parser.py), lowest first:
 *   a if c else b  <  or  <  and  <  not  <  comparisons, in, not in
 *   <  + -  <  ~  <  * / // %  <  **  <  unary - +  <  postfix . [] ()
 *   and filters | / tests `is` (which bind to the unary operand).
 * Two jinja2 quirks kept on purpose: ** is left-associative, and unary
 * minus binds tighter than ** (-2**2 == 4).
 */
#include "chat/jinja.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 200

/* ---- Shared helpers ---- */

const tlm_jtok *tlm_jp_cur(const tlm_jparser *p) { return &p->toks[p->pos]; }

static const tlm_jtok *look(const tlm_jparser *p) {
    return &p->toks[p->pos + 1 < p->n ? p->pos + 1 : p->n - 1];
}

void tlm_jp_next(tlm_jparser *p) {
    if (p->pos + 1 < p->n) p->pos++;
}

bool tlm_jp_is_name(const tlm_jtok *t, const char *name) {
    return t->type == TK_NAME && strcmp(t->s, name) == 0;
}

bool tlm_jp_is_op(const tlm_jtok *t, tlm_jop op) { return t->type == TK_OP && t->op == op; }

static void describe(const tlm_jtok *t, char *buf, size_t size) {
    switch ((tlm_jtok_type)t->type) {
    case TK_EOF: snprintf(buf, size, "end of template"); break;
    case TK_VAR_END: snprintf(buf, size, "end of print statement"); break;
    case TK_BLOCK_END: snprintf(buf, size, "end of statement block"); break;
    case TK_VAR_BEGIN: snprintf(buf, size, "begin of print statement"); break;
    case TK_BLOCK_BEGIN: snprintf(buf, size, "begin of statement block"); break;
    case TK_DATA: snprintf(buf, size, "template data"); break;
    case TK_NAME: snprintf(buf, size, "%.60s", t->s); break;
    case TK_STRING: snprintf(buf, size, "string"); break;
    case TK_INT: snprintf(buf, size, "integer"); break;
    case TK_FLOAT: snprintf(buf, size, "float"); break;
    case TK_OP: snprintf(buf, size, "%s", tlm_jop_text((tlm_jop)t->op)); break;
    }
}

tlm_status tlm_jp_fail(tlm_jparser *p, const tlm_jtok *at, const char *fmt, ...) {
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!at) at = tlm_jp_cur(p);
    return tlm_error_set(p->err, TLM_ERR_FORMAT, "template line %d, column %d: %s", at->line,
                         at->col, msg);
}

static tlm_status fail_got(tlm_jparser *p, const char *expected) {
    char got[80];
    describe(tlm_jp_cur(p), got, sizeof got);
    return tlm_jp_fail(p, NULL, "expected %s, got '%s'", expected, got);
}

tlm_status tlm_jp_expect_op(tlm_jparser *p, tlm_jop op) {
    if (!tlm_jp_is_op(tlm_jp_cur(p), op)) {
        char want[40];
        snprintf(want, sizeof want, "token '%s'", tlm_jop_text(op));
        return fail_got(p, want);
    }
    tlm_jp_next(p);
    return TLM_OK;
}

static tlm_status expect_name(tlm_jparser *p, const char **out) {
    if (tlm_jp_cur(p)->type != TK_NAME) return fail_got(p, "a name");
    *out = tlm_jp_cur(p)->s;
    tlm_jp_next(p);
    return TLM_OK;
}

static tlm_status nomem(tlm_jparser *p) {
    return tlm_error_set(p->err, TLM_ERR_NOMEM, "out of memory while parsing the template");
}

tlm_jnode *tlm_jp_node(tlm_jparser *p, tlm_jnode_type type, const tlm_jtok *at) {
    tlm_jnode *n = tlm_jarena_alloc(p->arena, sizeof *n);
    if (!n) return NULL;
    n->type = (uint8_t)type;
    n->line = at->line;
    n->col = at->col;
    n->value.kind = TLM_JV_NONE;
    return n;
}

tlm_status tlm_jp_push(tlm_jparser *p, tlm_jnvec *v, tlm_jnode *n) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4;
        tlm_jnode **a = tlm_jarena_alloc(p->arena, cap * sizeof *a);
        if (!a) return nomem(p);
        if (v->n) memcpy(a, v->v, v->n * sizeof *a);
        v->v = a;
        v->cap = cap;
    }
    v->v[v->n++] = n;
    return TLM_OK;
}

/* Allocates a node or reports out of memory; used as `NODE(x, type, tok)`. */
#define NODE(var, type, tok)                                                 \
    do {                                                                     \
        if (!((var) = tlm_jp_node(p, (type), (tok)))) return nomem(p);       \
    } while (0)
#define TRY(x)                                                               \
    do {                                                                     \
        tlm_status s_ = (x);                                                 \
        if (s_ != TLM_OK) return s_;                                         \
    } while (0)

static tlm_status binop(tlm_jparser *p, tlm_jop op, const tlm_jtok *at, tlm_jnode *l,
                        tlm_jnode *r, tlm_jnode **out) {
    tlm_jnode *n = NULL;
    NODE(n, J_BIN, at);
    n->op = (uint8_t)op;
    n->a = l;
    n->b = r;
    *out = n;
    return TLM_OK;
}

/* ---- Literals and postfix ---- */

static tlm_status parse_unary(tlm_jparser *p, bool with_filter, tlm_jnode **out);

static tlm_status parse_list(tlm_jparser *p, tlm_jnode **out) {
    tlm_jnode *n = NULL;
    NODE(n, J_LIST, tlm_jp_cur(p));
    tlm_jnvec items = {0};
    TRY(tlm_jp_expect_op(p, OP_LBRACKET));
    while (!tlm_jp_is_op(tlm_jp_cur(p), OP_RBRACKET)) {
        if (items.n) TRY(tlm_jp_expect_op(p, OP_COMMA));
        if (tlm_jp_is_op(tlm_jp_cur(p), OP_RBRACKET)) break;
        tlm_jnode *item = NULL;
        TRY(tlm_jp_expression(p, true, &item));
        TRY(tlm_jp_push(p, &items, item));
    }
    TRY(tlm_jp_expect_op(p, OP_RBRACKET));
    n->kids = items.v;
    n->n_kids = items.n;
    *out = n;
    return TLM_OK;
}

static tlm_status parse_dict(tlm_jparser *p, tlm_jnode **out) {
    tlm_jnode *n = NULL;
    NODE(n, J_DICT, tlm_jp_cur(p));
    tlm_jnvec items = {0};
    TRY(tlm_jp_expect_op(p, OP_LBRACE));
    while (!tlm_jp_is_op(tlm_jp_cur(p), OP_RBRACE)) {
        if (items.n) TRY(tlm_jp_expect_op(p, OP_COMMA));
        if (tlm_jp_is_op(tlm_jp_cur(p), OP_RBRACE)) break;
        tlm_jnode *k = NULL, *v = NULL;
        TRY(tlm_jp_expression(p, true, &k));
        TRY(tlm_jp_expect_op(p, OP_COLON));
        TRY(tlm_jp_expression(p, true, &v));
        TRY(tlm_jp_push(p, &items, k));
        TRY(tlm_jp_push(p, &items, v));
    }
    TRY(tlm_jp_expect_op(p, OP_RBRACE));
    n->kids = items.v;
    n->n_kids = items.n;
    *out = n;
    return TLM_OK;
}

static tlm_status parse_string(tlm_jparser *p, tlm_jnode *n) {
    /* Adjacent literals concatenate: "a" "b" is "ab". */
    tlm_buf b = {0};
    tlm_status st = TLM_OK;
    while (st == TLM_OK && tlm_jp_cur(p)->type == TK_STRING) {
        st = tlm_buf_append(&b, tlm_jp_cur(p)->s, tlm_jp_cur(p)->len);
        tlm_jp_next(p);
    }
    char *s = st == TLM_OK ? tlm_jarena_strndup(p->arena, b.data ? b.data : "", b.len) : NULL;
    n->value = tlm_jv_strref(s, b.len);
    tlm_buf_free(&b);
    return s ? TLM_OK : nomem(p);
}

static tlm_status parse_primary(tlm_jparser *p, bool with_ns, tlm_jnode **out) {
    const tlm_jtok *t = tlm_jp_cur(p);
    tlm_jnode *n = NULL;
    switch ((tlm_jtok_type)t->type) {
    case TK_NAME:
        NODE(n, J_CONST, t);
        tlm_jp_next(p);
        if (!strcmp(t->s, "true") || !strcmp(t->s, "True")) n->value = tlm_jv_bool(true);
        else if (!strcmp(t->s, "false") || !strcmp(t->s, "False")) n->value = tlm_jv_bool(false);
        else if (!strcmp(t->s, "none") || !strcmp(t->s, "None")) n->value = tlm_jv_none();
        else if (with_ns && tlm_jp_is_op(tlm_jp_cur(p), OP_DOT)) {
            /* `ns.attr` as an assignment target */
            tlm_jp_next(p);
            n->type = J_NAME;
            n->name = t->s;
            tlm_jnode *ref = NULL;
            NODE(ref, J_ATTR, t);
            ref->a = n;
            TRY(expect_name(p, &ref->name));
            n = ref;
        } else {
            n->type = J_NAME;
            n->name = t->s;
        }
        break;
    case TK_STRING:
        NODE(n, J_CONST, t);
        TRY(parse_string(p, n));
        break;
    case TK_INT:
    case TK_FLOAT:
        NODE(n, J_CONST, t);
        n->value = t->type == TK_INT ? tlm_jv_int(t->i) : tlm_jv_float(t->f);
        tlm_jp_next(p);
        break;
    case TK_OP:
        if (t->op == OP_LPAREN) {
            tlm_jp_next(p);
            TRY(tlm_jp_tuple(p, false, true, NULL, true, false, &n));
            TRY(tlm_jp_expect_op(p, OP_RPAREN));
            break;
        }
        if (t->op == OP_LBRACKET) return parse_list(p, out);
        if (t->op == OP_LBRACE) return parse_dict(p, out);
        /* fall through */
    default: {
        char got[80];
        describe(t, got, sizeof got);
        return tlm_jp_fail(p, t, "unexpected '%s'", got);
    }
    }
    *out = n;
    return TLM_OK;
}

tlm_status tlm_jp_call_args(tlm_jparser *p, tlm_jcall **out) {
    tlm_jcall *c = tlm_jarena_alloc(p->arena, sizeof *c);
    if (!c) return nomem(p);
    const tlm_jtok *open = tlm_jp_cur(p);
    tlm_jnvec args = {0}, kwv = {0};
    tlm_jnvec kwn = {0}; /* names carried as J_CONST nodes */
    TRY(tlm_jp_expect_op(p, OP_LPAREN));
    bool need_comma = false;
    while (!tlm_jp_is_op(tlm_jp_cur(p), OP_RPAREN)) {
        if (need_comma) {
            TRY(tlm_jp_expect_op(p, OP_COMMA));
            if (tlm_jp_is_op(tlm_jp_cur(p), OP_RPAREN)) break;
        }
        const tlm_jtok *t = tlm_jp_cur(p);
        bool ok = true;
        if (tlm_jp_is_op(t, OP_MUL) || tlm_jp_is_op(t, OP_POW)) {
            bool star = t->op == OP_MUL;
            ok = !c->dyn_kwargs && (!star || !c->dyn_args);
            tlm_jp_next(p);
            TRY(tlm_jp_expression(p, true, star ? &c->dyn_args : &c->dyn_kwargs));
        } else if (t->type == TK_NAME && tlm_jp_is_op(look(p), OP_ASSIGN)) {
            ok = !c->dyn_kwargs;
            tlm_jnode *name = NULL, *val = NULL;
            NODE(name, J_CONST, t);
            name->name = t->s;
            tlm_jp_next(p);
            tlm_jp_next(p);
            TRY(tlm_jp_expression(p, true, &val));
            TRY(tlm_jp_push(p, &kwn, name));
            TRY(tlm_jp_push(p, &kwv, val));
        } else {
            ok = !c->dyn_args && !c->dyn_kwargs && kwv.n == 0;
            tlm_jnode *arg = NULL;
            TRY(tlm_jp_expression(p, true, &arg));
            TRY(tlm_jp_push(p, &args, arg));
        }
        if (!ok) return tlm_jp_fail(p, open, "invalid syntax for function call expression");
        need_comma = true;
    }
    TRY(tlm_jp_expect_op(p, OP_RPAREN));
    c->args = args.v;
    c->n_args = args.n;
    c->kw_vals = kwv.v;
    c->n_kw = kwv.n;
    if (kwn.n) {
        c->kw_names = tlm_jarena_alloc(p->arena, kwn.n * sizeof *c->kw_names);
        if (!c->kw_names) return nomem(p);
        for (size_t i = 0; i < kwn.n; i++) c->kw_names[i] = kwn.v[i]->name;
    }
    *out = c;
    return TLM_OK;
}

static tlm_status parse_subscribed(tlm_jparser *p, tlm_jnode **out) {
    const tlm_jtok *t = tlm_jp_cur(p);
    tlm_jnode *parts[3] = {NULL, NULL, NULL};
    if (!tlm_jp_is_op(t, OP_COLON)) {
        TRY(tlm_jp_expression(p, true, &parts[0]));
        if (!tlm_jp_is_op(tlm_jp_cur(p), OP_COLON)) {
            *out = parts[0];
            return TLM_OK;
        }
    }
    tlm_jp_next(p); /* the first colon */
    for (int k = 1; k <= 2; k++) {
        const tlm_jtok *c = tlm_jp_cur(p);
        if (k == 2) {
            if (!tlm_jp_is_op(c, OP_COLON)) break;
            tlm_jp_next(p);
            c = tlm_jp_cur(p);
        }
        if (!tlm_jp_is_op(c, OP_RBRACKET) && !tlm_jp_is_op(c, OP_COMMA) &&
            !(k == 1 && tlm_jp_is_op(c, OP_COLON)))
            TRY(tlm_jp_expression(p, true, &parts[k]));
    }
    tlm_jnode *n = NULL;
    NODE(n, J_SLICE, t);
    n->a = parts[0];
    n->b = parts[1];
    n->c = parts[2];
    *out = n;
    return TLM_OK;
}

static tlm_status parse_subscript(tlm_jparser *p, tlm_jnode *obj, tlm_jnode **out) {
    const tlm_jtok *t = tlm_jp_cur(p);
    tlm_jnode *n = NULL;
    tlm_jp_next(p);
    if (t->op == OP_DOT) {
        const tlm_jtok *a = tlm_jp_cur(p);
        if (a->type == TK_NAME) {
            NODE(n, J_ATTR, t);
            n->a = obj;
            n->name = a->s;
        } else if (a->type == TK_INT) {
            NODE(n, J_ITEM, t);
            n->a = obj;
            NODE(n->b, J_CONST, a);
            n->b->value = tlm_jv_int(a->i);
        } else {
            return tlm_jp_fail(p, a, "expected name or number");
        }
        tlm_jp_next(p);
        *out = n;
        return TLM_OK;
    }
    tlm_jnvec args = {0};
    while (!tlm_jp_is_op(tlm_jp_cur(p), OP_RBRACKET)) {
        if (args.n) TRY(tlm_jp_expect_op(p, OP_COMMA));
        tlm_jnode *arg = NULL;
        TRY(parse_subscribed(p, &arg));
        TRY(tlm_jp_push(p, &args, arg));
    }
    TRY(tlm_jp_expect_op(p, OP_RBRACKET));
    NODE(n, J_ITEM, t);
    n->a = obj;
    if (args.n == 1) n->b = args.v[0];
    else {
        NODE(n->b, J_TUPLE, t);
        n->b->kids = args.v;
        n->b->n_kids = args.n;
    }
    *out = n;
    return TLM_OK;
}

static tlm_status parse_call(tlm_jparser *p, tlm_jnode *fn, tlm_jnode **out) {
    tlm_jnode *n = NULL;
    NODE(n, J_CALL, tlm_jp_cur(p));
    n->a = fn;
    TRY(tlm_jp_call_args(p, &n->call));
    *out = n;
    return TLM_OK;
}

static tlm_status parse_postfix(tlm_jparser *p, tlm_jnode *node, tlm_jnode **out) {
    for (;;) {
        const tlm_jtok *t = tlm_jp_cur(p);
        if (tlm_jp_is_op(t, OP_DOT) || tlm_jp_is_op(t, OP_LBRACKET))
            TRY(parse_subscript(p, node, &node));
        else if (tlm_jp_is_op(t, OP_LPAREN)) TRY(parse_call(p, node, &node));
        else break;
    }
    *out = node;
    return TLM_OK;
}

/* A dotted filter or test name ("a.b"), as jinja2 allows. */
static tlm_status dotted_name(tlm_jparser *p, const char **out) {
    TRY(expect_name(p, out));
    while (tlm_jp_is_op(tlm_jp_cur(p), OP_DOT)) {
        tlm_jp_next(p);
        const char *more;
        TRY(expect_name(p, &more));
        size_t a = strlen(*out), b = strlen(more);
        char *s = tlm_jarena_alloc(p->arena, a + b + 2);
        if (!s) return nomem(p);
        memcpy(s, *out, a);
        s[a] = '.';
        memcpy(s + a + 1, more, b + 1);
        *out = s;
    }
    return TLM_OK;
}

tlm_status tlm_jp_filter(tlm_jparser *p, tlm_jnode *node, bool start_inline, tlm_jnode **out) {
    while (tlm_jp_is_op(tlm_jp_cur(p), OP_PIPE) || start_inline) {
        if (!start_inline) tlm_jp_next(p);
        start_inline = false;
        tlm_jnode *n = NULL;
        NODE(n, J_FILTER, tlm_jp_cur(p));
        n->a = node;
        TRY(dotted_name(p, &n->name));
        n->filter_fn = tlm_jfilter_find(n->name);
        if (tlm_jp_is_op(tlm_jp_cur(p), OP_LPAREN)) TRY(tlm_jp_call_args(p, &n->call));
        node = n;
    }
    *out = node;
    return TLM_OK;
}

static tlm_status parse_test(tlm_jparser *p, tlm_jnode *node, tlm_jnode **out) {
    const tlm_jtok *is = tlm_jp_cur(p);
    tlm_jp_next(p);
    bool negated = tlm_jp_is_name(tlm_jp_cur(p), "not");
    if (negated) tlm_jp_next(p);
    tlm_jnode *n = NULL;
    NODE(n, J_TEST, is);
    n->a = node;
    TRY(dotted_name(p, &n->name));
    n->test_fn = tlm_jtest_find(n->name);
    const tlm_jtok *t = tlm_jp_cur(p);
    if (tlm_jp_is_op(t, OP_LPAREN)) {
        TRY(tlm_jp_call_args(p, &n->call));
    } else if ((t->type == TK_NAME || t->type == TK_STRING || t->type == TK_INT ||
                t->type == TK_FLOAT || tlm_jp_is_op(t, OP_LBRACKET) || tlm_jp_is_op(t, OP_LBRACE)) &&
               !tlm_jp_is_name(t, "else") && !tlm_jp_is_name(t, "or") &&
               !tlm_jp_is_name(t, "and")) {
        /* `x is divisibleby 3`: one argument without parentheses */
        if (tlm_jp_is_name(t, "is")) return tlm_jp_fail(p, t, "You cannot chain multiple tests with is");
        tlm_jnode *arg = NULL;
        TRY(parse_primary(p, false, &arg));
        TRY(parse_postfix(p, arg, &arg));
        n->call = tlm_jarena_alloc(p->arena, sizeof *n->call);
        if (!n->call) return nomem(p);
        n->call->args = tlm_jarena_alloc(p->arena, sizeof *n->call->args);
        if (!n->call->args) return nomem(p);
        n->call->args[0] = arg;
        n->call->n_args = 1;
    }
    if (negated) {
        tlm_jnode *neg = NULL;
        NODE(neg, J_NOT, is);
        neg->a = n;
        n = neg;
    }
    *out = n;
    return TLM_OK;
}

static tlm_status parse_filter_expr(tlm_jparser *p, tlm_jnode *node, tlm_jnode **out) {
    for (;;) {
        const tlm_jtok *t = tlm_jp_cur(p);
        if (tlm_jp_is_op(t, OP_PIPE)) TRY(tlm_jp_filter(p, node, false, &node));
        else if (tlm_jp_is_name(t, "is")) TRY(parse_test(p, node, &node));
        else if (tlm_jp_is_op(t, OP_LPAREN)) TRY(parse_call(p, node, &node));
        else break;
    }
    *out = node;
    return TLM_OK;
}

/* ---- Operators ---- */

static tlm_status parse_unary(tlm_jparser *p, bool with_filter, tlm_jnode **out) {
    const tlm_jtok *t = tlm_jp_cur(p);
    if (++p->depth > MAX_DEPTH) return tlm_jp_fail(p, t, "expression nested too deeply");
    tlm_jnode *n = NULL;
    if (tlm_jp_is_op(t, OP_SUB) || tlm_jp_is_op(t, OP_ADD)) {
        NODE(n, t->op == OP_SUB ? J_NEG : J_POS, t);
        tlm_jp_next(p);
        TRY(parse_unary(p, false, &n->a));
    } else {
        TRY(parse_primary(p, false, &n));
    }
    TRY(parse_postfix(p, n, &n));
    if (with_filter) TRY(parse_filter_expr(p, n, &n));
    p->depth--;
    *out = n;
    return TLM_OK;
}

static tlm_status parse_pow(tlm_jparser *p, tlm_jnode **out) {
    const tlm_jtok *at = tlm_jp_cur(p);
    TRY(parse_unary(p, true, out));
    while (tlm_jp_is_op(tlm_jp_cur(p), OP_POW)) {
        tlm_jp_next(p);
        tlm_jnode *r = NULL;
        TRY(parse_unary(p, true, &r));
        TRY(binop(p, OP_POW, at, *out, r, out));
    }
    return TLM_OK;
}

static tlm_status parse_math2(tlm_jparser *p, tlm_jnode **out) {
    const tlm_jtok *at = tlm_jp_cur(p);
    TRY(parse_pow(p, out));
    for (;;) {
        const tlm_jtok *t = tlm_jp_cur(p);
        if (t->type != TK_OP || (t->op != OP_MUL && t->op != OP_DIV && t->op != OP_FLOORDIV &&
                                 t->op != OP_MOD))
            return TLM_OK;
        tlm_jop op = (tlm_jop)t->op;
        tlm_jp_next(p);
        tlm_jnode *r = NULL;
        TRY(parse_pow(p, &r));
        TRY(binop(p, op, at, *out, r, out));
    }
}

static tlm_status parse_concat(tlm_jparser *p, tlm_jnode **out) {
    const tlm_jtok *at = tlm_jp_cur(p);
    tlm_jnode *first = NULL;
    TRY(parse_math2(p, &first));
    if (!tlm_jp_is_op(tlm_jp_cur(p), OP_TILDE)) {
        *out = first;
        return TLM_OK;
    }
    tlm_jnvec args = {0};
    TRY(tlm_jp_push(p, &args, first));
    while (tlm_jp_is_op(tlm_jp_cur(p), OP_TILDE)) {
        tlm_jp_next(p);
        tlm_jnode *r = NULL;
        TRY(parse_math2(p, &r));
        TRY(tlm_jp_push(p, &args, r));
    }
    tlm_jnode *n = NULL;
    NODE(n, J_CONCAT, at);
    n->kids = args.v;
    n->n_kids = args.n;
    *out = n;
    return TLM_OK;
}

static tlm_status parse_math1(tlm_jparser *p, tlm_jnode **out) {
    const tlm_jtok *at = tlm_jp_cur(p);
    TRY(parse_concat(p, out));
    while (tlm_jp_is_op(tlm_jp_cur(p), OP_ADD) || tlm_jp_is_op(tlm_jp_cur(p), OP_SUB)) {
        tlm_jop op = (tlm_jop)tlm_jp_cur(p)->op;
        tlm_jp_next(p);
        tlm_jnode *r = NULL;
        TRY(parse_concat(p, &r));
        TRY(binop(p, op, at, *out, r, out));
    }
    return TLM_OK;
}

static tlm_status parse_compare(tlm_jparser *p, tlm_jnode **out) {
    const tlm_jtok *at = tlm_jp_cur(p);
    tlm_jnode *expr = NULL;
    TRY(parse_math1(p, &expr));
    tlm_jnvec operands = {0};
    uint8_t ops[64];
    for (;;) {
        const tlm_jtok *t = tlm_jp_cur(p);
        tlm_jop op;
        if (t->type == TK_OP && (t->op == OP_EQ || t->op == OP_NE || t->op == OP_LT ||
                                 t->op == OP_LE || t->op == OP_GT || t->op == OP_GE)) {
            op = (tlm_jop)t->op;
            tlm_jp_next(p);
        } else if (tlm_jp_is_name(t, "in")) {
            op = OP_IN;
            tlm_jp_next(p);
        } else if (tlm_jp_is_name(t, "not") && tlm_jp_is_name(look(p), "in")) {
            op = OP_NOTIN;
            tlm_jp_next(p);
            tlm_jp_next(p);
        } else break;
        if (operands.n == TLM_ARRAY_LEN(ops)) return tlm_jp_fail(p, t, "comparison chain too long");
        ops[operands.n] = (uint8_t)op;
        tlm_jnode *r = NULL;
        TRY(parse_math1(p, &r));
        TRY(tlm_jp_push(p, &operands, r));
    }
    if (!operands.n) {
        *out = expr;
        return TLM_OK;
    }
    tlm_jnode *n = NULL;
    NODE(n, J_CMP, at);
    n->a = expr;
    n->kids = operands.v;
    n->n_kids = operands.n;
    n->ops = tlm_jarena_alloc(p->arena, operands.n);
    if (!n->ops) return nomem(p);
    memcpy(n->ops, ops, operands.n);
    *out = n;
    return TLM_OK;
}

static tlm_status parse_not(tlm_jparser *p, tlm_jnode **out) {
    const tlm_jtok *t = tlm_jp_cur(p);
    if (!tlm_jp_is_name(t, "not")) return parse_compare(p, out);
    if (++p->depth > MAX_DEPTH) return tlm_jp_fail(p, t, "expression nested too deeply");
    tlm_jp_next(p);
    tlm_jnode *n = NULL;
    NODE(n, J_NOT, t);
    TRY(parse_not(p, &n->a));
    p->depth--;
    *out = n;
    return TLM_OK;
}

static tlm_status parse_and(tlm_jparser *p, tlm_jnode **out) {
    const tlm_jtok *at = tlm_jp_cur(p);
    TRY(parse_not(p, out));
    while (tlm_jp_is_name(tlm_jp_cur(p), "and")) {
        tlm_jp_next(p);
        tlm_jnode *r = NULL;
        TRY(parse_not(p, &r));
        TRY(binop(p, OP_AND, at, *out, r, out));
    }
    return TLM_OK;
}

static tlm_status parse_or(tlm_jparser *p, tlm_jnode **out) {
    const tlm_jtok *at = tlm_jp_cur(p);
    TRY(parse_and(p, out));
    while (tlm_jp_is_name(tlm_jp_cur(p), "or")) {
        tlm_jp_next(p);
        tlm_jnode *r = NULL;
        TRY(parse_and(p, &r));
        TRY(binop(p, OP_OR, at, *out, r, out));
    }
    return TLM_OK;
}

static tlm_status parse_condexpr(tlm_jparser *p, tlm_jnode **out) {
    const tlm_jtok *at = tlm_jp_cur(p);
    if (++p->depth > MAX_DEPTH) return tlm_jp_fail(p, at, "expression nested too deeply");
    TRY(parse_or(p, out));
    while (tlm_jp_is_name(tlm_jp_cur(p), "if")) {
        tlm_jp_next(p);
        tlm_jnode *n = NULL;
        NODE(n, J_COND, at);
        n->b = *out;
        TRY(parse_or(p, &n->a));
        if (tlm_jp_is_name(tlm_jp_cur(p), "else")) {
            tlm_jp_next(p);
            TRY(parse_condexpr(p, &n->c));
        }
        *out = n;
    }
    p->depth--;
    return TLM_OK;
}

tlm_status tlm_jp_expression(tlm_jparser *p, bool with_condexpr, tlm_jnode **out) {
    return with_condexpr ? parse_condexpr(p, out) : parse_or(p, out);
}

static bool tuple_end(const tlm_jparser *p, const char *const *extra_end) {
    const tlm_jtok *t = tlm_jp_cur(p);
    if (t->type == TK_VAR_END || t->type == TK_BLOCK_END || tlm_jp_is_op(t, OP_RPAREN)) return true;
    for (; extra_end && *extra_end; extra_end++)
        if (tlm_jp_is_name(t, *extra_end)) return true;
    return false;
}

tlm_status tlm_jp_tuple(tlm_jparser *p, bool simplified, bool with_condexpr,
                        const char *const *extra_end, bool explicit_parens, bool with_ns,
                        tlm_jnode **out) {
    const tlm_jtok *at = tlm_jp_cur(p);
    tlm_jnvec args = {0};
    bool is_tuple = false;
    for (;;) {
        if (args.n) TRY(tlm_jp_expect_op(p, OP_COMMA));
        if (tuple_end(p, extra_end)) break;
        tlm_jnode *item = NULL;
        if (simplified) TRY(parse_primary(p, with_ns, &item));
        else TRY(tlm_jp_expression(p, with_condexpr, &item));
        TRY(tlm_jp_push(p, &args, item));
        if (!tlm_jp_is_op(tlm_jp_cur(p), OP_COMMA)) break;
        is_tuple = true;
    }
    if (!is_tuple) {
        if (args.n) {
            *out = args.v[0];
            return TLM_OK;
        }
        if (!explicit_parens) return fail_got(p, "an expression");
    }
    tlm_jnode *n = NULL;
    NODE(n, J_TUPLE, at);
    n->kids = args.v;
    n->n_kids = args.n;
    *out = n;
    return TLM_OK;
}
