/*
 * test_tokenizer.c - the tokenizer on small hand-made vocabularies, where
 * every expected token follows from the algorithm's definition by hand:
 * BPE merges by rank (leftmost first), SentencePiece merges by score with
 * byte fallback, special tokens with parsing on and off, BOS/EOS flags,
 * UTF-8 repair (the WHATWG decoder's rules), the streaming detokenizer on
 * characters split across tokens, and errors for malformed metadata.
 * The real Qwen and Gemma tokenizers are checked against Hugging Face by
 * tokenizer_vs_hf.test.sh and test_hf_import.c.
 */
#include "core/util.h"
#include "gguf/gguf.h"
#include "test.h"
#include "tokenizer/tok_impl.h"
#include "tokenizer/tokenizer.h"

#include <utf8proc.h>

/* ---- Building vocabularies through a real GGUF file ---- */

typedef struct spec {
    const char *model, *pre;
    const char *const *tokens;
    int n;
    const int32_t *types; /* NULL: all normal */
    const float *scores;  /* NULL: none */
    const char *const *merges;
    int n_merges;
    int bos, eos, unk;    /* -1: key absent */
    int add_bos, add_eos; /* -1: key absent */
} spec;

typedef tlm_status (*tweak_fn)(tlm_gguf_writer *w);

static tlm_status write_spec(const spec *s, tweak_fn tweak, const char *path, tlm_error *err) {
    tlm_gguf_writer *w;
    if (tlm_gguf_writer_create(&w)) return TLM_ERR_NOMEM;
    tlm_status st = TLM_OK;
    if (s->model) st = tlm_gguf_set_str(w, "tokenizer.ggml.model", s->model);
    if (!st && s->pre) st = tlm_gguf_set_str(w, "tokenizer.ggml.pre", s->pre);
    if (!st && s->tokens)
        st = tlm_gguf_set_arr_str(w, "tokenizer.ggml.tokens", s->tokens, (uint64_t)s->n);
    if (!st && s->types)
        st = tlm_gguf_set_arr(w, "tokenizer.ggml.token_type", TLM_GGUF_I32, s->types,
                              (uint64_t)s->n);
    if (!st && s->scores)
        st = tlm_gguf_set_arr(w, "tokenizer.ggml.scores", TLM_GGUF_F32, s->scores, (uint64_t)s->n);
    if (!st && s->merges)
        st = tlm_gguf_set_arr_str(w, "tokenizer.ggml.merges", s->merges, (uint64_t)s->n_merges);
    if (!st && s->bos >= 0)
        st = tlm_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)s->bos);
    if (!st && s->eos >= 0)
        st = tlm_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)s->eos);
    if (!st && s->unk >= 0)
        st = tlm_gguf_set_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)s->unk);
    if (!st && s->add_bos >= 0)
        st = tlm_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", s->add_bos);
    if (!st && s->add_eos >= 0)
        st = tlm_gguf_set_bool(w, "tokenizer.ggml.add_eos_token", s->add_eos);
    if (!st && tweak) st = tweak(w);
    if (!st) st = tlm_gguf_writer_write(w, path, NULL, NULL, err);
    tlm_gguf_writer_free(w);
    return st;
}

static tlm_status load_spec(const spec *s, tweak_fn tweak, tlm_vocab **out, tlm_error *err) {
    char path[512];
    static int seq;
    snprintf(path, sizeof path, "%s/vocab%d.gguf", test_tmp_dir(), seq++);
    *out = NULL;
    tlm_status st = write_spec(s, tweak, path, err);
    if (st) return st;
    tlm_gguf *g;
    if ((st = tlm_gguf_open(path, &g, err))) return st;
    st = tlm_vocab_load(g, out, err);
    tlm_gguf_free(g);
    remove(path);
    return st;
}

/* A byte-level BPE vocabulary: byte-level text ("Ġ" is a space). */
static const char *const BPE_TOKENS[] = {
    "a", "b", "c", "Ġ", "aa", "aaaa", "ab", "Ġa", "Ġab", "<", "|", ">", "e", "n", "d",
    "Ã", "©", "Ã©", "<|end|>", "<|start|>", "<|end|>>", "[PAD]",
};
enum {
    B_A, B_B, B_C, B_SP, B_AA, B_AAAA, B_AB, B_SPA, B_SPAB, B_LT, B_BAR, B_GT, B_E, B_N_, B_D,
    B_C3, B_A9, B_EACUTE, B_END, B_START, B_ENDGT, B_PAD, B_N,
};
static const int32_t BPE_TYPES[B_N] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                       1, 1, 1, 1, 1, 1, 1, 3, 3, 4, 5};
static const char *const BPE_MERGES[] = {"a a", "aa aa", "a b", "Ġ a", "Ġa b", "Ã ©"};

