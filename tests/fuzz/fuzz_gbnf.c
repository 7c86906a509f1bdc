/*
 * fuzz_gbnf.c - libFuzzer target for the grammar engine.  The input is a
 * GBNF grammar, optionally followed by a NUL byte and a text: the grammar
 * must parse or fail with a status, and a parsed grammar must match the
 * text (byte by byte, with shortest completions on the way) without
 * crashing, leaking or hanging.
 */
#include "grammar/grammar.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    const char *nul = memchr(text, 0, size);
    size_t glen = nul ? (size_t)(nul - text) : size;
    tlm_grammar *g = NULL;
    tlm_error err;
    if (tlm_grammar_parse(text, glen, NULL, &g, &err) != TLM_OK) {
        if (g) abort(); /* a failed parse hands out nothing */
        return 0;
    }
    tlm_grammar_matcher *m = NULL;
    if (tlm_grammar_matcher_create(g, NULL, &m, &err) == TLM_OK) {
        const char *in = nul ? nul + 1 : "";
        size_t n = nul ? size - glen - 1 : 0;
        for (size_t i = 0; i < n && i < 256; i++) {
            if (tlm_grammar_matcher_accept_bytes(m, in + i, 1, &err) != TLM_OK) break;
            /* Every accepted prefix must still be completable. */
            tlm_buf c = {0};
            if (tlm_grammar_matcher_shortest_completion(m, &c, &err) == TLM_OK &&
                c.len != tlm_grammar_matcher_min_completion(m))
                abort();
            tlm_buf_free(&c);
        }
        tlm_grammar_matcher_free(m);
    }
    tlm_grammar_free(g);
    return 0;
}
