/*
 * jinja.h - internal API of the small Jinja2 interpreter that renders chat
 * templates (tokenizer.chat_template) byte-for-byte like Python's jinja2 in
 * the environment Hugging Face transformers uses:
 *   ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
 *   extensions=[loopcontrols, the {% generation %} tag]), with `tojson`
 *   replaced by json.dumps(ensure_ascii=False, indent=...) and the globals
 *   raise_exception(msg) and strftime_now(fmt).
 *
 * Pipeline: jinja_lex.c turns the source into tokens (whitespace control is
 * applied there, as jinja2's lexer does), jinja_parse*.c builds an AST in the
 * template's arena, and jinja_eval.c / jinja_expr.c walk it.  Values
 * (jinja_value.c) mirror the Python objects a template can see: every value
 * made while rendering lives in a per-render arena that is dropped in one go
 * when the render ends, so values need no reference counts and nothing can
 * leak.  Values are immutable once built, except namespaces and iterators,
 * which are mutable in Python too.
 *
 * Ownership: a tlm_jtemplate owns its arena (tokens, AST, constants); a
 * render owns another arena for everything it makes.  Nothing in here is
 * public; include/tinylm.h and chat.h hold the contracts callers see.
 */
#ifndef TLM_CHAT_JINJA_H
#define TLM_CHAT_JINJA_H

#include "core/util.h"
#include "tinylm.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Arena ---- */

/* A bump allocator; limit (bytes, 0 = none) bounds what a hostile template
 * can make a render allocate. */
typedef struct tlm_jarena tlm_jarena;

tlm_jarena *tlm_jarena_create(size_t limit);
void tlm_jarena_free(tlm_jarena *a);
/* Zeroed, 16-byte aligned; NULL when out of memory or over the limit. */
void *tlm_jarena_alloc(tlm_jarena *a, size_t n);
/* Copies n bytes and adds a NUL. */
char *tlm_jarena_strndup(tlm_jarena *a, const char *s, size_t n);
size_t tlm_jarena_used(const tlm_jarena *a);

/* ---- Values ---- */

typedef enum tlm_jv_kind {
    TLM_JV_UNDEF, /* jinja2's default Undefined */
    TLM_JV_NONE,
    TLM_JV_BOOL,
    TLM_JV_INT,
    TLM_JV_FLOAT,
    TLM_JV_STR,   /* UTF-8 bytes, not NUL-terminated in general */
    TLM_JV_LIST,
    TLM_JV_TUPLE,
    TLM_JV_DICT,
    TLM_JV_ITER,  /* a one-pass Python generator (select, map, items...) */
    TLM_JV_NS,    /* namespace(): a dict whose attributes can be assigned */
    TLM_JV_FUNC,  /* builtin, bound method, macro or caller */
    TLM_JV_LOOP,  /* the `loop` object of a for loop */
    TLM_JV_KIND_COUNT,
} tlm_jv_kind;

/* Flags on a list: a dict view prints as dict_items([...]) and cannot go
 * through tojson, as in Python. */
enum { TLM_JV_VIEW_ITEMS = 1, TLM_JV_VIEW_KEYS = 2, TLM_JV_VIEW_VALUES = 3 };

typedef struct tlm_jlist tlm_jlist;
typedef struct tlm_jdict tlm_jdict;
typedef struct tlm_jiter tlm_jiter;
typedef struct tlm_jfunc tlm_jfunc;
typedef struct tlm_jloop tlm_jloop;

typedef struct tlm_jv {
    uint8_t kind;   /* tlm_jv_kind */
    uint8_t flags;  /* TLM_JV_VIEW_* on lists */
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            const char *p;
            size_t len;
        } s;
        tlm_jlist *list; /* LIST and TUPLE */
        tlm_jdict *dict; /* DICT and NS */
        tlm_jiter *iter;
        tlm_jfunc *fn;
        tlm_jloop *loop;
        const char *undef; /* message for the error raised when misused */
    } u;
} tlm_jv;

struct tlm_jlist {
    tlm_jv *items;
    size_t n, cap;
};

/* Insertion-ordered, as Python dicts are. */
struct tlm_jdict {
    tlm_jv *keys;
    tlm_jv *vals;
    size_t n, cap;
};

struct tlm_jiter {
    tlm_jv *items;
    size_t n, pos;
};

typedef struct tlm_jctx tlm_jctx;
typedef struct tlm_jnode tlm_jnode;
typedef struct tlm_jframe tlm_jframe;

