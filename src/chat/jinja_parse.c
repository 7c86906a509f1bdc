/*
 * jinja_parse.c - the statement half of the Jinja parser: template data,
 * {{ }} output and the {% %} tags chat templates use (if/elif/else,
 * for/else with `if` filters, set and block set, macro, call, filter,
 * with, print, break/continue from the loopcontrols extension, and the
 * {% generation %} tag transformers adds).
 *
 * Like jinja2, a body is parsed until one of a list of end tags, which the
 * caller then consumes; errors name the line and column, what was expected
 * and, for a missing end tag, where the unclosed block began.  Tags jinja2
 * has but chat templates never need (extends, include, import, block,
 * autoescape) are refused with a clear message.
 */
#include "chat/jinja.h"

#include <stdio.h>
#include <string.h>

#define TRY(x)                                                               \
    do {                                                                     \
        tlm_status s_ = (x);                                                 \
        if (s_ != TLM_OK) return s_;                                         \
    } while (0)

static tlm_status nomem(tlm_jparser *p) {
    return tlm_error_set(p->err, TLM_ERR_NOMEM, "out of memory while parsing the template");
}

#define NODE(var, type, tok)                                                 \
    do {                                                                     \
        if (!((var) = tlm_jp_node(p, (type), (tok)))) return nomem(p);       \
    } while (0)

static tlm_status subparse(tlm_jparser *p, const char *const *end_tags, const tlm_jtok *open,
                           tlm_jnode **out);

static bool at_end_tag(const tlm_jparser *p, const char *const *end_tags) {
    for (; end_tags && *end_tags; end_tags++)
        if (tlm_jp_is_name(tlm_jp_cur(p), *end_tags)) return true;
    return false;
}

static tlm_status expect_type(tlm_jparser *p, tlm_jtok_type type, const char *what) {
    const tlm_jtok *t = tlm_jp_cur(p);
    if (t->type == type) {
        tlm_jp_next(p);
        return TLM_OK;
    }
    const char *got = t->type == TK_NAME ? t->s
                      : t->type == TK_OP ? tlm_jop_text((tlm_jop)t->op)
                      : t->type == TK_EOF ? "end of template"
                      : t->type == TK_VAR_END ? "end of print statement"
                      : t->type == TK_BLOCK_END ? "end of statement block"
                      : t->type == TK_STRING ? "string"
                      : "literal";
    return tlm_jp_fail(p, t, "expected '%s', got '%s'", what, got);
}

static tlm_status expect_name(tlm_jparser *p, const char *name) {
    if (!tlm_jp_is_name(tlm_jp_cur(p), name)) {
        const tlm_jtok *t = tlm_jp_cur(p);
        return tlm_jp_fail(p, t, "expected '%s', got '%s'", name,
                           t->type == TK_NAME ? t->s : t->type == TK_OP
                                                           ? tlm_jop_text((tlm_jop)t->op)
                                                           : "something else");
    }
    tlm_jp_next(p);
    return TLM_OK;
}

/* Parses `%}` body `{% end_tag`; leaves the end tag current unless
 * drop_needle.  open is the tag that started the block, for messages. */
static tlm_status parse_statements(tlm_jparser *p, const char *const *end_tags, bool drop_needle,
                                   const tlm_jtok *open, tlm_jnode **out) {
    if (tlm_jp_is_op(tlm_jp_cur(p), OP_COLON)) tlm_jp_next(p);
    TRY(expect_type(p, TK_BLOCK_END, "end of statement block"));
    TRY(subparse(p, end_tags, open, out));
    if (tlm_jp_cur(p)->type == TK_EOF) {
        char want[120] = "";
        for (size_t i = 0; end_tags[i]; i++) {
            size_t n = strlen(want);
            snprintf(want + n, sizeof want - n, "%s'%s'", i ? " or " : "", end_tags[i]);
        }
        return tlm_jp_fail(p, NULL,
                           "unexpected end of template: expected %s to close the '%s' "
                           "opened at line %d",
                           want, open->s, open->line);
    }
    if (drop_needle) tlm_jp_next(p);
    return TLM_OK;
}