static spec bpe_spec(void) {
    return (spec){.model = "gpt2",
                  .pre = "gpt2",
                  .tokens = BPE_TOKENS,
                  .n = B_N,
                  .types = BPE_TYPES,
                  .merges = BPE_MERGES,
                  .n_merges = 6,
                  .bos = B_START,
                  .eos = B_END,
                  .unk = -1,
                  .add_bos = -1,
                  .add_eos = -1};
}

static bool ids_eq(const int32_t *got, size_t n, const int32_t *want, size_t wn) {
    if (n != wn) return false;
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) return false;
    return true;
}

static void print_ids(const char *label, const int32_t *ids, size_t n) {
    fprintf(stderr, "  %s:", label);
    for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

#define EXPECT_TOKENS(v, text, len, add, parse, ...)                                               \
    do {                                                                                           \
        static const int32_t want_[] = {__VA_ARGS__};                                              \
        int32_t *got_;                                                                             \
        size_t n_;                                                                                 \
        ASSERT_OK(tlm_tokenize(v, text, len, add, parse, &got_, &n_, NULL));                       \
        bool ok_ = ids_eq(got_, n_, want_, TLM_ARRAY_LEN(want_));                                  \
        if (!ok_) {                                                                                \
            print_ids("got ", got_, n_);                                                           \
            print_ids("want", want_, TLM_ARRAY_LEN(want_));                                        \
        }                                                                                          \
        tlm_free(got_);                                                                            \
        ASSERT_MSG(ok_, "tokens of \"%s\" differ", text);                                          \
    } while (0)

/* ---- BPE ---- */

TEST(bpe_merges_by_rank_leftmost_first) {
    spec s = bpe_spec();
    tlm_vocab *v;
    ASSERT_OK(load_spec(&s, NULL, &v, NULL));
    /* "aaa": the two (a,a) pairs tie; the left one merges first. */
    EXPECT_TOKENS(v, "aaa", 3, false, false, B_AA, B_A);
    /* 7 a's: aa aa aa a, then aaaa aa a. */
    EXPECT_TOKENS(v, "aaaaaaa", 7, false, false, B_AAAA, B_AA, B_A);
    /* "ab ab" is two pieces, "ab" and " ab"; in the second, a+b (rank 2)
     * beats Ġ+a (rank 3), and nothing joins Ġ to ab. */
    EXPECT_TOKENS(v, "ab ab", 5, false, false, B_AB, B_SP, B_AB);
    /* " ac": Ġ+a, and the merge "Ġa b" cannot apply. */
    EXPECT_TOKENS(v, "ab ac", 5, false, false, B_AB, B_SPA, B_C);
    /* "aab": (a,a) rank 0 beats (a,b) rank 2. */
    EXPECT_TOKENS(v, "aab", 3, false, false, B_AA, B_B);
    /* Byte-level: é is bytes C3 A9, whose characters are "Ã" and "©". */
    EXPECT_TOKENS(v, "\xC3\xA9", 2, false, false, B_EACUTE);
    tlm_vocab_free(v);
}

/* Pieces longer than the linear path's limit use the heap: same rules. */
TEST(bpe_long_piece_heap_path) {
    spec s = bpe_spec();
    tlm_vocab *v;
    ASSERT_OK(load_spec(&s, NULL, &v, NULL));
    char text[402];
    for (int len = 60; len <= 401; len += 67) {
        memset(text, 'a', (size_t)len);
        int32_t *ids;
        size_t n;
        ASSERT_OK(tlm_tokenize(v, text, (size_t)len, false, false, &ids, &n, NULL));
        /* len/4 "aaaa", then "aa" if len%4 >= 2, then "a" if odd. */
        size_t want = (size_t)(len / 4 + (len % 4 >= 2) + (len % 2));
        ASSERT_EQ(n, want);
        for (int i = 0; i < len / 4; i++) ASSERT_EQ(ids[i], B_AAAA);
        if (len % 2) ASSERT_EQ(ids[n - 1], B_A);
        tlm_free(ids);
    }
    tlm_vocab_free(v);
}

TEST(bpe_missing_byte_without_unk_is_dropped) {
    spec s = bpe_spec();
    tlm_vocab *v;
    ASSERT_OK(load_spec(&s, NULL, &v, NULL));
    /* "z" has no token and the vocabulary has no UNK. */
    EXPECT_TOKENS(v, "azb", 3, false, false, B_A, B_B);
    tlm_vocab_free(v);
}

/* The three pre-tokenizers differ on digits (one, up to three, any number
 * per piece) and on contractions (case-insensitive for qwen2/llama3). */
TEST(bpe_pre_tokenizers) {
    static const char *const toks[] = {"1", "2", "3", "4", "5", "12", "123", "34", "45", "'", "S", "'S"};
    enum { D1, D2, D3, D4, D5, D12, D123, D34, D45, QUOTE, CAP_S, QS, N };
    static const char *const merges[] = {"3 4", "1 2", "12 3", "4 5", "' S"};
    spec s = {.model = "gpt2", .tokens = toks, .n = N, .merges = merges, .n_merges = 5, .bos = -1,
              .eos = -1, .unk = -1, .add_bos = -1, .add_eos = -1};
    tlm_vocab *v;
    s.pre = "qwen2";
    ASSERT_OK(load_spec(&s, NULL, &v, NULL));
    EXPECT_TOKENS(v, "12345'S", 7, false, false, D1, D2, D3, D4, D5, QS);
    tlm_vocab_free(v);
    s.pre = "llama-bpe";
    ASSERT_OK(load_spec(&s, NULL, &v, NULL));
    EXPECT_TOKENS(v, "12345'S", 7, false, false, D123, D45, QS);
    tlm_vocab_free(v);
    s.pre = "gpt2";
    ASSERT_OK(load_spec(&s, NULL, &v, NULL));
    EXPECT_TOKENS(v, "12345'S", 7, false, false, D12, D34, D5, QUOTE, CAP_S);
    ASSERT_STR_EQ(tlm_vocab_pre_name(v), "gpt2");
    tlm_vocab_free(v);
}

/* ---- Special tokens and BOS/EOS ---- */

TEST(special_tokens_parsed_only_when_asked) {
    spec s = bpe_spec();
    tlm_vocab *v;
    ASSERT_OK(load_spec(&s, NULL, &v, NULL));
    const char *t = "a<|end|>ab<|end|>>";
    EXPECT_TOKENS(v, t, strlen(t), false, true, B_A, B_END, B_AB, B_ENDGT);
    /* Off: the same text is characters. */
    EXPECT_TOKENS(v, t, strlen(t), false, false, B_A, B_LT, B_BAR, B_E, B_N_, B_D, B_BAR, B_GT,
                  B_AB, B_LT, B_BAR, B_E, B_N_, B_D, B_BAR, B_GT, B_GT);
    /* An unfinished special token is text even when parsing. */
    EXPECT_TOKENS(v, "<|end|", 6, false, true, B_LT, B_BAR, B_E, B_N_, B_D, B_BAR);
    /* Decoding renders control tokens only when asked; unused never. */
    static const int32_t ids[] = {B_A, B_END, B_PAD, B_ENDGT, B_B};
    char *out;
    size_t len;
    ASSERT_OK(tlm_detokenize(v, ids, 5, true, &out, &len, NULL));
    ASSERT_STR_EQ(out, "a<|end|><|end|>>b");
    tlm_free(out);
    ASSERT_OK(tlm_detokenize(v, ids, 5, false, &out, &len, NULL));
    ASSERT_STR_EQ(out, "a<|end|>>b"); /* user-defined tokens are text */
    tlm_free(out);
    tlm_vocab_free(v);
}

TEST(bos_eos_flags) {
    spec s = bpe_spec();
    tlm_vocab *v;
    /* A BPE file without add_bos_token adds nothing. */
    ASSERT_OK(load_spec(&s, NULL, &v, NULL));
    ASSERT(!tlm_vocab_add_bos(v));
    EXPECT_TOKENS(v, "ab", 2, true, false, B_AB);
    tlm_vocab_free(v);
    s.add_bos = 1;
    s.add_eos = 1;
    ASSERT_OK(load_spec(&s, NULL, &v, NULL));
    EXPECT_TOKENS(v, "ab", 2, true, false, B_START, B_AB, B_END);
    EXPECT_TOKENS(v, "ab", 2, false, false, B_AB);
    EXPECT_TOKENS(v, "", 0, true, false, B_START, B_END);
    ASSERT(tlm_vocab_is_eog(v, B_END));
    ASSERT(!tlm_vocab_is_eog(v, B_START));
    tlm_vocab_free(v);
}

TEST(tokenize_into_reports_needed_size) {
    spec s = bpe_spec();
    tlm_vocab *v;
    ASSERT_OK(load_spec(&s, NULL, &v, NULL));
    int32_t ids[2];
    size_t n = 0;
    tlm_error err = {0};
    ASSERT_EQ(tlm_tokenize_into(v, "ab ac ac", 8, false, false, ids, 2, &n, &err), TLM_ERR_RANGE);
    ASSERT_EQ(n, 5);
    ASSERT_OK(tlm_tokenize_into(v, " ac", 3, false, false, ids, 2, &n, NULL));
    ASSERT_EQ(n, 2);
    ASSERT_EQ(ids[0], B_SPA);
    ASSERT_EQ(ids[1], B_C);
    tlm_vocab_free(v);
}

/* ---- SentencePiece ---- */

/* <unk> <s> </s>, the 256 byte tokens, then pieces with scores. */
enum {
    S_UNK, S_BOS, S_EOS, S_BYTE0, S_MS = S_BYTE0 + 256, S_A, S_B, S_C, S_AB, S_ABC, S_MSAB,
    S_MSMS, S_CTRL, S_N,
};
static const char *SPM_TOKENS[S_N];
static int32_t SPM_TYPES[S_N];
static float SPM_SCORES[S_N];

static spec spm_spec(void) {
    static char bytes[256][8];
    static const char *const pieces[] = {"▁", "a", "b", "c", "ab", "abc", "▁ab", "▁▁", "<ctrl>"};
    static const float scores[] = {-10, -20, -21, -22, -1, -2, -3, -4, 0};
    SPM_TOKENS[S_UNK] = "<unk>";
    SPM_TOKENS[S_BOS] = "<s>";
    SPM_TOKENS[S_EOS] = "</s>";
    SPM_TYPES[S_UNK] = TLM_TOKEN_UNKNOWN;
    SPM_TYPES[S_BOS] = SPM_TYPES[S_EOS] = TLM_TOKEN_CONTROL;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        SPM_TOKENS[S_BYTE0 + b] = bytes[b];
        SPM_TYPES[S_BYTE0 + b] = TLM_TOKEN_BYTE;
    }
    for (int i = 0; i < 9; i++) {
        SPM_TOKENS[S_MS + i] = pieces[i];
        SPM_TYPES[S_MS + i] = i == 8 ? TLM_TOKEN_CONTROL : TLM_TOKEN_NORMAL;
        SPM_SCORES[S_MS + i] = scores[i];
    }
    return (spec){.model = "llama",
                  .tokens = SPM_TOKENS,
                  .n = S_N,
                  .types = SPM_TYPES,
                  .scores = SPM_SCORES,
                  .bos = S_BOS,
                  .eos = S_EOS,
                  .unk = S_UNK,
                  .add_bos = -1,
                  .add_eos = -1};
}