/* Arguments of a call, already evaluated. */
typedef struct tlm_jargs {
    const tlm_jv *pos;
    size_t n_pos;
    const char *const *kw_names;
    const tlm_jv *kw;
    size_t n_kw;
} tlm_jargs;

/* Builtins, methods and filters share one shape: self is the bound object
 * (the filter input; NONE for plain functions). */
typedef tlm_status (*tlm_jbuiltin)(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out);
typedef tlm_status (*tlm_jtest_fn)(tlm_jctx *c, tlm_jv v, const tlm_jargs *a, bool *out);

struct tlm_jfunc {
    const char *name;
    tlm_jbuiltin fn;         /* builtins and bound methods */
    tlm_jv self;
    const tlm_jnode *macro;  /* J_MACRO or J_CALLBLOCK: params and body */
    tlm_jframe *closure;     /* frame the macro was defined in */
    tlm_jv caller;           /* `caller` inside a macro called by {% call %} */
};

struct tlm_jloop {
    const tlm_jv *items;
    size_t n, index0;
    int depth0;
    tlm_jv last_changed;
    bool has_changed;
};

/* Constructors: scalars need no memory; the rest allocate in c's arena and
 * return TLM_ERR_NOMEM (with a message) when it is exhausted. */
static inline tlm_jv tlm_jv_none(void) {
    tlm_jv v = {.kind = TLM_JV_NONE};
    return v;
}
static inline tlm_jv tlm_jv_bool(bool b) {
    tlm_jv v = {.kind = TLM_JV_BOOL};
    v.u.b = b;
    return v;
}
static inline tlm_jv tlm_jv_int(int64_t i) {
    tlm_jv v = {.kind = TLM_JV_INT};
    v.u.i = i;
    return v;
}
static inline tlm_jv tlm_jv_float(double f) {
    tlm_jv v = {.kind = TLM_JV_FLOAT};
    v.u.f = f;
    return v;
}
/* Borrows p: it must live as long as the render (arena or template). */
static inline tlm_jv tlm_jv_strref(const char *p, size_t len) {
    tlm_jv v = {.kind = TLM_JV_STR};
    v.u.s.p = p;
    v.u.s.len = len;
    return v;
}
static inline tlm_jv tlm_jv_undef(const char *why) {
    tlm_jv v = {.kind = TLM_JV_UNDEF};
    v.u.undef = why;
    return v;
}

tlm_status tlm_jv_str(tlm_jctx *c, const char *p, size_t len, tlm_jv *out);
tlm_status tlm_jv_strbuf(tlm_jctx *c, tlm_buf *b, tlm_jv *out); /* copies, then frees b */
tlm_status tlm_jv_list(tlm_jctx *c, size_t n, tlm_jv *out);     /* n NONE items */
tlm_status tlm_jv_tuple(tlm_jctx *c, size_t n, tlm_jv *out);
tlm_status tlm_jv_list_push(tlm_jctx *c, tlm_jv *list, tlm_jv item);
tlm_status tlm_jv_dict(tlm_jctx *c, tlm_jv *out);
tlm_status tlm_jv_dict_set(tlm_jctx *c, tlm_jv *dict, tlm_jv key, tlm_jv val);
/* Wraps a list's items as a one-pass iterator (copies nothing). */
tlm_status tlm_jv_iter(tlm_jctx *c, const tlm_jv *items, size_t n, tlm_jv *out);
tlm_status tlm_jv_func(tlm_jctx *c, const char *name, tlm_jbuiltin fn, tlm_jv self, tlm_jv *out);
/* "'<name>' is undefined" style undefined. */
tlm_status tlm_jv_undef_fmt(tlm_jctx *c, tlm_jv *out, const char *fmt, ...) TLM_PRINTF(3, 4);

/* Looks a key up (Python equality; 1 == 1.0 == True).  NULL when absent. */
const tlm_jv *tlm_jv_dict_get(const tlm_jdict *d, tlm_jv key);
const tlm_jv *tlm_jv_dict_getz(const tlm_jdict *d, const char *key);

bool tlm_jv_truthy(tlm_jv v);
/* Could Python hash it (no list or dict inside)? */
bool tlm_jv_hashable(tlm_jv v);
/* Python ==, without raising. */
bool tlm_jv_equal(tlm_jv a, tlm_jv b);
/* Python <, ... ordering: *out is -1/0/1.  TLM_ERR_TYPE (message in c)
 * for types Python refuses to order. */