static tlm_status check_target(tlm_jparser *p, const tlm_jnode *t) {
    if (t->type == J_NAME || t->type == J_ATTR) return TLM_OK;
    if (t->type == J_TUPLE) {
        for (size_t i = 0; i < t->n_kids; i++) TRY(check_target(p, t->kids[i]));
        return TLM_OK;
    }
    const char *what = t->type == J_CONST ? "const" : t->type == J_LIST ? "list" : "expression";
    const tlm_jtok at = {.line = t->line, .col = t->col};
    return tlm_jp_fail(p, &at, "can't assign to '%s'", what);
}

static tlm_status assign_target(tlm_jparser *p, const char *const *extra_end, bool with_ns,
                                tlm_jnode **out) {
    TRY(tlm_jp_tuple(p, true, true, extra_end, false, with_ns, out));
    return check_target(p, *out);
}

/* ---- Individual tags ---- */

static tlm_status parse_for(tlm_jparser *p, const tlm_jtok *open, tlm_jnode *n) {
    static const char *const in_end[] = {"in", NULL}, *const rec_end[] = {"recursive", NULL};
    static const char *const body_end[] = {"endfor", "else", NULL}, *const end[] = {"endfor", NULL};
    TRY(assign_target(p, in_end, false, &n->a));
    TRY(expect_name(p, "in"));
    TRY(tlm_jp_tuple(p, false, false, rec_end, false, false, &n->b));
    if (tlm_jp_is_name(tlm_jp_cur(p), "if")) {
        tlm_jp_next(p);
        TRY(tlm_jp_expression(p, true, &n->c));
    }
    if (tlm_jp_is_name(tlm_jp_cur(p), "recursive"))
        return tlm_jp_fail(p, NULL, "recursive loops are not supported");
    p->loop_depth++;
    tlm_status st = parse_statements(p, body_end, false, open, &n->body);
    p->loop_depth--;
    TRY(st);
    bool has_else = tlm_jp_is_name(tlm_jp_cur(p), "else");
    tlm_jp_next(p);
    if (has_else) TRY(parse_statements(p, end, true, open, &n->else_body));
    return TLM_OK;
}

static tlm_status parse_if(tlm_jparser *p, const tlm_jtok *open, tlm_jnode *n) {
    static const char *const body_end[] = {"elif", "else", "endif", NULL}, *const end[] = {"endif", NULL};
    for (;;) {
        TRY(tlm_jp_tuple(p, false, false, NULL, false, false, &n->a));
        TRY(parse_statements(p, body_end, false, open, &n->body));
        const tlm_jtok *t = tlm_jp_cur(p);
        tlm_jp_next(p);
        if (tlm_jp_is_name(t, "elif")) {
            /* elif chains become nested ifs in the else branch */
            tlm_jnode *body = NULL, *next = NULL;
            NODE(body, J_BODY, t);
            NODE(next, J_IF, t);
            body->kids = tlm_jarena_alloc(p->arena, sizeof *body->kids);
            if (!body->kids) return nomem(p);
            body->kids[0] = next;
            body->n_kids = 1;
            n->else_body = body;
            n = next;
            continue;
        }
        if (tlm_jp_is_name(t, "else")) TRY(parse_statements(p, end, true, open, &n->else_body));
        return TLM_OK;
    }
}

static tlm_status parse_set(tlm_jparser *p, const tlm_jtok *open, tlm_jnode *n) {
    static const char *const end[] = {"endset", NULL};
    TRY(assign_target(p, NULL, true, &n->a));
    if (tlm_jp_is_op(tlm_jp_cur(p), OP_ASSIGN)) {
        tlm_jp_next(p);
        return tlm_jp_tuple(p, false, true, NULL, false, false, &n->b);
    }
    n->type = J_SETBLOCK;
    TRY(tlm_jp_filter(p, NULL, false, &n->c));
    return parse_statements(p, end, true, open, &n->body);
}

