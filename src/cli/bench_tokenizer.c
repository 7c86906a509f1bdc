/*
 * bench_tokenizer.c - encoding throughput of a model's tokenizer, single
 * threaded, on three kinds of text: English prose, Chinese prose and source
 * code, each a few MB generated from a fixed seed so runs are comparable.
 *
 * The texts are drawn word by word from Zipf-like distributions over word
 * and character lists, so repeated words are about as frequent as in real
 * text (what matters for a tokenizer is the mix of short common pieces and
 * long rare ones, not the meaning).
 */
#include "cli/bench_tokenizer.h"
#include "core/util.h"
#include "tokenizer/tokenizer.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint32_t rnd(uint32_t n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)((rng_state >> 11) % n);
}

/* An index in [0, n) with probability roughly proportional to 1/(i+1). */
static uint32_t zipf(uint32_t n) {
    uint32_t r = rnd(1u << 20);
    double u = (double)r / (1u << 20);
    uint32_t i = (uint32_t)(exp(u * log((double)n + 1)) - 1);
    return i < n ? i : n - 1;
}

static const char *const EN[] = {
    "the", "of", "and", "to", "a", "in", "is", "it", "you", "that", "he", "was", "for", "on",
    "are", "with", "as", "I", "his", "they", "be", "at", "one", "have", "this", "from", "or",
    "had", "by", "not", "word", "but", "what", "some", "we", "can", "out", "other", "were", "all",
    "there", "when", "up", "use", "your", "how", "said", "an", "each", "she", "which", "do",
    "their", "time", "if", "will", "way", "about", "many", "then", "them", "write", "would",
    "like", "so", "these", "her", "long", "make", "thing", "see", "him", "two", "has", "look",
    "more", "day", "could", "go", "come", "did", "number", "sound", "no", "most", "people", "my",
    "over", "know", "water", "than", "call", "first", "who", "may", "down", "side", "been", "now",
    "find", "government", "development", "understanding", "particularly", "experience",
    "information", "relationship", "environment", "language", "tokenizer", "performance",
    "throughput", "measurement", "significant", "approximately", "responsibility",
    "international", "characteristics", "questionnaire", "photosynthesis", "it's", "don't",
    "they're", "we've", "I'm", "you'll", "he'd", "1984", "2024", "3.14",
};

static const char ZH[] = "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得"
                         "可你年生自会那后能对着事"
                         "其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进"
                         "种将还分此心前面又定见只主"
                         "没公从知使全实手最意向相已力问机理电开各外战现长本期高样区工表明它物资料"
                         "比并解决社会主义经济研究";

static const char *const ZH_PUNCT[] = {"，", "。", "、", "；", "：", "！",
                                       "？", "「", "」", "《", "》"};

static void gen_english(tlm_buf *b, size_t size) {
    bool cap = true;
    while (b->len < size) {
        const char *w = EN[zipf(TLM_ARRAY_LEN(EN))];
        if (cap) {
            char c = w[0] >= 'a' && w[0] <= 'z' ? (char)(w[0] - 32) : w[0];
            tlm_buf_append(b, &c, 1);
            tlm_buf_append(b, w + 1, strlen(w) - 1);
        } else {
            tlm_buf_append(b, w, strlen(w));
        }
        cap = false;
        uint32_t r = rnd(100);
        if (r < 6) {
            tlm_buf_append(b, r < 4 ? ". " : r < 5 ? "? " : ".\n\n", r < 5 ? 2 : 3);
            cap = true;
        } else {
            tlm_buf_append(b, r < 10 ? ", " : " ", r < 10 ? 2 : 1);
        }
    }
}

static void gen_chinese(tlm_buf *b, size_t size) {
    size_t n_chars = (sizeof ZH - 1) / 3;
    while (b->len < size) {
        tlm_buf_append(b, ZH + 3 * zipf((uint32_t)n_chars), 3);
        if (rnd(100) < 7) {
            const char *p = ZH_PUNCT[zipf(TLM_ARRAY_LEN(ZH_PUNCT))];
            tlm_buf_append(b, p, strlen(p));
        }
        if (rnd(1000) < 3) tlm_buf_append(b, "\n", 1);
    }
}

static const char *const IDENTS[] = {"i",       "n",           "len",     "buf",  "count",
                                     "result",  "value",       "ctx",     "data", "size",
                                     "offset",  "tokens",      "vocab",   "node", "next",
                                     "user_id", "parseHeader", "MAX_LEN", "tmp",  "err"};