tlm_status tlm_jv_compare(tlm_jctx *c, tlm_jv a, tlm_jv b, int *out);
/* Python type name ("str", "dict", "NoneType") for messages. */
const char *tlm_jv_type_name(tlm_jv v);
bool tlm_jv_is_str(tlm_jv v, const char *z);

/* Materialises any iterable into an item array: lists/tuples as they are,
 * dict keys, string characters, iterators (consumed).  Undefined gives
 * nothing; other types raise TypeError as Python does. */
tlm_status tlm_jv_iterate(tlm_jctx *c, tlm_jv v, const tlm_jv **items, size_t *n);
/* len(): TLM_ERR_TYPE when Python would raise. */
tlm_status tlm_jv_len(tlm_jctx *c, tlm_jv v, size_t *out);

/* Converts a JSON value (borrowed) into arena values. */
tlm_status tlm_jv_from_json(tlm_jctx *c, const json_t *j, tlm_jv *out);

/* ---- Text forms (jinja_format.c) ---- */

/* str(v) and repr(v) appended to b, as Python prints them. */
tlm_status tlm_jv_write_str(tlm_jctx *c, tlm_buf *b, tlm_jv v);
tlm_status tlm_jv_write_repr(tlm_jctx *c, tlm_buf *b, tlm_jv v);
/* str(v) as a value (a string is returned as is). */
tlm_status tlm_jv_to_str(tlm_jctx *c, tlm_jv v, tlm_jv *out);
/* TLM_ERR_RANGE (with a message) once b is longer than the render's output
 * limit: every loop that builds a string checks it, so no filter can be
 * made to build gigabytes. */
tlm_status tlm_jcheck_size(tlm_jctx *c, const tlm_buf *b);
/* Python repr of a float ("1.0", "1e+16", "inf"). */
void tlm_jfloat_repr(double f, char *buf, size_t size);

/* json.dumps(v, ensure_ascii, indent, separators, sort_keys). */
typedef struct tlm_jjson_opts {
    bool ensure_ascii;
    bool sort_keys;
    bool indent_set;
    const char *indent; /* used when indent_set */
    size_t indent_len;
    const char *item_sep, *key_sep;
    size_t item_sep_len, key_sep_len;
} tlm_jjson_opts;
tlm_status tlm_jv_write_json(tlm_jctx *c, tlm_buf *b, tlm_jv v, const tlm_jjson_opts *o);

/* ---- Python str operations on UTF-8 (jinja_ustr.c) ---- */

/* Decodes the code point at s[*i] (advancing *i); bytes that are not valid
 * UTF-8 decode as themselves so that nothing is ever lost. */
uint32_t tlm_ustr_next(const char *s, size_t len, size_t *i);
size_t tlm_ustr_put(char *out, uint32_t cp); /* writes 1-4 bytes */
tlm_status tlm_ustr_append_cp(tlm_buf *b, uint32_t cp);
size_t tlm_ustr_count(const char *s, size_t len);        /* code points */
size_t tlm_ustr_offset(const char *s, size_t len, size_t cp_index); /* byte offset */
bool tlm_ustr_valid(const char *s, size_t len);
bool tlm_ucp_isspace(uint32_t cp);  /* str.isspace() */
bool tlm_ucp_isword(uint32_t cp);   /* re's \w */
bool tlm_ucp_isprintable(uint32_t cp);
bool tlm_ucp_isalpha(uint32_t cp);
bool tlm_ucp_isdigit(uint32_t cp);
bool tlm_ucp_iscased(uint32_t cp);
bool tlm_ucp_islower(uint32_t cp);
bool tlm_ucp_isupper(uint32_t cp);
uint32_t tlm_ucp_lower(uint32_t cp);
uint32_t tlm_ucp_upper(uint32_t cp);
uint32_t tlm_ucp_title(uint32_t cp);

/* Case mapping of a whole string into b.  mode: 'u' upper, 'l' lower,
 * 't' str.title(), 'c' str.capitalize(), 'j' jinja's title filter. */
tlm_status tlm_ustr_case(tlm_buf *b, const char *s, size_t len, char mode);
/* str.strip(chars) family; chars NULL = whitespace.  which: 'b','l','r'. */
void tlm_ustr_strip(const char *s, size_t len, const char *chars, size_t chars_len, char which,
                    size_t *start, size_t *end);