static tlm_status parse_signature(tlm_jparser *p, tlm_jnode *n) {
    tlm_jnvec names = {0}, defaults = {0};
    bool any_default = false;
    TRY(tlm_jp_expect_op(p, OP_LPAREN));
    while (!tlm_jp_is_op(tlm_jp_cur(p), OP_RPAREN)) {
        if (names.n) TRY(tlm_jp_expect_op(p, OP_COMMA));
        const tlm_jtok *t = tlm_jp_cur(p);
        if (t->type != TK_NAME) return tlm_jp_fail(p, t, "expected a parameter name");
        tlm_jnode *name, *def = NULL;
        NODE(name, J_NAME, t);
        name->name = t->s;
        tlm_jp_next(p);
        if (tlm_jp_is_op(tlm_jp_cur(p), OP_ASSIGN)) {
            tlm_jp_next(p);
            TRY(tlm_jp_expression(p, true, &def));
            any_default = true;
        } else if (any_default) {
            return tlm_jp_fail(p, t, "non-default argument follows default argument");
        }
        TRY(tlm_jp_push(p, &names, name));
        TRY(tlm_jp_push(p, &defaults, def));
    }
    TRY(tlm_jp_expect_op(p, OP_RPAREN));
    n->n_params = names.n;
    n->defaults = defaults.v;
    if (names.n) {
        n->params = tlm_jarena_alloc(p->arena, names.n * sizeof *n->params);
        if (!n->params) return nomem(p);
        for (size_t i = 0; i < names.n; i++) n->params[i] = names.v[i]->name;
    }
    return TLM_OK;
}

/* Macro and caller bodies are functions in jinja2: a loop outside them
 * does not make {% break %} legal inside. */
static tlm_status function_body(tlm_jparser *p, const char *end_tag, const tlm_jtok *open,
                                tlm_jnode **body) {
    const char *end[] = {end_tag, NULL};
    int saved = p->loop_depth;
    p->loop_depth = 0;
    tlm_status st = parse_statements(p, end, true, open, body);
    p->loop_depth = saved;
    return st;
}

/* Does the subtree mention `name`?  jinja2 gives a macro varargs, kwargs
 * and caller only when its body mentions them, and that changes which calls
 * are errors.  Absurdly deep trees count as "yes". */
static bool mentions(const tlm_jnode *n, const char *name, int depth) {
    if (!n) return false;
    if (depth > 1000) return true;
    if (n->type == J_NAME && !strcmp(n->name, name)) return true;
    const tlm_jnode *direct[] = {n->a, n->b, n->c, n->body, n->else_body};
    for (size_t i = 0; i < TLM_ARRAY_LEN(direct); i++)
        if (mentions(direct[i], name, depth + 1)) return true;
    for (size_t i = 0; i < n->n_kids; i++)
        if (mentions(n->kids[i], name, depth + 1)) return true;
    for (size_t i = 0; n->defaults && i < n->n_params; i++)
        if (mentions(n->defaults[i], name, depth + 1)) return true;
    const tlm_jcall *c = n->call;
    if (!c) return false;
    for (size_t i = 0; i < c->n_args; i++)
        if (mentions(c->args[i], name, depth + 1)) return true;
    for (size_t i = 0; i < c->n_kw; i++)
        if (mentions(c->kw_vals[i], name, depth + 1)) return true;
    return mentions(c->dyn_args, name, depth + 1) || mentions(c->dyn_kwargs, name, depth + 1);
}

/* Flags read by tlm_jcall_macro: 1 varargs, 2 kwargs, 4 caller. */
static void macro_flags(tlm_jnode *n) {
    n->op = (uint8_t)((mentions(n->body, "varargs", 0) ? 1 : 0) |
                      (mentions(n->body, "kwargs", 0) ? 2 : 0) |
                      (mentions(n->body, "caller", 0) ? 4 : 0));
}

static tlm_status parse_macro(tlm_jparser *p, const tlm_jtok *open, tlm_jnode *n) {
    const tlm_jtok *t = tlm_jp_cur(p);
    if (t->type != TK_NAME) return tlm_jp_fail(p, t, "expected a macro name");
    n->name = t->s;
    tlm_jp_next(p);
    TRY(parse_signature(p, n));
    TRY(function_body(p, "endmacro", open, &n->body));
    macro_flags(n);
    return TLM_OK;
}