static tlm_status no_space_prefix(tlm_gguf_writer *w) {
    return tlm_gguf_set_bool(w, "tokenizer.ggml.add_space_prefix", false);
}

TEST(spm_merges_by_score) {
    spec s = spm_spec();
    tlm_vocab *v;
    ASSERT_OK(load_spec(&s, no_space_prefix, &v, NULL));
    /* SPM defaults: BOS added.  "ab abc" -> ab ▁ a b c: "ab" (-1) merges
     * first at both places; then "abc" (-2) beats "▁ab" (-3). */
    EXPECT_TOKENS(v, "ab abc", 6, true, false, S_BOS, S_AB, S_MS, S_ABC);
    /* "▁ab" wins when "abc" is not possible. */
    EXPECT_TOKENS(v, "a ab", 4, false, false, S_A, S_MSAB);
    /* Two spaces: "▁▁" (-4) before anything joins the second ▁ to "ab"?
     * No: "ab" (-1) first, then "▁ab" (-3) beats "▁▁" (-4). */
    EXPECT_TOKENS(v, "a  ab", 5, false, false, S_A, S_MS, S_MSAB);
    tlm_vocab_free(v);
}

TEST(spm_byte_fallback_and_unk) {
    spec s = spm_spec();
    tlm_vocab *v;
    ASSERT_OK(load_spec(&s, no_space_prefix, &v, NULL));
    /* é is not a piece: its UTF-8 bytes come out as byte tokens. */
    EXPECT_TOKENS(v, "a\xC3\xA9", 3, false, false, S_A, S_BYTE0 + 0xC3, S_BYTE0 + 0xA9);
    char *out;
    size_t len;
    static const int32_t ids[] = {S_BOS, S_A, S_BYTE0 + 0xC3, S_BYTE0 + 0xA9, S_MSAB};
    ASSERT_OK(tlm_detokenize(v, ids, 5, false, &out, &len, NULL));
    ASSERT_STR_EQ(out, "a\xC3\xA9 ab");
    tlm_free(out);
    tlm_vocab_free(v);
    /* Without the byte token for 0xA9 the character becomes one UNK. */
    spec s2 = spm_spec();
    SPM_TYPES[S_BYTE0 + 0xA9] = TLM_TOKEN_NORMAL;
    SPM_TOKENS[S_BYTE0 + 0xA9] = "not-a-byte";
    ASSERT_OK(load_spec(&s2, no_space_prefix, &v, NULL));
    EXPECT_TOKENS(v,
                  "\xC3\xA9"
                  "b",
                  3, false, false, S_UNK, S_B);
    tlm_vocab_free(v);
}

