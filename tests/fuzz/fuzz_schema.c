/*
 * fuzz_schema.c - libFuzzer target for the JSON Schema compiler, which
 * reads request bodies (response_format, tool parameters, Ollama format):
 * any bytes must compile or fail with a status; compiled GBNF must parse
 * (the compiler may never emit a grammar its own parser rejects), and a
 * matcher over it must find a shortest completion from the start, since a
 * schema that compiles promises at least one valid document.
 */
#include "grammar/grammar.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *gbnf = NULL;
    tlm_error err;
    if (tlm_json_schema_to_gbnf((const char *)data, size, &gbnf, NULL, &err) != TLM_OK) {
        if (gbnf) abort(); /* a failed compile hands out nothing */
        return 0;
    }
    tlm_grammar *g = NULL;
    if (tlm_grammar_parse(gbnf, strlen(gbnf), NULL, &g, &err) != TLM_OK) abort();
    tlm_grammar_matcher *m = NULL;
    if (tlm_grammar_matcher_create(g, NULL, &m, &err) == TLM_OK) {
        tlm_buf c = {0};
        tlm_status st = tlm_grammar_matcher_shortest_completion(m, &c, &err);
        if (st == TLM_OK && !tlm_grammar_matches(g, c.data ? c.data : "", c.len)) abort();
        tlm_buf_free(&c);
        tlm_grammar_matcher_free(m);
    }
    tlm_grammar_free(g);
    tlm_free(gbnf);
    return 0;
}