static tlm_status parse_call_block(tlm_jparser *p, const tlm_jtok *open, tlm_jnode *n) {
    if (tlm_jp_is_op(tlm_jp_cur(p), OP_LPAREN)) TRY(parse_signature(p, n));
    TRY(tlm_jp_expression(p, true, &n->a));
    if (n->a->type != J_CALL) return tlm_jp_fail(p, open, "expected call");
    TRY(function_body(p, "endcall", open, &n->body));
    macro_flags(n);
    return TLM_OK;
}

static tlm_status parse_with(tlm_jparser *p, const tlm_jtok *open, tlm_jnode *n) {
    static const char *const end[] = {"endwith", NULL};
    tlm_jnvec kids = {0};
    while (tlm_jp_cur(p)->type != TK_BLOCK_END) {
        if (kids.n) TRY(tlm_jp_expect_op(p, OP_COMMA));
        tlm_jnode *target = NULL, *value = NULL;
        TRY(assign_target(p, NULL, false, &target));
        TRY(tlm_jp_expect_op(p, OP_ASSIGN));
        TRY(tlm_jp_expression(p, true, &value));
        TRY(tlm_jp_push(p, &kids, target));
        TRY(tlm_jp_push(p, &kids, value));
    }
    n->kids = kids.v;
    n->n_kids = kids.n;
    return parse_statements(p, end, true, open, &n->body);
}

static tlm_status parse_print(tlm_jparser *p, tlm_jnode *n) {
    tlm_jnvec kids = {0};
    while (tlm_jp_cur(p)->type != TK_BLOCK_END) {
        if (kids.n) TRY(tlm_jp_expect_op(p, OP_COMMA));
        tlm_jnode *out = NULL;
        NODE(out, J_PRINT, tlm_jp_cur(p));
        TRY(tlm_jp_expression(p, true, &out->a));
        TRY(tlm_jp_push(p, &kids, out));
    }
    n->kids = kids.v;
    n->n_kids = kids.n;
    return TLM_OK;
}

static tlm_status parse_tag(tlm_jparser *p, tlm_jnode **out) {
    static const char *const unsupported[] = {"block", "extends", "include", "import", "from",
                                              "autoescape", NULL};
    const tlm_jtok *t = tlm_jp_cur(p);
    if (t->type != TK_NAME) return tlm_jp_fail(p, t, "tag name expected");
    const char *tag = t->s;
    tlm_jnode *n = NULL;
    NODE(n, J_BODY, t);
    *out = n;
    tlm_jp_next(p);
    if (!strcmp(tag, "for")) return n->type = J_FOR, parse_for(p, t, n);
    if (!strcmp(tag, "if")) return n->type = J_IF, parse_if(p, t, n);
    if (!strcmp(tag, "set")) return n->type = J_SET, parse_set(p, t, n);
    if (!strcmp(tag, "macro")) return n->type = J_MACRO, parse_macro(p, t, n);
    if (!strcmp(tag, "call")) return n->type = J_CALLBLOCK, parse_call_block(p, t, n);
    if (!strcmp(tag, "filter")) {
        static const char *const end[] = {"endfilter", NULL};
        n->type = J_FILTERBLOCK;
        TRY(tlm_jp_filter(p, NULL, true, &n->a));
        return parse_statements(p, end, true, t, &n->body);
    }
    if (!strcmp(tag, "with")) return n->type = J_WITH, parse_with(p, t, n);
    if (!strcmp(tag, "generation")) {
        /* transformers' AssistantTracker: a call block whose caller is
         * called at once, so its body is a macro body (own scope). */
        n->type = J_CALLBLOCK;
        TRY(function_body(p, "endgeneration", t, &n->body));
        macro_flags(n);
        return TLM_OK;
    }
    if (!strcmp(tag, "print")) return parse_print(p, n);
    if (!strcmp(tag, "break") || !strcmp(tag, "continue")) {
        if (p->loop_depth == 0) return tlm_jp_fail(p, t, "'%s' outside loop", tag);
        n->type = tag[0] == 'b' ? J_BREAK : J_CONTINUE;
        return TLM_OK;
    }
    for (size_t i = 0; unsupported[i]; i++)
        if (!strcmp(tag, unsupported[i]))
            return tlm_jp_fail(p, t, "the '%s' tag is not supported in chat templates", tag);
    return tlm_jp_fail(p, t, "Encountered unknown tag '%s'.", tag);
}