TEST(spm_space_prefix) {
    spec s = spm_spec();
    tlm_vocab *v;
    /* Default for SPM files: a space is put before the text (and after
     * special tokens), and taken off the first piece when decoding. */
    ASSERT_OK(load_spec(&s, NULL, &v, NULL));
    EXPECT_TOKENS(v, "ab", 2, false, false, S_MSAB);
    EXPECT_TOKENS(v, "ab<ctrl>ab", 10, false, true, S_MSAB, S_CTRL, S_MSAB);
    int32_t *ids;
    size_t n, len;
    char *out;
    ASSERT_OK(tlm_tokenize(v, "ab c", 4, true, false, &ids, &n, NULL));
    ASSERT_OK(tlm_detokenize(v, ids, n, false, &out, &len, NULL));
    ASSERT_STR_EQ(out, "ab c");
    tlm_free(out);
    tlm_free(ids);
    tlm_vocab_free(v);
}

/* ---- UTF-8 repair ---- */

/* Expected outputs follow the WHATWG Encoding Standard's UTF-8 decoder:
 * one U+FFFD per maximal subpart of an ill-formed sequence ("R" below). */
#define R "\xEF\xBF\xBD"
static const struct {
    const char *in, *out;
} UTF8_CASES[] = {
    {"plain", "plain"},
    {"\x80", R},
    {"\xBF\x80", R R},
    {"\xC0\xAF", R R},   /* overlong lead bytes are never valid */
    {"\xC2", R},         /* truncated at the end */
    {"\xC3\x28", R "("}, /* the byte after a broken sequence is kept */
    {"\xE2\x82", R},     /* a truncated 3-byte sequence is one subpart */
    {"\xE2\x82\x28", R "("},
    {"\xE0\x80\x80", R R R}, /* overlong: E0 needs A0..BF next */
    {"\xED\xA0\x80", R R R}, /* surrogate: ED needs 80..9F next */
    {"\xF0\x9F\x98", R},
    {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},
    {"\xF4\x90\x80\x80", R R R R}, /* above U+10FFFF */
    {"\xF8\x88\x80\x80\x80", R R R R R},
    {"\xFF\xFE", R R},
    {"a\xE4\xB8\xAD"
     "b\xE4\xB8",
     "a\xE4\xB8\xAD"
     "b" R},
    {"\xEF\xBB\xBF"
     "bom",
     "\xEF\xBB\xBF"
     "bom"}, /* a BOM is a character like any */
};

