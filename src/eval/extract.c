/*
 * extract.c - getting the gradable part out of a chat answer: Python code
 * from markdown fences or bare text, the final number of a maths answer,
 * the first JSON value.  Rules follow the established harnesses (EvalPlus,
 * lm-evaluation-harness; docs/EVAL.md "Extraction") with one deliberate
 * choice: among several fenced blocks that define the entry point the LAST
 * one wins, because bug-fix answers quote the broken code before the fix.
 */
#include "eval/eval.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Cleaning ---- */

static size_t ansi_len(const char *s) {
    if (s[0] != 0x1b) return 0;
    if (s[1] == '[') {
        size_t i = 2;
        while (s[i] >= 0x30 && s[i] <= 0x3f) i++;
        while (s[i] >= 0x20 && s[i] <= 0x2f) i++;
        return s[i] >= 0x40 && s[i] <= 0x7e ? i + 1 : 0;
    }
    return (s[1] >= '@' && s[1] <= '_') ? 2 : 0;
}

char *tlm_eval_clean_answer(const char *answer) {
    if (!answer) answer = "";
    /* A lone "</think>" means the opening tag was in the prompt template. */
    const char *open = strstr(answer, "<think>");
    const char *close = strstr(answer, "</think>");
    if (close && (!open || open > close)) answer = close + 8;
    tlm_buf b = {0};
    if (tlm_buf_reserve(&b, strlen(answer)) != TLM_OK) return NULL;
    for (const char *p = answer; *p;) {
        if (!strncmp(p, "<think>", 7)) {
            const char *end = strstr(p, "</think>");
            if (!end) break;
            p = end + 8;
            continue;
        }
        size_t n = ansi_len(p);
        if (n) {
            p += n;
            continue;
        }
        if (p[0] == '\r' && p[1] == '\n') p++;
        if (tlm_buf_append(&b, p, 1)) {
            tlm_buf_free(&b);
            return NULL;
        }
        p++;
    }
    if (tlm_buf_append(&b, "", 0)) { /* terminates, also when nothing was kept */
        tlm_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* ---- Lines and fences ---- */

typedef struct block {
    const char *start;
    size_t len;
    char lang[24];
} block;

typedef struct blocks {
    block *v;
    size_t n, cap;
} blocks;

static const char *line_end(const char *p) {
    const char *nl = strchr(p, '\n');
    return nl ? nl : p + strlen(p);
}

/* A fence line: up to 3 spaces, then 3+ backticks or tildes.  Returns the
 * fence length and its character, or 0. */
static size_t fence_at(const char *line, const char *end, char *ch) {
    const char *p = line;
    while (p < end && *p == ' ' && p - line < 3) p++;
    if (p >= end || (*p != '`' && *p != '~')) return 0;
    size_t n = 0;
    while (p + n < end && p[n] == *p) n++;
    if (n < 3) return 0;
    *ch = *p;
    return n;
}

static bool push_block(blocks *bs, const char *start, const char *stop, const char *info,
                       const char *info_end) {
    if (bs->n == bs->cap) {
        size_t cap = bs->cap ? bs->cap * 2 : 8;
        block *v = tlm_realloc(bs->v, cap * sizeof *v);
        if (!v) return false;
        bs->v = v;
        bs->cap = cap;
    }
    block *b = &bs->v[bs->n++];
    b->start = start;
    b->len = (size_t)(stop - start);
    size_t i = 0;
    while (info < info_end && isspace((unsigned char)*info)) info++;
    while (info < info_end && !isspace((unsigned char)*info) && *info != '{' &&
           i + 1 < sizeof b->lang)
        b->lang[i++] = (char)tolower((unsigned char)*info++);
    b->lang[i] = '\0';
    return true;
}

/* Collects fenced blocks; an unclosed last block runs to the end (answers
 * cut by max_tokens). */
static bool find_blocks(const char *text, blocks *bs) {
    const char *p = text;
    while (*p) {
        const char *e = line_end(p);
        char ch;
        size_t n = fence_at(p, e, &ch);
        if (!n) {
            p = *e ? e + 1 : e;
            continue;
        }
        const char *info = p + n, *info_end = e;
        const char *body = *e ? e + 1 : e, *q = body, *stop = NULL;
        while (*q) {
            const char *qe = line_end(q);
            char ch2;
            size_t n2 = fence_at(q, qe, &ch2);
            const char *rest = q;
            while (rest < qe && (*rest == ' ' || *rest == ch2)) rest++;
            if (n2 >= n && ch2 == ch && rest == qe) {
                stop = q;
                break;
            }
            q = *qe ? qe + 1 : qe;
        }
        if (!push_block(bs, body, stop ? stop : q, info, info_end)) return false;
        if (!stop) break;
        e = line_end(stop);
        p = *e ? e + 1 : e;
    }
    return true;
}

static bool is_python_lang(const char *lang) {
    return !lang[0] || !strncmp(lang, "python", 6) || !strcmp(lang, "py") || !strcmp(lang, "py3") ||
           !strcmp(lang, "ipython");
}

/* ---- Recognising code ---- */

static bool word_at(const char *p, const char *w) {
    size_t n = strlen(w);
    return !strncmp(p, w, n) && !(isalnum((unsigned char)p[n]) || p[n] == '_');
}

static bool is_ident_start(char c) { return isalpha((unsigned char)c) || c == '_'; }

/* Does this text define `name` as a function or class? */
static bool defines(const char *s, size_t len, const char *name) {
    if (!name || !*name) return false;
    size_t nl = strlen(name);
    const char *end = s + len;
    for (const char *p = s; p < end;) {
        const char *e = line_end(p);
        if (e > end) e = end;
        const char *q = p;
        while (q < e && (*q == ' ' || *q == '\t')) q++;
        if (word_at(q, "async")) q += 5;
        while (q < e && *q == ' ') q++;
        const char *kw = word_at(q, "def") ? "def" : word_at(q, "class") ? "class" : NULL;
        if (kw) {
            q += strlen(kw);
            while (q < e && *q == ' ') q++;
            if ((size_t)(e - q) > nl && !strncmp(q, name, nl) &&
                (q[nl] == '(' || q[nl] == ':' || q[nl] == ' '))
                return true;
        }
        p = e < end ? e + 1 : end;
    }
    return false;
}

static const char *const code_words[] = {
    "def",      "class",  "import", "from",   "if",      "elif",     "else",  "for",
    "while",    "with",   "try",    "except", "finally", "return",   "async", "assert",
    "raise",    "pass",   "print",  "yield",  "global",  "nonlocal", "del",   "break",
    "continue", "lambda", "await",  "match",  "case",
};

/* A column-0 line that a Python file could contain (as opposed to prose). */
static bool code_line(const char *p, const char *e) {
    if (p == e || *p == '#' || *p == '@' || *p == ')' || *p == ']' || *p == '}' || *p == '"' ||
        *p == '\'')
        return true;
    for (size_t i = 0; i < TLM_ARRAY_LEN(code_words); i++)
        if (word_at(p, code_words[i])) return true;
    if (!is_ident_start(*p)) return false;
    const char *q = p;
    while (q < e && (isalnum((unsigned char)*q) || *q == '_' || *q == '.')) q++;
    while (q < e && *q == ' ') q++;
    if (q == e) return false; /* a lone word is prose more often than code */
    if (*q == '(' || *q == '[' || *q == '=' || *q == ',') return true;
    if (*q == ':' && q + 1 < e) return true; /* annotated assignment */
    return strchr("+-*/%&|^<>", *q) && q + 1 < e && q[1] == '=';
}

/* `NAME = value` at column 0: prose almost never starts like that. */
static bool assignment_line(const char *p, const char *e) {
    if (!is_ident_start(*p)) return false;
    while (p < e && (isalnum((unsigned char)*p) || *p == '_')) p++;
    while (p < e && *p == ' ') p++;
    return p + 1 < e && p[0] == '=' && p[1] != '=';
}

static bool code_start_line(const char *p, const char *e) {
    if (word_at(p, "def") || word_at(p, "class") || word_at(p, "import") || *p == '@') return true;
    if (assignment_line(p, e)) return true;
    if (word_at(p, "async") && strstr(p, "def") && strstr(p, "def") < e) return true;
    if (word_at(p, "from")) {
        const char *imp = strstr(p, " import ");
        return imp && imp < e;
    }
    return false;
}

/* Tracks triple-quoted strings across lines, so a docstring's prose is not
 * mistaken for the end of the code. */
static void scan_triple_quotes(const char *p, const char *e, char *open) {
    for (; p + 2 < e + 1 && *p; p++) {
        if ((*p == '"' || *p == '\'') && p + 2 < e && p[1] == *p && p[2] == *p) {
            if (!*open)
                *open = *p;
            else if (*open == *p)
                *open = 0;
            else
                continue;
            p += 2;
        }
    }
}

/* Raw text: from the first line that starts code to the first prose line
 * after it. */
static bool raw_code_span(const char *text, const char **out_start, size_t *out_len) {
    const char *start = NULL, *stop = NULL;
    char in_string = 0;
    for (const char *p = text; *p;) {
        const char *e = line_end(p);
        if (!start) {
            if (code_start_line(p, e)) start = p;
        } else if (!in_string && !(p == e || *p == ' ' || *p == '\t' || code_line(p, e))) {
            stop = p;
            break;
        }
        if (start) scan_triple_quotes(p, e, &in_string);
        p = *e ? e + 1 : e;
    }
    if (!start) return false;
    *out_start = start;
    *out_len = stop ? (size_t)(stop - start) : strlen(start);
    return true;
}

/* Top level holds only definitions and imports (no calls, no prints), so the
 * block can be prepended to the chosen one without side effects. */
static bool definitions_only(const char *s, size_t len) {
    const char *end = s + len;
    for (const char *p = s; p < end;) {
        const char *e = line_end(p);
        if (e > end) e = end;
        bool ok = p == e || *p == ' ' || *p == '\t' || *p == '#' || *p == '@' || *p == ')' ||
                  *p == ']' || code_start_line(p, e) || word_at(p, "async");
        if (!ok && is_ident_start(*p)) {
            const char *q = p;
            while (q < e && (isalnum((unsigned char)*q) || *q == '_')) q++;
            while (q < e && *q == ' ') q++;
            ok = q < e && (*q == '=' || *q == ':') && !(q[0] == '=' && q + 1 < e && q[1] == '=');
        }
        if (!ok) return false;
        p = e < end ? e + 1 : end;
    }
    return true;
}

/* ---- Code extraction ---- */

static bool first_line_indented(const char *s) {
    while (*s == '\n') s++;
    return *s == ' ' || *s == '\t';
}

/* Drops a column-0 `if __name__ == "__main__":` block: chat answers put
 * demos there that call input() or print, and tests import nothing. */
static void strip_main_block(tlm_buf *code) {
    char *p = code->data;
    while (p && *p) {
        char *e = (char *)line_end(p);
        if (word_at(p, "if") && strstr(p, "__name__") && strstr(p, "__name__") < e &&
            strstr(p, "__main__") && strstr(p, "__main__") < e) {
            char *q = *e ? e + 1 : e;
            while (*q) {
                char *qe = (char *)line_end(q);
                if (!(q == qe || *q == ' ' || *q == '\t')) break;
                q = *qe ? qe + 1 : qe;
            }
            memmove(p, q, strlen(q) + 1);
            code->len = strlen(code->data);
            continue;
        }
        p = *e ? e + 1 : e;
    }
}

/* HumanEval prompts import what their signatures use (List, math); answers
 * that restate only the function would otherwise die with a NameError. */
static tlm_status prepend_stub_imports(const char *stub, tlm_buf *code) {
    tlm_buf imports = {0};
    for (const char *p = stub; *p;) {
        const char *e = line_end(p);
        if ((word_at(p, "import") || word_at(p, "from")) && code_start_line(p, e)) {
            size_t n = (size_t)(e - p);
            char *line = tlm_strndup(p, n);
            if (!line) goto oom;
            bool have = strstr(code->data, line) != NULL;
            tlm_free(line);
            if (!have && (tlm_buf_append(&imports, p, n) || tlm_buf_append(&imports, "\n", 1)))
                goto oom;
        }
        p = *e ? e + 1 : e;
    }
    if (imports.len) {
        if (tlm_buf_append(&imports, code->data, code->len)) goto oom;
        tlm_buf_free(code);
        *code = imports;
    }
    return TLM_OK;
oom:
    tlm_buf_free(&imports);
    return TLM_ERR_NOMEM;
}

static long choose_block(const blocks *bs, const char *entry, bool any_lang, const char **method) {
    long best = -1;
    for (size_t i = 0; entry && i < bs->n; i++)
        if ((any_lang || is_python_lang(bs->v[i].lang)) &&
            defines(bs->v[i].start, bs->v[i].len, entry))
            best = (long)i;
    if (best >= 0) {
        *method = "fence_entry";
        return best;
    }
    for (size_t i = 0; i < bs->n; i++)
        if ((any_lang || is_python_lang(bs->v[i].lang)) &&
            (best < 0 || bs->v[i].len > bs->v[best].len))
            best = (long)i;
    if (best >= 0) *method = "fence_longest";
    return best;
}

static tlm_status code_from_fences(const blocks *bs, const char *entry, bool script, tlm_buf *code,
                                   const char **method) {
    bool any_python = false;
    for (size_t i = 0; i < bs->n; i++) any_python |= is_python_lang(bs->v[i].lang);
    long idx = choose_block(bs, entry, !any_python, method);
    if (idx < 0) return TLM_OK;
    bool by_entry = !strcmp(*method, "fence_entry");
    for (long j = 0; by_entry && !script && j < idx; j++) {
        const block *b = &bs->v[j];
        if ((any_python && !is_python_lang(b->lang)) || !definitions_only(b->start, b->len))
            continue;
        if (tlm_buf_append(code, b->start, b->len) || tlm_buf_append(code, "\n", 1))
            return TLM_ERR_NOMEM;
    }
    if (tlm_buf_append(code, bs->v[idx].start, bs->v[idx].len)) return TLM_ERR_NOMEM;
    return TLM_OK;
}

static tlm_status code_from_text(const char *text, const char *stub, tlm_buf *code,
                                 const char **method) {
    const char *start;
    size_t len;
    if (raw_code_span(text, &start, &len)) {
        *method = "raw";
        return tlm_buf_append(code, start, len);
    }
    if (stub && first_line_indented(text)) {
        *method = "stub+completion";
        return tlm_buf_append(code, text, strlen(text));
    }
    return TLM_OK;
}

tlm_status tlm_eval_extract_code(const char *answer, const char *entry_point, const char *stub,
                                 bool script, char **out_code, const char **out_method,
                                 tlm_error *err) {
    if (!out_code || !out_method)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "extract: no output");
    *out_code = NULL;
    *out_method = "none";
    char *text = tlm_eval_clean_answer(answer);
    blocks bs = {0};
    tlm_buf code = {0};
    tlm_status st = TLM_ERR_NOMEM;
    if (!text || !find_blocks(text, &bs)) goto done;
    st = bs.n ? code_from_fences(&bs, entry_point, script, &code, out_method)
              : code_from_text(text, stub, &code, out_method);
    if (st != TLM_OK || !code.len) goto done;
    if (entry_point && stub && !defines(code.data, code.len, entry_point) &&
        first_line_indented(code.data)) {
        tlm_buf whole = {0};
        if (tlm_buf_append(&whole, stub, strlen(stub)) || tlm_buf_append(&whole, "\n", 1) ||
            tlm_buf_append(&whole, code.data, code.len)) {
            tlm_buf_free(&whole);
            st = TLM_ERR_NOMEM;
            goto done;
        }
        tlm_buf_free(&code);
        code = whole;
        *out_method = "stub+completion";
    }
    if (!script) strip_main_block(&code);
    if (stub && (st = prepend_stub_imports(stub, &code)) != TLM_OK) goto done;
    *out_code = code.data;
    code.data = NULL;
done:
    if (st == TLM_ERR_NOMEM) tlm_error_set(err, st, "extract: out of memory");
    tlm_buf_free(&code);
    tlm_free(bs.v);
    tlm_free(text);
    return st;
}

/* ---- Numbers ---- */

static bool in_flex_set(char c) {
    return isdigit((unsigned char)c) || c == '$' || c == '.' || c == ',';
}

/* lm-eval's normalisation: drop ',' and '$', then one trailing '.'. */
static bool normalise_number(const char *s, size_t n, char *out, size_t cap) {
    size_t j = 0;
    bool digit = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ',' || s[i] == '$') continue;
        if (j + 1 >= cap) return false;
        digit |= isdigit((unsigned char)s[i]) != 0;
        out[j++] = s[i];
    }
    if (j && out[j - 1] == '.') j--;
    out[j] = '\0';
    return digit;
}