static void gen_code(tlm_buf *b, size_t size) {
    static const char *const LINES[] = {
        "for (size_t %s = 0; %s < %s; %s++) {",
        "if (%s == NULL || %s->%s < %u) return -1;",
        "%s = %s(%s, %u);",
        "}",
        "/* %s the %s before %s */",
        "return %s + %u;",
        "static int %s(const char *%s, size_t %s) {",
        "def %s(%s, %s=None):",
        "    %s.append(%s[%u])  # %s",
        "const %s = await %s(`%s/${%s}`);",
        "SELECT %s, COUNT(*) FROM %s WHERE %s > %u;",
        "printf(\"%s=%%d\\n\", %s);",
    };
    int depth = 0;
    while (b->len < size) {
        const char *f = LINES[rnd(TLM_ARRAY_LEN(LINES))];
        if (f[0] == '}' && depth > 0) depth--;
        for (int d = 0; d < depth; d++) tlm_buf_append(b, "    ", 4);
        const char *a[4];
        for (int k = 0; k < 4; k++) a[k] = IDENTS[zipf(TLM_ARRAY_LEN(IDENTS))];
        char line[256];
        int n = 0;
        /* Fill every %s/%u in order from a[] and a number. */
        for (const char *p = f; *p && n < 200; p++) {
            if (p[0] == '%' && p[1] == 's') {
                n += snprintf(line + n, sizeof line - (size_t)n, "%s", a[rnd(4)]);
                p++;
            } else if (p[0] == '%' && p[1] == 'u') {
                n += snprintf(line + n, sizeof line - (size_t)n, "%u", rnd(5000));
                p++;
            } else if (p[0] == '%' && p[1] == '%') {
                line[n++] = '%';
                p++;
            } else {
                line[n++] = *p;
            }
        }
        tlm_buf_append(b, line, (size_t)n);
        tlm_buf_append(b, "\n", 1);
        if (f[strlen(f) - 1] == '{' && depth < 6) depth++;
    }
}

/* This thread's CPU time: unlike the wall clock it does not count time
 * the thread waits for a core, which matters on a shared machine. */
static uint64_t cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int bench_one(const tlm_vocab *v, const char *name, const tlm_buf *text, int repeats) {
    uint64_t *t = calloc(2 * (size_t)repeats, sizeof *t), *c = t + repeats;
    size_t n_tok = 0;
    if (!t) return 1;
    for (int r = 0; r < repeats; r++) {
        int32_t *ids;
        tlm_error err = {0};
        uint64_t t0 = tlm_time_ns(), c0 = cpu_ns();
        if (tlm_tokenize(v, text->data, text->len, false, false, &ids, &n_tok, &err)) {
            fprintf(stderr, "tinylm bench: %s\n", err.msg);
            free(t);
            return 1;
        }
        t[r] = tlm_time_ns() - t0;
        c[r] = cpu_ns() - c0;
        tlm_free(ids);
    }
    qsort(t, (size_t)repeats, sizeof *t, cmp_u64);
    qsort(c, (size_t)repeats, sizeof *c, cmp_u64);
    double sec = (double)t[repeats / 2] / 1e9, csec = (double)c[repeats / 2] / 1e9;
    printf("%-14s %8.2f MB/s %8.2f MB/s %9zu %9zu %6.2f\n", name,
           (double)text->len / 1e6 / sec, (double)text->len / 1e6 / csec, text->len, n_tok,
           n_tok ? (double)text->len / (double)n_tok : 0.0);
    free(t);
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "usage: tinylm bench --tokenizer MODEL [--repeats N] [--mb SIZE] [--file PATH]\n\n"
               "Single-threaded encoding speed of MODEL's tokenizer (a GGUF file or a Hugging\n"
               "Face tokenizer directory) on generated English prose, Chinese prose and source\n"
               "code of SIZE MB each (default 2), median of N runs (default 5); --file adds a\n"
               "text of your own.\n");
}

int tlm_cli_bench_tokenizer(int argc, char **argv) {
    static const struct option longopts[] = {
        {"repeats", required_argument, 0, 'r'},
        {"mb", required_argument, 0, 'm'},
        {"file", required_argument, 0, 'f'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int repeats = 5, c;
    double mb = 2.0;
    const char *file = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'r')
            repeats = atoi(optarg);
        else if (c == 'm')
            mb = atof(optarg);
        else if (c == 'f')
            file = optarg;
        else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind != argc - 1 || repeats < 1 || repeats > 1000 || !(mb > 0 && mb <= 1024)) {
        usage(stderr);
        return 2;
    }
    tlm_vocab *v;
    tlm_error err = {0};
    if (tlm_vocab_load_path(argv[optind], &v, &err)) {
        fprintf(stderr, "tinylm bench: %s\n", err.msg);
        return 1;
    }
    printf("tokenizer %s (%s, pre %s, %d tokens), 1 thread, median of %d\n", argv[optind],
           tlm_vocab_kind_of(v) == TLM_VOCAB_BPE ? "byte-level BPE" : "SentencePiece BPE",
           tlm_vocab_pre_name(v), tlm_vocab_n_tokens(v), repeats);
    printf("%-14s %13s %13s %9s %9s %6s\n", "text", "wall", "cpu", "bytes", "tokens",
           "b/tok");
    size_t size = (size_t)(mb * 1e6);
    tlm_buf texts[4] = {{0}};
    const char *names[4] = {"english prose", "chinese prose", "source code", "file"};
    gen_english(&texts[0], size);
    gen_chinese(&texts[1], size);
    gen_code(&texts[2], size);
    int rc = 0, n = 3;
    if (file) {
        FILE *f = fopen(file, "rb");
        char chunk[65536];
        size_t got;
        while (f && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
            tlm_buf_append(&texts[3], chunk, got);
        if (f) fclose(f);
        if (!f) fprintf(stderr, "tinylm bench: cannot read %s\n", file);
        rc = f ? 0 : 1;
        n = 4;
    }
    for (int i = 0; i < n && !rc; i++) rc = bench_one(v, names[i], &texts[i], repeats);
    for (int i = 0; i < 4; i++) tlm_buf_free(&texts[i]);
    tlm_vocab_free(v);
    return rc;
}