/* Statement nesting is bounded like expression nesting: recursion depth
 * must not depend on untrusted input. */
static tlm_status parse_statement(tlm_jparser *p, tlm_jnode **out) {
    if (++p->depth > 100) return tlm_jp_fail(p, NULL, "blocks nested too deeply");
    tlm_status st = parse_tag(p, out);
    p->depth--;
    return st;
}

/* ---- Bodies ---- */

static tlm_status subparse(tlm_jparser *p, const char *const *end_tags, const tlm_jtok *open,
                           tlm_jnode **out) {
    tlm_jnode *body = NULL;
    NODE(body, J_BODY, open ? open : tlm_jp_cur(p));
    tlm_jnvec kids = {0};
    for (;;) {
        const tlm_jtok *t = tlm_jp_cur(p);
        tlm_jnode *n = NULL;
        if (t->type == TK_EOF) break;
        if (t->type == TK_DATA) {
            NODE(n, J_TEXT, t);
            n->value = tlm_jv_strref(t->s, t->len);
            tlm_jp_next(p);
        } else if (t->type == TK_VAR_BEGIN) {
            tlm_jp_next(p);
            NODE(n, J_PRINT, t);
            TRY(tlm_jp_tuple(p, false, true, NULL, false, false, &n->a));
            TRY(expect_type(p, TK_VAR_END, "end of print statement"));
        } else if (t->type == TK_BLOCK_BEGIN) {
            tlm_jp_next(p);
            if (at_end_tag(p, end_tags)) break;
            TRY(parse_statement(p, &n));
            TRY(expect_type(p, TK_BLOCK_END, "end of statement block"));
        } else {
            return tlm_jp_fail(p, t, "unexpected token");
        }
        TRY(tlm_jp_push(p, &kids, n));
    }
    body->kids = kids.v;
    body->n_kids = kids.n;
    *out = body;
    return TLM_OK;
}

/* ---- Constant folding, as far as it is observable ----
 *
 * jinja2's optimizer evaluates constant subexpressions at compile time and
 * keeps the value when it has a "safe repr" (None, bools, numbers, strings
 * and containers of those), and {{ }} prints a constant expression's value
 * whatever it is.  The one place where that changes the result is slicing:
 * a folded slice goes through the sandbox's getitem, where a failure gives
 * Undefined, while a runtime slice is a plain Python subscript that raises
 * ({{ 2.0[1:] }} prints "", {% if 2.0[1:] %} fails).  Whether a subtree
 * folds depends on values (`[] and name` folds, `name and []` does not), so
 * the parser only marks candidates - expressions holding a slice get fold = 1,
 * or 2 as the expression of a {{ }}, and their slices op = 1 - and
 * tlm_jeval tries the compile-time evaluation first. */

static bool is_expr(const tlm_jnode *n) { return n->type < J_BODY; }

/* Post-order; returns whether n (an expression) holds a slice. */
static bool fold_pass(tlm_jnode *n, int depth) {
    if (!n || depth > 1000) return false; /* absurd nesting: leave it to runtime */
    bool slice = false;
    tlm_jnode *direct[] = {n->a, n->b, n->c, n->body, n->else_body};
    for (size_t i = 0; i < TLM_ARRAY_LEN(direct); i++) slice |= fold_pass(direct[i], depth + 1);
    for (size_t i = 0; i < n->n_kids; i++) slice |= fold_pass(n->kids[i], depth + 1);
    for (size_t i = 0; n->defaults && i < n->n_params; i++) fold_pass(n->defaults[i], depth + 1);
    const tlm_jcall *c = n->call;
    for (size_t i = 0; c && i < c->n_args; i++) slice |= fold_pass(c->args[i], depth + 1);
    for (size_t i = 0; c && i < c->n_kw; i++) slice |= fold_pass(c->kw_vals[i], depth + 1);
    if (c) {
        slice |= fold_pass(c->dyn_args, depth + 1);
        slice |= fold_pass(c->dyn_kwargs, depth + 1);
    }
    if (n->type == J_ITEM && n->b && n->b->type == J_SLICE) slice = true, n->op = 1;
    if (n->type == J_PRINT && n->a && n->a->fold) n->a->fold = 2;
    if (!is_expr(n)) return false;
    if (slice) n->fold = 1;
    return slice;
}