TEST(utf8_repair_whatwg) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(UTF8_CASES); i++) {
        tlm_buf b = {0};
        ASSERT_OK(tlm_utf8_sanitize(UTF8_CASES[i].in, strlen(UTF8_CASES[i].in), &b));
        ASSERT_MSG(b.len == strlen(UTF8_CASES[i].out) && !memcmp(b.data, UTF8_CASES[i].out, b.len),
                   "case %zu", i);
        /* The streaming decoder agrees, whatever the chunking. */
        for (size_t cut = 0; cut <= strlen(UTF8_CASES[i].in); cut++) {
            tlm_utf8_stream st = {0};
            char out[64];
            size_t w = tlm_utf8_stream_feed(&st, (const uint8_t *)UTF8_CASES[i].in, cut, out);
            w += tlm_utf8_stream_feed(&st, (const uint8_t *)UTF8_CASES[i].in + cut,
                                      strlen(UTF8_CASES[i].in) - cut, out + w);
            w += tlm_utf8_stream_finish(&st, out + w);
            ASSERT_MSG(w == b.len && !memcmp(out, b.data, w), "case %zu cut %zu", i, cut);
        }
        tlm_buf_free(&b);
    }
}

TEST(invalid_utf8_tokenizes_as_replacement) {
    spec s = spm_spec();
    tlm_vocab *v;
    ASSERT_OK(load_spec(&s, no_space_prefix, &v, NULL));
    int32_t *a, *b;
    size_t na, nb;
    ASSERT_OK(tlm_tokenize(v,
                           "a\xFF\xE4\xB8"
                           "b",
                           5, false, false, &a, &na, NULL));
    ASSERT_OK(tlm_tokenize(v, "a" R R "b", 8, false, false, &b, &nb, NULL));
    ASSERT(ids_eq(a, na, b, nb));
    ASSERT_EQ(na, 8); /* a, 2 x three byte tokens, b */
    tlm_free(a);
    tlm_free(b);
    tlm_vocab_free(v);
}

