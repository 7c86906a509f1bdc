/*
 * json_schema_impl.h - internals shared by the JSON Schema compiler files:
 * the regex engine (regex_parse.c, regex.c), the string/number/format
 * generators (json_schema_str.c), objects and arrays (json_schema_obj.c),
 * anyOf/oneOf (json_schema_branch.c) and the schema walker (json_schema.c).
 *
 * Ownership: an rx_dfa owns its arrays (rx_dfa_free); a js_ctx is owned by
 * tlm_json_schema_to_gbnf for one compilation.
 */
#ifndef TLM_GRAMMAR_JSON_SCHEMA_IMPL_H
#define TLM_GRAMMAR_JSON_SCHEMA_IMPL_H

#include "grammar/grammar.h"

#include <jansson.h>

/* ---- Regular expressions (ECMAScript subset) as DFAs over code points ---- */

typedef struct rx_tr {
    uint32_t lo, hi, to; /* code points lo..hi go to state `to` */
} rx_tr;

typedef struct rx_dfa {
    uint32_t n_states, start;
    uint8_t *accept;  /* (n_states) */
    uint32_t *tr_off; /* (n_states + 1) state s's transitions: tr[tr_off[s] .. tr_off[s+1]) */
    rx_tr *tr;        /* sorted by lo, disjoint; only to live states */
} rx_dfa;

/* Compiles an ECMAScript pattern with JSON Schema's search semantics (the
 * pattern may match anywhere unless anchored with ^ and $).  Supported:
 * literals, escapes (\d \w \s and negations, \t \n \r \f \v \0 \xHH \uHHHH
 * \u{H..} \cX, escaped punctuation), classes with ranges and negation, .,
 * groups ( ) (?: ) (?<name> ), alternation, * + ? {n} {n,} {n,m} (lazy forms
 * too), ^ at the start and $ at the end of a top-level alternative.
 * Lookaround, backreferences, \b, \p{..} and anchors elsewhere are
 * TLM_ERR_UNSUPPORTED naming the construct.  A pattern nothing can match is
 * TLM_ERR_UNSUPPORTED too.  where prefixes messages. */
tlm_status rx_compile(const char *pattern, const char *where, rx_dfa *out, tlm_error *err);
void rx_dfa_free(rx_dfa *d);
/* The DFA of strings both a and b accept. */
tlm_status rx_dfa_intersect(const rx_dfa *a, const rx_dfa *b, rx_dfa *out, tlm_error *err);
/* Shortest and longest accepted lengths in code points (max UINT32_MAX
 * when unbounded). */
void rx_dfa_lengths(const rx_dfa *d, uint32_t *min, uint32_t *max);
/* Whether the UTF-8 string s is accepted. */
bool rx_dfa_matches(const rx_dfa *d, const char *s, size_t len);

/* Regex internals shared by regex_parse.c (text to syntax tree) and
 * regex.c (tree to NFA to DFA). */
#define RX_MAX_NFA 20000u
#define RX_CP_MAX 0x10FFFFu
enum { RN_SET, RN_CAT, RN_ALT, RN_REP, RN_EMPTY };

typedef struct rx_range {
    uint32_t lo, hi;
} rx_range;

typedef struct rx_node {
    int kind;
    uint32_t min, max;        /* RN_REP; max UINT32_MAX = unbounded */
    struct rx_node **kids;    /* RN_CAT, RN_ALT, RN_REP (one) */
    uint32_t n_kids;
    rx_range *set;            /* RN_SET */
    uint32_t n_set;
} rx_node;

typedef struct rx_parser {
    const char *s;
    size_t pos, len;
    const char *where;
    tlm_error *err;
    tlm_status st;
    uint32_t n_nodes;
} rx_parser;

void rx_node_free(rx_node *n);
rx_node *rx_fail(rx_parser *p, tlm_status code, const char *what); /* records, returns NULL */
int rx_peek(const rx_parser *p);
/* One top-level alternative (stops at '|', ')' or a final '$'). */
rx_node *rx_parse_cat(rx_parser *p, int depth);

/* ---- The schema compiler's context ---- */