/* ---- Unknown filters and tests ----
 *
 * jinja2 reports an unknown filter or test when compiling, except inside
 * an {% if %} or an inline if-expression, where the error waits until the
 * filter is actually used ("soft" frames).  Loop, macro, call, filter, set
 * and with bodies are frames of their own, which are never soft. */

static tlm_status check_call(tlm_jparser *p, const tlm_jcall *c, bool soft, int depth);

static tlm_status check_names(tlm_jparser *p, const tlm_jnode *n, bool soft, int depth) {
    if (!n || depth > 1000) return TLM_OK;
    const tlm_jtok at = {.line = n->line, .col = n->col};
    switch ((tlm_jnode_type)n->type) {
    case J_IF:
        TRY(check_names(p, n->a, true, depth + 1));
        TRY(check_names(p, n->body, true, depth + 1));
        return check_names(p, n->else_body, true, depth + 1);
    case J_COND:
        TRY(check_names(p, n->a, true, depth + 1));
        TRY(check_names(p, n->b, true, depth + 1));
        return check_names(p, n->c, true, depth + 1);
    case J_FOR:
        TRY(check_names(p, n->b, soft, depth + 1));
        TRY(check_names(p, n->c, false, depth + 1));
        TRY(check_names(p, n->body, false, depth + 1));
        return check_names(p, n->else_body, false, depth + 1);
    case J_MACRO:
    case J_CALLBLOCK:
        for (size_t i = 0; n->defaults && i < n->n_params; i++)
            TRY(check_names(p, n->defaults[i], false, depth + 1));
        TRY(check_names(p, n->a, soft, depth + 1));
        return check_names(p, n->body, false, depth + 1);
    case J_SETBLOCK:
    case J_FILTERBLOCK:
        TRY(check_names(p, n->type == J_SETBLOCK ? n->c : n->a, false, depth + 1));
        return check_names(p, n->body, false, depth + 1);
    case J_WITH:
        for (size_t i = 1; i < n->n_kids; i += 2) TRY(check_names(p, n->kids[i], soft, depth + 1));
        return check_names(p, n->body, false, depth + 1);
    case J_FILTER:
        if (!n->filter_fn && !soft && !tlm_jfilter_known(n->name))
            return tlm_jp_fail(p, &at, "No filter named '%s'.", n->name);
        break;
    case J_TEST:
        if (!n->test_fn && !soft && !tlm_jtest_known(n->name))
            return tlm_jp_fail(p, &at, "No test named '%s'.", n->name);
        break;
    default: break;
    }
    TRY(check_names(p, n->a, soft, depth + 1));
    TRY(check_names(p, n->b, soft, depth + 1));
    TRY(check_names(p, n->c, soft, depth + 1));
    TRY(check_names(p, n->body, soft, depth + 1));
    TRY(check_names(p, n->else_body, soft, depth + 1));
    for (size_t i = 0; i < n->n_kids; i++) TRY(check_names(p, n->kids[i], soft, depth + 1));
    return check_call(p, n->call, soft, depth);
}

static tlm_status check_call(tlm_jparser *p, const tlm_jcall *c, bool soft, int depth) {
    for (size_t i = 0; c && i < c->n_args; i++) TRY(check_names(p, c->args[i], soft, depth + 1));
    for (size_t i = 0; c && i < c->n_kw; i++) TRY(check_names(p, c->kw_vals[i], soft, depth + 1));
    if (c) TRY(check_names(p, c->dyn_args, soft, depth + 1));
    return c ? check_names(p, c->dyn_kwargs, soft, depth + 1) : TLM_OK;
}

tlm_status tlm_jinja_parse(tlm_jarena *a, const tlm_jtok *toks, size_t n_toks, tlm_jnode **root,
                           tlm_error *err) {
    tlm_jparser p = {.arena = a, .toks = toks, .n = n_toks, .err = err};
    tlm_status st = subparse(&p, NULL, NULL, root);
    if (st == TLM_OK) st = check_names(&p, *root, false, 0);
    if (st == TLM_OK) fold_pass(*root, 0);
    return st;
}