bool tlm_eval_extract_number_strict(const char *answer, char *out, size_t cap) {
    if (!answer) return false;
    for (const char *p = strstr(answer, "#### "); p; p = strstr(p + 1, "#### ")) {
        const char *q = p + 5, *s = q;
        if (*q == '-') q++;
        while (isdigit((unsigned char)*q) || *q == '.' || *q == ',') q++;
        if (q > s + (*s == '-') && normalise_number(s, (size_t)(q - s), out, cap)) return true;
    }
    return false;
}

bool tlm_eval_extract_number_flexible(const char *answer, char *out, size_t cap) {
    if (!answer) return false;
    bool found = false;
    size_t len = strlen(answer), pos = 0;
    while (pos < len) {
        size_t p = pos + (answer[pos] == '-'), q = p;
        while (q < len && in_flex_set(answer[q])) q++;
        if (q - p < 2) {
            q = p;
            while (q < len && isdigit((unsigned char)answer[q])) q++;
            if (q == p) {
                pos++;
                continue;
            }
        }
        char tmp[64];
        if (normalise_number(answer + pos, q - pos, tmp, sizeof tmp) && strlen(tmp) < cap) {
            memcpy(out, tmp, strlen(tmp) + 1);
            found = true;
        }
        pos = q;
    }
    return found;
}