/* Byte offset of needle in hay at or after from; SIZE_MAX when absent. */
size_t tlm_ustr_find(const char *hay, size_t hay_len, const char *needle, size_t n_len,
                     size_t from);
size_t tlm_ustr_rfind(const char *hay, size_t hay_len, const char *needle, size_t n_len);

/* ---- Lexer (jinja_lex.c) ---- */

typedef enum tlm_jtok_type {
    TK_EOF,
    TK_DATA,
    TK_VAR_BEGIN,
    TK_VAR_END,
    TK_BLOCK_BEGIN,
    TK_BLOCK_END,
    TK_NAME,
    TK_STRING,
    TK_INT,
    TK_FLOAT,
    TK_OP,
} tlm_jtok_type;

typedef enum tlm_jop {
    OP_NONE,
    OP_ADD, OP_SUB, OP_DIV, OP_FLOORDIV, OP_MUL, OP_MOD, OP_POW, OP_TILDE,
    OP_LBRACKET, OP_RBRACKET, OP_LPAREN, OP_RPAREN, OP_LBRACE, OP_RBRACE,
    OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE, OP_ASSIGN, OP_DOT, OP_COLON,
    OP_PIPE, OP_COMMA, OP_SEMICOLON,
    /* Only in the AST: */
    OP_AND, OP_OR, OP_IN, OP_NOTIN,
    OP_COUNT,
} tlm_jop;

typedef struct tlm_jtok {
    uint8_t type; /* tlm_jtok_type */
    uint8_t op;   /* tlm_jop for TK_OP */
    int line, col;
    const char *s; /* DATA, NAME, STRING text (arena, NUL-terminated) */
    size_t len;
    int64_t i;
    double f;
} tlm_jtok;

/* Tokenises src into an arena-owned array ending with TK_EOF. */
tlm_status tlm_jinja_lex(tlm_jarena *a, const char *src, size_t len, tlm_jtok **toks,
                         size_t *n_toks, tlm_error *err);

/* ---- AST (jinja_parse*.c) ---- */

typedef enum tlm_jnode_type {
    /* expressions */
    J_CONST,   /* value */
    J_NAME,    /* name */
    J_LIST,    /* kids */
    J_TUPLE,   /* kids */
    J_DICT,    /* kids: key, value, key, value... */
    J_ATTR,    /* a.name */
    J_ITEM,    /* a[b] */
    J_SLICE,   /* a:b:c, each may be NULL */
    J_CALL,    /* a(call) */
    J_FILTER,  /* a | name(call); a NULL inside filter blocks */
    J_TEST,    /* a is name(call) */
    J_NOT,     /* not a */
    J_NEG,     /* -a */
    J_POS,     /* +a */
    J_BIN,     /* a op b, also and/or */
    J_CONCAT,  /* kids joined with ~ */
    J_CMP,     /* a ops[i] kids[i]... */
    J_COND,    /* b if a else c (c may be NULL) */
    /* statements */
    J_BODY,    /* kids */
    J_TEXT,    /* value (a string) */
    J_PRINT,   /* {{ a }} */
    J_IF,      /* if a: body else: else_body */
    J_FOR,     /* for a in b if c: body else: else_body */
    J_SET,     /* a = b (a: NAME, TUPLE of NAMEs, or ATTR on a NAME) */
    J_SETBLOCK,/* a = rendered body, through filter chain c */
    J_MACRO,   /* name(params) body */
    J_CALLBLOCK, /* {% call(params) a %} body; a is NULL for {% generation %} */
    J_FILTERBLOCK, /* body through filter chain a */
    J_WITH,    /* kids: target, value, target, value...; body */
    J_BREAK,
    J_CONTINUE,
    J_NODE_COUNT,
} tlm_jnode_type;

typedef struct tlm_jcall {
    tlm_jnode **args;
    size_t n_args;
    const char **kw_names;
    tlm_jnode **kw_vals;
    size_t n_kw;
    tlm_jnode *dyn_args, *dyn_kwargs;
} tlm_jcall;