/* NFC applied stretch by stretch equals NFC of the whole text (utf8proc's,
 * run directly), on random mixes of what NFC acts on and what it skips. */
TEST(nfc_by_stretches_equals_whole) {
    static const char *const parts[] = {
        "a", "e", " ", "\xE4\xB8\xAD", "\xCC\x81", "\xCC\xA3", "\xCC\x88", "\xC3\xA9",
        "\xE1\x84\x92", "\xE1\x85\xA1", "\xE1\x86\xAB", "\xED\x95\x9C", "\xE2\x84\xAB",
        "\xEF\xAC\x81", "\xE0\xA5\x98", "\xEF\xA4\x80", "\xE0\xAD\x87", "\xE0\xAC\xBE", "x\n",
        "\xF0\x9F\x98\x80", "\xD7\x90\xD6\xB7", "\xE3\x81\x8B", "\xE3\x82\x99",
    };
    uint64_t seed = 12345;
    for (int iter = 0; iter < 3000; iter++) {
        tlm_buf in = {0}, got = {0};
        int n = 1 + (int)(iter % 12);
        for (int k = 0; k < n; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            const char *p = parts[(seed >> 33) % TLM_ARRAY_LEN(parts)];
            tlm_buf_append(&in, p, strlen(p));
        }
        size_t from = tlm_nfc_first_unsafe(in.data, in.len);
        if (from < in.len) ASSERT_OK(tlm_nfc_append(in.data, in.len, from, &got));
        else tlm_buf_append(&got, in.data, in.len);
        utf8proc_uint8_t *want = NULL;
        utf8proc_ssize_t wn = utf8proc_map((const utf8proc_uint8_t *)in.data, (utf8proc_ssize_t)in.len,
                                           &want, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        ASSERT(wn >= 0);
        ASSERT_MSG((size_t)wn == got.len && !memcmp(want, got.data, got.len), "iteration %d", iter);
        free(want);
        tlm_buf_free(&in);
        tlm_buf_free(&got);
    }
}

/* ---- Streaming detokenizer ---- */

TEST(detok_stream_holds_split_characters) {
    spec s = spm_spec();
    tlm_vocab *v;
    ASSERT_OK(load_spec(&s, no_space_prefix, &v, NULL));
    tlm_detok *d;
    ASSERT_OK(tlm_detok_create(v, false, &d));
    const char *out;
    size_t n;
    /* 😀 = F0 9F 98 80, one byte token at a time: nothing until the end. */
    static const uint8_t smile[4] = {0xF0, 0x9F, 0x98, 0x80};
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(tlm_detok_push(d, S_BYTE0 + smile[i], &out, &n));
        ASSERT_EQ(n, 0);
    }
    ASSERT_OK(tlm_detok_push(d, S_BYTE0 + smile[3], &out, &n));
    ASSERT_EQ(n, 4);
    ASSERT(!memcmp(out, smile, 4));
    /* A sequence broken by a normal token: U+FFFD, then the token. */
    ASSERT_OK(tlm_detok_push(d, S_BYTE0 + 0xE4, &out, &n));
    ASSERT_EQ(n, 0);
    ASSERT_OK(tlm_detok_push(d, S_A, &out, &n));
    ASSERT_EQ(n, 4);
    ASSERT(!memcmp(out, R "a", 4));
    /* A byte that can never start a character comes out at once. */
    ASSERT_OK(tlm_detok_push(d, S_BYTE0 + 0xFF, &out, &n));
    ASSERT_EQ(n, 3);
    /* An unfinished character at the end: flush gives U+FFFD. */
    ASSERT_OK(tlm_detok_push(d, S_BYTE0 + 0xC3, &out, &n));
    ASSERT_EQ(n, 0);
    tlm_detok_flush(d, &out, &n);
    ASSERT_EQ(n, 3);
    ASSERT(!memcmp(out, R, 3));
    /* Bad ids are refused without disturbing the stream. */
    ASSERT_EQ(tlm_detok_push(d, S_N, &out, &n), TLM_ERR_RANGE);
    ASSERT_EQ(tlm_detok_push(d, -1, &out, &n), TLM_ERR_RANGE);
    tlm_detok_free(d);
    tlm_vocab_free(v);
}