/* The number right after a marker such as "\boxed{" or "answer is". */
static bool number_after(const char *answer, const char *marker, char *out, size_t cap) {
    const char *hit = NULL;
    for (const char *p = answer; (p = strstr(p, marker)); p++) hit = p;
    if (!hit) return false;
    const char *q = hit + strlen(marker);
    while (*q == ' ' || *q == ':' || *q == '*' || *q == '$' || !strncmp(q, "：", 3))
        q += !strncmp(q, "：", 3) ? 3 : 1;
    const char *s = q;
    if (*q == '-') q++;
    while (isdigit((unsigned char)*q) || *q == '.' || *q == ',') q++;
    return q > s && normalise_number(s, (size_t)(q - s), out, cap);
}

bool tlm_eval_extract_number(const char *answer, char *out, size_t cap, const char **out_method) {
    static const char *const markers[] = {"\\boxed{", "answer is", "Answer:", "答案是", "答案："};
    const char *method = "none";
    bool ok = tlm_eval_extract_number_strict(answer, out, cap);
    if (ok) method = "strict";
    for (size_t i = 0; !ok && answer && i < TLM_ARRAY_LEN(markers); i++)
        if ((ok = number_after(answer, markers[i], out, cap))) method = "marker";
    if (!ok && (ok = tlm_eval_extract_number_flexible(answer, out, cap))) method = "flexible";
    if (out_method) *out_method = method;
    return ok;
}

