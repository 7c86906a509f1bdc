/*
 * grammar_impl.h - data shared by the files of src/grammar/: the parser's
 * intermediate form (code points), the compiled byte-level grammar, and the
 * vocabulary trie.  Nothing outside src/grammar/ includes this.
 *
 * Ownership: a gir is owned by whoever called gir_init and released with
 * gir_deinit; a tlm_grammar owns every array it points to.
 */
#ifndef TLM_GRAMMAR_IMPL_H
#define TLM_GRAMMAR_IMPL_H

#include "grammar/grammar.h"

#define TLM_CP_MAX 0x10FFFFu
/* Size caps: a grammar is user input, so expansion ({m,n}) and matching must
 * stay bounded whatever the text says. */
#define GIR_MAX_ITEMS (4u << 20)
#define GIR_MAX_RULES (1u << 20)
#define GIR_MAX_REPEAT 100000u

/* ---- Intermediate form: rules over code-point sets ----
 * A rule body is a list of items; GIR_ALT separates alternatives.  Sets are
 * sorted, disjoint code-point ranges with surrogates removed. */
enum { GIR_SET = 0, GIR_REF = 1, GIR_ALT = 2 };
#define GIR_ITEM(kind, arg) (((uint32_t)(kind) << 30) | (uint32_t)(arg))
#define GIR_KIND(it) ((it) >> 30)
#define GIR_ARG(it) ((it)&0x3fffffffu)

typedef struct gir_range {
    uint32_t lo, hi;
} gir_range;

typedef struct gir_rule {
    char *name;      /* owned */
    uint32_t *items; /* owned */
    uint32_t n, cap;
    bool defined;
    uint32_t ref_off; /* text offset of a first reference, for "undefined" errors */
} gir_rule;

typedef struct gir {
    gir_rule *rules;
    uint32_t n_rules, cap_rules;
    gir_range *ranges; /* all sets' ranges, set i = ranges[set_off[i] .. set_off[i+1]) */
    uint32_t n_ranges, cap_ranges;
    uint32_t *set_off;
    uint32_t n_sets, cap_sets;
    uint64_t n_items; /* over all rules, checked against GIR_MAX_ITEMS */
    uint32_t *names;  /* open-addressing table of rule index + 1, by name */
    uint32_t names_cap, names_used;
} gir;

void gir_deinit(gir *ir);
/* Index of a new set made of the given ranges (normalised: sorted, merged,
 * surrogates removed; negate=true takes the complement first). */
tlm_status gir_add_set(gir *ir, const gir_range *r, uint32_t n, bool negate, uint32_t *out);
/* Index of the rule named name[0..len), created undefined if new. */
tlm_status gir_rule_get(gir *ir, const char *name, size_t len, uint32_t *out);
tlm_status gir_rule_new(gir *ir, const char *base, uint32_t *out);
tlm_status gir_push(gir *ir, uint32_t rule, uint32_t item);

/* Compiles ir into a byte-level grammar starting at rule root. */
tlm_status tlm_grammar_compile(const gir *ir, uint32_t root, tlm_grammar **out, tlm_error *err);

/* ---- Compiled grammar: byte level ----
 * elems is the concatenation of all rule bodies.  An element is a kind in
 * the top 2 bits and an argument below.  Each alternative ends with GE_ALT
 * or GE_END; both mean "end of this alternative" to the matcher. */
enum { GE_END = 0, GE_ALT = 1, GE_REF = 2, GE_BYTES = 3 };
#define GE_KIND(e) ((e) >> 30)
#define GE_ARG(e) ((e)&0x3fffffffu)
#define GE_MAKE(kind, arg) (((uint32_t)(kind) << 30) | (uint32_t)(arg))
#define GE_IS_END(e) (GE_KIND(e) <= GE_ALT)
#define G_INF 0x3fffffffu /* "no completion": larger than any real length */

struct tlm_grammar {
    uint32_t *elems; /* (n_elems) elems[0..1] = REF root, END: the start */
    uint32_t n_elems;
    uint64_t (*sets)[4]; /* (n_sets) 256-bit byte sets for GE_BYTES */
    uint32_t n_sets;
    uint32_t n_rules;
    uint32_t *alt_off;    /* (n_rules + 1) rule r's live alternatives are */
    uint32_t *alts;       /*   alts[alt_off[r] .. alt_off[r+1]) (start elements) */
    uint32_t *rule_min;   /* (n_rules) fewest bytes rule r can match */
    uint32_t *best_alt;   /* (n_rules) start element of an alternative achieving it */
    uint32_t *suffix_min; /* (n_elems) fewest bytes from here to the end of its alternative */
    char **names;         /* (n_rules) for messages */
    uint8_t cls[256];     /* byte -> class: bytes no set tells apart share a class */
    uint8_t cls_rep[256]; /* (n_cls) a byte of each class */
    uint32_t n_cls;
};

static inline bool g_set_has(const tlm_grammar *g, uint32_t set, uint8_t b) {
    return (g->sets[set][b >> 6] >> (b & 63)) & 1u;
}

/* ---- Vocabulary trie ----
 * Nodes are stored in depth-first pre-order, so a subtree is a contiguous
 * run [i, next[i]) and skipping it is one assignment. */