/* Pushing ids one by one gives exactly the whole-text decode, and every
 * piece is valid UTF-8 on its own. */
TEST(detok_stream_equals_detokenize) {
    spec s = spm_spec();
    tlm_vocab *v;
    ASSERT_OK(load_spec(&s, no_space_prefix, &v, NULL));
    const char *text = "ab \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80 abc\xC3\xA9  a";
    int32_t *ids;
    size_t n, len;
    ASSERT_OK(tlm_tokenize(v, text, strlen(text), false, false, &ids, &n, NULL));
    char *whole;
    ASSERT_OK(tlm_detokenize(v, ids, n, false, &whole, &len, NULL));
    ASSERT_STR_EQ(whole, text);
    tlm_detok *d;
    ASSERT_OK(tlm_detok_create(v, false, &d));
    tlm_buf acc = {0};
    const char *out;
    size_t k;
    for (size_t i = 0; i < n; i++) {
        ASSERT_OK(tlm_detok_push(d, ids[i], &out, &k));
        ASSERT_EQ(tlm_utf8_valid_prefix(out, k), k);
        tlm_buf_append(&acc, out, k);
    }
    tlm_detok_flush(d, &out, &k);
    tlm_buf_append(&acc, out, k);
    ASSERT_EQ(acc.len, len);
    ASSERT(!memcmp(acc.data, whole, len));
    tlm_buf_free(&acc);
    tlm_free(whole);
    tlm_free(ids);
    tlm_detok_free(d);
    tlm_vocab_free(v);
}

/* ---- Malformed metadata ---- */

static tlm_status bad_types_len(tlm_gguf_writer *w) {
    static const int32_t t[3] = {1, 1, 1};
    return tlm_gguf_set_arr(w, "tokenizer.ggml.token_type", TLM_GGUF_I32, t, 3);
}
static tlm_status bad_type_value(tlm_gguf_writer *w) {
    int32_t t[B_N];
    for (int i = 0; i < B_N; i++) t[i] = i == 4 ? 9 : 1;
    return tlm_gguf_set_arr(w, "tokenizer.ggml.token_type", TLM_GGUF_I32, t, B_N);
}
static tlm_status bad_scores_type(tlm_gguf_writer *w) {
    return tlm_gguf_set_arr_str(w, "tokenizer.ggml.scores", BPE_TOKENS, B_N);
}
static tlm_status bad_bos_range(tlm_gguf_writer *w) {
    return tlm_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 100000);
}
static tlm_status bad_bos_type(tlm_gguf_writer *w) {
    return tlm_gguf_set_str(w, "tokenizer.ggml.bos_token_id", "one");
}
static tlm_status bad_merge(tlm_gguf_writer *w) {
    static const char *const m[] = {"a a", "ab"};
    return tlm_gguf_set_arr_str(w, "tokenizer.ggml.merges", m, 2);
}
static tlm_status no_merges(tlm_gguf_writer *w) {
    tlm_gguf_unset(w, "tokenizer.ggml.merges");
    return TLM_OK;
}
static tlm_status no_tokens(tlm_gguf_writer *w) {
    tlm_gguf_unset(w, "tokenizer.ggml.tokens");
    return TLM_OK;
}
static tlm_status empty_tokens(tlm_gguf_writer *w) {
    return tlm_gguf_set_arr_str(w, "tokenizer.ggml.tokens", BPE_TOKENS, 0);
}
static tlm_status unknown_model(tlm_gguf_writer *w) {
    return tlm_gguf_set_str(w, "tokenizer.ggml.model", "bert");
}
static tlm_status unknown_pre(tlm_gguf_writer *w) {
    return tlm_gguf_set_str(w, "tokenizer.ggml.pre", "deepseek-llm");
}
static tlm_status add_bos_without_bos(tlm_gguf_writer *w) {
    tlm_gguf_unset(w, "tokenizer.ggml.bos_token_id");
    return tlm_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", true);
}