bool tlm_eval_numbers_equal(const char *a, const char *b) {
    if (!a || !b) return false;
    char *ea, *eb;
    double x = strtod(a, &ea), y = strtod(b, &eb);
    if (*a && *b && !*ea && !*eb && isfinite(x) && isfinite(y))
        return fabs(x - y) <= 1e-9 * TLM_MAX(1.0, fabs(y));
    return strcmp(a, b) == 0;
}

/* ---- JSON ---- */

/* End of the bracketed value starting at s ('{' or '['), string-aware. */
static const char *match_bracket(const char *s) {
    int depth = 0;
    bool in_str = false;
    for (const char *p = s; *p; p++) {
        if (in_str) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_str = false;
        } else if (*p == '"') {
            in_str = true;
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if ((*p == '}' || *p == ']') && --depth == 0) {
            return p + 1;
        }
    }
    return NULL;
}

static json_t *parse_span(const char *s, size_t n) {
    return json_loadb(s, n, JSON_DECODE_ANY, NULL);
}

json_t *tlm_eval_extract_json(const char *answer, bool *out_found) {
    if (out_found) *out_found = false;
    char *text = tlm_eval_clean_answer(answer);
    blocks bs = {0};
    json_t *v = NULL;
    if (!text || !find_blocks(text, &bs)) goto done;
    for (size_t i = 0; i < bs.n && !v; i++) {
        if (strcmp(bs.v[i].lang, "json") && bs.v[i].lang[0]) continue;
        if (out_found) *out_found = true;
        v = parse_span(bs.v[i].start, bs.v[i].len);
    }
    if (v) goto done;
    const char *s = text + strspn(text, " \t\n");
    if ((v = parse_span(s, strlen(s)))) {
        if (out_found) *out_found = true;
        goto done;
    }
    for (const char *p = text; (p = strpbrk(p, "{[")); p++) {
        if (out_found) *out_found = true;
        const char *e = match_bracket(p);
        if (e && (v = parse_span(p, (size_t)(e - p)))) break;
    }
done:
    tlm_free(bs.v);
    tlm_free(text);
    return v;
}
