/*
 * vocab_hf.c - a grammar vocabulary from a Hugging Face tokenizer, for the
 * `tinylm grammar` command and tests that have no model file.
 *
 * The tokenizer module already imports Hugging Face tokenizers (the same
 * import a converted model goes through), decodes every token to its bytes
 * and knows the end-of-generation tokens, so this file only finds the
 * directory and hands over: tokenizer.json is parsed in one place.
 */
#include "grammar/grammar.h"
#include "tokenizer/tokenizer.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

tlm_status tlm_grammar_vocab_load_hf(const char *path, int32_t n_vocab, tlm_grammar_vocab **out,
                                     tlm_error *err) {
    *out = NULL;
    /* tlm_vocab_load_path takes the directory that holds tokenizer.json. */
    char dir[4096];
    struct stat sb;
    size_t n = strlen(path);
    if (n >= sizeof dir) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "%s: path too long", path);
    memcpy(dir, path, n + 1);
    if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        else snprintf(dir, sizeof dir, ".");
    }
    tlm_vocab *tv = NULL;
    tlm_status st = tlm_vocab_load_path(dir, &tv, err);
    if (!st) st = tlm_grammar_vocab_from_tokenizer(tv, n_vocab, out, err);
    tlm_vocab_free(tv);
    return st;
}