typedef struct js_rule {
    char *name, *body; /* owned */
    uint32_t hash;
} js_rule;

typedef struct js_ctx {
    json_t *root; /* the whole document, for $ref */
    js_rule *rules;
    uint32_t n_rules, cap_rules;
    json_t *names;  /* rule name -> index */
    json_t *hints;  /* name base -> next numeric suffix to try */
    json_t *bodies; /* rule body -> index, to share equal rules */
    json_t *prims;  /* primitive ("ws", "value", ...) -> index */
    json_t *refs;   /* $ref string -> index, so recursive references terminate */
    tlm_buf *warnings;
    tlm_error *err;
    int depth;
    char path[256];   /* JSON pointer of the schema being compiled, for messages */
} js_ctx;

/* Adds `name ::= body` (name made unique from hint), or returns the name of
 * an existing rule with the same body.  *out is owned by ctx. */
tlm_status js_rule_add(js_ctx *c, const char *hint, const char *body, const char **out);
/* Reserves a unique rule name (for recursive $ref); define it later with
 * js_rule_define. */
tlm_status js_rule_reserve(js_ctx *c, const char *hint, const char **out);
tlm_status js_rule_define(js_ctx *c, const char *name, const char *body);
/* Makes sure a shared primitive (ws, value, string, char, number, ...) is
 * defined and returns its name. */
const char *js_prim(js_ctx *c, const char *which);
tlm_status js_fail(js_ctx *c, tlm_status code, const char *fmt, ...) TLM_PRINTF(3, 4);
void js_warn(js_ctx *c, const char *fmt, ...) TLM_PRINTF(2, 3);

/* Appends s as a GBNF literal "..." (escaped). */
tlm_status js_lit(tlm_buf *b, const char *s, size_t len);
/* Appends the GBNF literal of the JSON text of v (compact). */
tlm_status js_json_lit(tlm_buf *b, const json_t *v);

/* Appends a+b to the path used in messages; returns the length to restore
 * with c->path[len] = '\0'. */
size_t js_path_push(js_ctx *c, const char *a, const char *b);

/* ---- Generators ----
 * Each returns, in *out, the name of a rule (owned by c) matching the JSON
 * text of the values the schema s accepts (a subset of them). */

/* Helpers of json_schema.c. */
json_t *js_types_of(json_t *type);    /* "type" as a new array, NULL if malformed */
json_t *js_implied_types(json_t *s);  /* the types s's keywords imply (new array) */
bool js_has_constraints(json_t *s);   /* any keyword but annotations/definitions */
json_t *js_merge(js_ctx *c, json_t *a, json_t *b);       /* allOf of two (new ref) */
json_t *js_flatten(js_ctx *c, json_t *s, int depth);     /* $ref/allOf folded in */
tlm_status js_alternatives(js_ctx *c, const char *hint, const char **names, size_t n,
                           const char **out);
/* anyOf / oneOf (json_schema_branch.c). */
tlm_status js_gen_branches(js_ctx *c, json_t *s, const char *hint, const char **out);

/* Any schema (json_schema.c). */
tlm_status js_gen(js_ctx *c, json_t *s, const char *hint, const char **out);
/* The object and array parts of s (json_schema_obj.c). */
tlm_status js_gen_object(js_ctx *c, json_t *s, const char *hint, const char **out);
tlm_status js_gen_array(js_ctx *c, json_t *s, const char *hint, const char **out);


/* A string schema: minLength, maxLength, pattern and format of s (any may be
 * absent).  *out is a rule name. */
tlm_status js_gen_string(js_ctx *c, json_t *s, const char *hint, const char **out);
/* A number or integer schema with its bounds. */
tlm_status js_gen_number(js_ctx *c, json_t *s, bool integer, const char *hint, const char **out);
/* The rule for an object key that is none of the keys in `avoid` (a JSON
 * array of strings, may be NULL). */
tlm_status js_gen_other_key(js_ctx *c, json_t *avoid, const char **out);

#endif /* TLM_GRAMMAR_JSON_SCHEMA_IMPL_H */