struct tlm_grammar_vocab {
    int32_t n_vocab;
    uint8_t *kind;     /* (n_vocab) tlm_gtok_kind */
    uint32_t *tok_off; /* (n_vocab + 1) token bytes in tok_bytes */
    char *tok_bytes;
    uint32_t n_nodes;
    uint8_t *node_byte;  /* (n_nodes) */
    uint16_t *node_depth; /* (n_nodes) 1 = child of the root */
    uint32_t *node_next; /* (n_nodes) index just past the subtree */
    int32_t *node_tok;   /* (n_nodes) first token ending here, or -1 */
    int32_t *tok_same;   /* (n_vocab) next token with the same bytes, or -1 */
    int32_t *eog;        /* (n_eog) */
    int32_t n_eog;
    uint32_t max_depth;
};

#endif /* TLM_GRAMMAR_IMPL_H */

/* ---- Matcher internals (matcher.c; used by token_mask.c) ----
 * A parse state is a set of stacks of element indices.  The top of every
 * stack is a GE_BYTES element (the next byte to match); lower entries are
 * where to continue in the enclosing alternatives.  The empty stack means
 * "the sentence is complete".  States are interned: equal sets share an id,
 * and transitions between ids are cached per byte class. */
#define GM_UNKNOWN (-2) /* transition not computed yet */
#define GM_DEAD (-1)

typedef struct gm_state {
    uint32_t off, len;       /* serialised stacks in pool: n, then (len, elems...)* */
    uint32_t hash;
    uint32_t minlen;         /* bytes of the shortest completion */
    int32_t *trans;          /* (n_cls) next state per byte class, lazily allocated */
    int32_t mask_slot;       /* cached mask, or -1 */
    uint32_t mask_max_after; /* with the mask: largest minlen after an allowed token */
    uint64_t *over;          /* allowed tokens that lengthen the shortest completion, */
    uint32_t n_over;         /*   as minlen_after << 32 | token, largest first (owned) */
    int32_t bmask_slot;      /* cached budget mask, or -1; valid for budgets */
    uint32_t b_lo, b_hi;     /*   b_lo..b_hi (the same tokens pass for all of them) */
    uint8_t accepting;       /* contains the empty stack */
    uint8_t done;            /* only the empty stack: nothing may follow */
} gm_state;

typedef struct gm_node {
    int32_t elem, parent;
} gm_node;

typedef struct gm_key {
    uint64_t hash;
    uint32_t off, len; /* in ser */
} gm_key;

struct tlm_grammar_matcher {
    const tlm_grammar *g;
    const tlm_grammar_vocab *v;
    gm_state *st; /* (n_st) interned states */
    uint32_t n_st, cap_st;
    uint32_t *pool; /* serialised stacks of all states */
    size_t pool_len, pool_cap;
    uint32_t *htab; /* state id + 1, open addressing */
    uint32_t hcap;
    int32_t cur, start;
    bool finished; /* EOG accepted */
    bool overflow; /* a transition hit a size limit and was treated as dead */
    /* scratch for computing a transition */
    struct gm_node *nd; /* stacks under construction, as linked lists */
    size_t n_nd, cap_nd;
    int32_t *work; /* (node, position) pairs still to settle */
    size_t n_work, cap_work;
    int32_t *out; /* settled stacks: top node, or -1 for the empty stack */
    size_t n_out, cap_out;
    struct gm_key *keys; /* one per settled stack, for sorting */
    size_t cap_keys;
    uint32_t *ser, *ser2; /* serialisation buffers */
    size_t cap_ser, cap_ser2;
    /* mask cache */
    uint32_t **slots;   /* (n_slots) masks, allocated on first use */
    int32_t *slot_owner; /* state id * 2 + (1 for a budget mask), or -1 */
    uint32_t n_slots, next_slot;
    /* trie-walk scratch, (max_depth + 1) */
    int32_t *w_state;
    int32_t **w_trans;
    tlm_grammar_stats stats;
};

/* The table of state q's transitions, allocated if needed (NULL: no memory). */
int32_t *gm_trans_table(tlm_grammar_matcher *m, int32_t q);
/* The state after byte class cls from state q (computing and caching it),
 * or GM_DEAD. */
int32_t gm_compute(tlm_grammar_matcher *m, int32_t q, uint32_t cls);
static inline int32_t gm_step(tlm_grammar_matcher *m, int32_t q, uint8_t byte) {
    uint32_t c = m->g->cls[byte];
    int32_t *t = gm_trans_table(m, q);
    if (!t) return GM_DEAD;
    return t[c] != GM_UNKNOWN ? t[c] : gm_compute(m, q, c);
}
/* Called between walks: drops all caches when they outgrow their cap. */
void gm_maybe_flush(tlm_grammar_matcher *m);
/* Fills mask by walking the trie from state q; a token is allowed when its
 * final state's minlen <= budget.  Returns the largest such minlen, and in
 * *min_rejected the smallest minlen of a token the budget rejected
 * (UINT32_MAX if none). */
typedef struct gm_over {
    uint64_t *v;
    size_t n, cap;
    uint32_t above; /* collect allowed tokens whose minlen_after > above */
    bool failed;    /* out of memory */
} gm_over;
uint32_t gm_walk(tlm_grammar_matcher *m, int32_t q, uint32_t budget, uint32_t *mask,
                 uint32_t *min_rejected, gm_over *over);