struct tlm_jnode {
    uint8_t type; /* tlm_jnode_type */
    uint8_t op;   /* tlm_jop for J_BIN; flags for J_MACRO, J_CALLBLOCK, J_ITEM */
    uint8_t fold; /* jinja2 would constant-fold it (see jinja_parse.c) */
    int line, col;
    tlm_jnode *a, *b, *c;
    tlm_jnode **kids;
    size_t n_kids;
    uint8_t *ops;            /* J_CMP: one tlm_jop per kid */
    tlm_jnode *body, *else_body;
    const char *name;
    tlm_jv value;
    tlm_jcall *call;         /* J_CALL, J_FILTER, J_TEST (may be NULL) */
    const char **params;     /* J_MACRO, J_CALLBLOCK */
    tlm_jnode **defaults;    /* n_params entries, NULL when none */
    size_t n_params;
    tlm_jbuiltin filter_fn;  /* J_FILTER: resolved at parse time, NULL if unknown */
    tlm_jtest_fn test_fn;    /* J_TEST: likewise */
};

/* Parses a token array into a J_BODY tree allocated in a. */
tlm_status tlm_jinja_parse(tlm_jarena *a, const tlm_jtok *toks, size_t n_toks, tlm_jnode **root,
                           tlm_error *err);

/* Parser internals shared by jinja_parse.c (statements) and
 * jinja_parse_expr.c (expressions). */
typedef struct tlm_jparser {
    tlm_jarena *arena;
    const tlm_jtok *toks;
    size_t n, pos;
    int depth;      /* recursion depth, bounded against hostile input */
    int loop_depth; /* for loops around the current statement (break) */
    tlm_error *err;
} tlm_jparser;

/* A growable node array in the parser's arena. */
typedef struct tlm_jnvec {
    tlm_jnode **v;
    size_t n, cap;
} tlm_jnvec;
tlm_status tlm_jp_push(tlm_jparser *p, tlm_jnvec *v, tlm_jnode *n);
const tlm_jtok *tlm_jp_cur(const tlm_jparser *p);
void tlm_jp_next(tlm_jparser *p);
tlm_jnode *tlm_jp_node(tlm_jparser *p, tlm_jnode_type type, const tlm_jtok *at);
tlm_status tlm_jp_fail(tlm_jparser *p, const tlm_jtok *at, const char *fmt, ...) TLM_PRINTF(3, 4);
tlm_status tlm_jp_expect_op(tlm_jparser *p, tlm_jop op);
bool tlm_jp_is_name(const tlm_jtok *t, const char *name);
bool tlm_jp_is_op(const tlm_jtok *t, tlm_jop op);
tlm_status tlm_jp_expression(tlm_jparser *p, bool with_condexpr, tlm_jnode **out);
/* extra_end: NULL-terminated names that also end the tuple ("in"). */
tlm_status tlm_jp_tuple(tlm_jparser *p, bool simplified, bool with_condexpr,
                        const char *const *extra_end, bool explicit_parens, bool with_ns,
                        tlm_jnode **out);
tlm_status tlm_jp_filter(tlm_jparser *p, tlm_jnode *node, bool start_inline, tlm_jnode **out);
tlm_status tlm_jp_call_args(tlm_jparser *p, tlm_jcall **out);
const char *tlm_jop_text(tlm_jop op);


/* ---- Rendering ---- */

typedef struct tlm_jlimits {
    size_t max_output;   /* bytes of rendered text */
    uint64_t max_steps;  /* loop iterations + macro calls + nodes visited */
    int max_depth;       /* macro recursion */
    size_t max_memory;   /* arena bytes per render */
    int64_t now;         /* strftime_now's clock (Unix seconds); < 0: real time */
} tlm_jlimits;

struct tlm_jframe {
    tlm_jframe *parent;
    const char **names;
    tlm_jv *vals;
    size_t n, cap;
    bool captured; /* a macro closes over it: loops must not reuse it */
};

struct tlm_jctx {
    tlm_jarena *arena;
    tlm_buf *out;          /* where output goes now (swapped for captures) */
    tlm_error *err;
    const tlm_jlimits *lim;
    uint64_t steps;
    int depth;             /* macro calls in progress */
    int eval_depth;        /* expression recursion, bounded for the C stack */
    int folding;           /* evaluating as jinja2's compile-time folding would */
    int line;              /* template line being evaluated, for errors */
    int loop_ctl;          /* 1 after {% break %}, 2 after {% continue %} */
    tlm_jframe *globals;
};

/* Fills c->err with "line N: <message>" and returns code. */
tlm_status tlm_jerr(tlm_jctx *c, tlm_status code, const char *fmt, ...) TLM_PRINTF(3, 4);
/* The error misusing an undefined raises (jinja2's UndefinedError). */
tlm_status tlm_jerr_undef(tlm_jctx *c, tlm_jv v);