TEST(malformed_metadata_is_an_error) {
    static const struct {
        tweak_fn fn;
        tlm_status want;
        const char *msg;
    } cases[] = {
        {bad_types_len, TLM_ERR_FORMAT, "token_type has 3 entries"},
        {bad_type_value, TLM_ERR_FORMAT, "token_type[4] = 9"},
        {bad_scores_type, TLM_ERR_FORMAT, "scores must be an array of numbers"},
        {bad_bos_range, TLM_ERR_FORMAT, "bos_token_id = 100000"},
        {bad_bos_type, TLM_ERR_TYPE, "bos_token_id"},
        {bad_merge, TLM_ERR_FORMAT, "merges[1]"},
        {no_merges, TLM_ERR_FORMAT, "without tokenizer.ggml.merges"},
        {no_tokens, TLM_ERR_FORMAT, "tokenizer.ggml.tokens is missing"},
        {empty_tokens, TLM_ERR_FORMAT, "has 0 tokens"},
        {unknown_model, TLM_ERR_UNSUPPORTED, "\"bert\""},
        {unknown_pre, TLM_ERR_UNSUPPORTED, "\"deepseek-llm\""},
        {add_bos_without_bos, TLM_ERR_FORMAT, "no BOS"},
    };
    for (size_t i = 0; i < TLM_ARRAY_LEN(cases); i++) {
        spec s = bpe_spec();
        tlm_vocab *v = (tlm_vocab *)&v;
        tlm_error err = {0};
        tlm_status st = load_spec(&s, cases[i].fn, &v, &err);
        ASSERT_MSG(st == cases[i].want, "case %zu: status %d, want %d (%s)", i, st, cases[i].want,
                   err.msg);
        ASSERT(v == NULL);
        ASSERT_CONTAINS(err.msg, cases[i].msg);
    }
    /* A file with no tokenizer at all. */
    spec none = {.bos = -1, .eos = -1, .unk = -1, .add_bos = -1, .add_eos = -1};
    tlm_vocab *v;
    tlm_error err = {0};
    ASSERT_EQ(load_spec(&none, NULL, &v, &err), TLM_ERR_FORMAT);
    ASSERT_CONTAINS(err.msg, "tokenizer.ggml.model is missing");
}

TEST(detokenize_rejects_bad_ids) {
    spec s = bpe_spec();
    tlm_vocab *v;
    ASSERT_OK(load_spec(&s, NULL, &v, NULL));
    static const int32_t ids[] = {B_A, B_N};
    char *out = (char *)&out;
    size_t len;
    tlm_error err = {0};
    ASSERT_EQ(tlm_detokenize(v, ids, 2, false, &out, &len, &err), TLM_ERR_RANGE);
    ASSERT(out == NULL);
    ASSERT_CONTAINS(err.msg, "position 1");
    ASSERT_EQ(tlm_vocab_token_type(v, -5), TLM_TOKEN_UNDEFINED);
    size_t tl;
    ASSERT(tlm_vocab_token_text(v, B_N, &tl) == NULL);
    ASSERT_EQ(tlm_vocab_find(v, "Ġab", strlen("Ġab")), B_SPAB);
    ASSERT_EQ(tlm_vocab_find(v, "zz", 2), -1);
    tlm_vocab_free(v);
}

TEST_MAIN(TEST_ENTRY(bpe_merges_by_rank_leftmost_first), TEST_ENTRY(bpe_long_piece_heap_path),
          TEST_ENTRY(bpe_missing_byte_without_unk_is_dropped), TEST_ENTRY(bpe_pre_tokenizers),
          TEST_ENTRY(special_tokens_parsed_only_when_asked), TEST_ENTRY(bos_eos_flags),
          TEST_ENTRY(tokenize_into_reports_needed_size), TEST_ENTRY(spm_merges_by_score),
          TEST_ENTRY(spm_byte_fallback_and_unk), TEST_ENTRY(spm_space_prefix),
          TEST_ENTRY(utf8_repair_whatwg), TEST_ENTRY(invalid_utf8_tokenizes_as_replacement), TEST_ENTRY(nfc_by_stretches_equals_whole),
          TEST_ENTRY(detok_stream_holds_split_characters),
          TEST_ENTRY(detok_stream_equals_detokenize), TEST_ENTRY(malformed_metadata_is_an_error),
          TEST_ENTRY(detokenize_rejects_bad_ids))