tlm_status tlm_jframe_set(tlm_jctx *c, tlm_jframe *f, const char *name, tlm_jv v);
const tlm_jv *tlm_jframe_lookup(const tlm_jframe *f, const char *name);
tlm_status tlm_jframe_new(tlm_jctx *c, tlm_jframe *parent, tlm_jframe **out);

/* Renders root with the variables in vars (a JSON object) into out. */
tlm_status tlm_jinja_render(const tlm_jnode *root, const json_t *vars, const tlm_jlimits *lim,
                            tlm_buf *out, tlm_error *err);

/* jinja_eval.c: statements; jinja_expr.c: expressions. */
tlm_status tlm_jeval_body(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *body);
tlm_status tlm_jeval(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, tlm_jv *out);
tlm_status tlm_jeval_filter(tlm_jctx *c, tlm_jframe *f, const tlm_jnode *n, const tlm_jv *input,
                            tlm_jv *out);
/* Calls any callable value. */
tlm_status tlm_jcall_value(tlm_jctx *c, tlm_jv fn, const tlm_jargs *a, tlm_jv *out);
tlm_status tlm_jcall_macro(tlm_jctx *c, const tlm_jfunc *fn, const tlm_jargs *a, tlm_jv *out);
/* jinja2's environment.getattr (a.b) and getitem (a[b]). */
tlm_status tlm_jgetattr(tlm_jctx *c, tlm_jv obj, const char *name, tlm_jv *out);
tlm_status tlm_jgetitem(tlm_jctx *c, tlm_jv obj, tlm_jv key, tlm_jv *out);
/* Binary operators with Python semantics. */
tlm_status tlm_jbinop(tlm_jctx *c, tlm_jop op, tlm_jv a, tlm_jv b, tlm_jv *out);
tlm_status tlm_jcontains(tlm_jctx *c, tlm_jv container, tlm_jv item, bool *out);
tlm_status tlm_jstep(tlm_jctx *c);
/* Charges work proportional to n bytes (one step per KiB) to the step
 * budget: string scans inside loops must not add up to hours. */
tlm_status tlm_jcharge(tlm_jctx *c, size_t n);

/* jinja_filters.c / jinja_builtins.c lookups: NULL when unknown. */
tlm_jbuiltin tlm_jfilter_find(const char *name);
tlm_jbuiltin tlm_jfilter_seq_find(const char *name); /* jinja_filters_seq.c */
tlm_jtest_fn tlm_jtest_find(const char *name);
/* Is name a filter/test jinja2 knows, even one not implemented here? */
bool tlm_jfilter_known(const char *name);
bool tlm_jtest_known(const char *name);
tlm_status tlm_jcall_test(tlm_jctx *c, const char *name, tlm_jv v, const tlm_jargs *a, bool *out);
tlm_status tlm_jcall_filter(tlm_jctx *c, const char *name, tlm_jv v, const tlm_jargs *a,
                            tlm_jv *out);
/* Global functions (range, namespace, raise_exception, ...). */
tlm_status tlm_jglobals_install(tlm_jctx *c, tlm_jframe *f);
/* A Python method of a str/dict/list/loop value, bound to it.  *out is an
 * Undefined when there is none: with a NULL message when Python has no such
 * attribute, with a message when the sandbox blocks it (that one still
 * hides a dict key of the same name). */
tlm_status tlm_jmethod_find(tlm_jctx *c, tlm_jv obj, const char *name, tlm_jv *out);
/* The str part of tlm_jmethod_find (jinja_strmeth.c). */
tlm_status tlm_jstr_method(tlm_jctx *c, tlm_jv obj, const char *name, tlm_jv *out);

/* Argument access for builtins: positional index i or keyword name. */
bool tlm_jarg(const tlm_jargs *a, size_t i, const char *name, tlm_jv *out);
/* TLM_ERR_TYPE when a has more positional args than max_pos or a keyword
 * not in names (NULL-terminated). */
tlm_status tlm_jargs_check(tlm_jctx *c, const char *fn, const tlm_jargs *a, size_t max_pos,
                           const char *const *names);
/* Python's printf-style formatting (str % args) and str.format()
 * (jinja_strfmt.c). */
tlm_status tlm_jformat_percent(tlm_jctx *c, tlm_jv fmt, tlm_jv args, tlm_jv *out);
tlm_status tlm_jformat_brace(tlm_jctx *c, tlm_jv fmt, const tlm_jargs *a, tlm_jv *out);

#endif /* TLM_CHAT_JINJA_H */
