/*
 * jinja_lex.c - the Jinja lexer: template source to tokens.
 *
 * It reproduces jinja2's Lexer with trim_blocks and lstrip_blocks on, since
 * that is where all whitespace control happens:
 *   - newlines are normalised to \n and one trailing newline is dropped;
 *   - "{%-", "{{-", "{#-" strip all whitespace before the tag, "-%}", "-}}",
 *     "-#}" all whitespace after it;
 *   - lstrip_blocks removes spaces/tabs between a line start and "{%"/"{#"
 *     (not "{{"), unless the tag says "{%+";
 *   - trim_blocks removes the one newline right after "%}" or "#}" (not
 *     "}}"), unless the tag says "+%}";
 *   - "%}" and "}}" do not end a tag while a bracket is open.
 * "Whitespace" is Python's: str.isspace() code points.  String literals are
 * decoded like Python's unicode-escape codec.
 */
#include "chat/jinja.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lexer {
    tlm_jarena *arena;
    const char *src;
    size_t len, pos;
    int line;
    size_t line_start;
    bool line_starting;  /* did the previous match end with a newline? */
    tlm_jtok *toks;      /* heap, moved into the arena at the end */
    size_t n, cap;
    char braces[256];    /* closing bracket expected for each open one */
    size_t n_braces;
    tlm_error *err;
} lexer;

static tlm_status lex_fail(lexer *L, size_t at, const char *fmt, const char *arg) {
    int line = 1;
    size_t ls = 0;
    for (size_t i = 0; i < at && i < L->len; i++)
        if (L->src[i] == '\n') line++, ls = i + 1;
    char msg[200];
    snprintf(msg, sizeof msg, fmt, arg);
    return tlm_error_set(L->err, TLM_ERR_FORMAT, "template line %d, column %zu: %s", line,
                         at - ls + 1, msg);
}

/* Moves pos forward, keeping line numbers right. */
static void advance(lexer *L, size_t to) {
    for (size_t i = L->pos; i < to; i++)
        if (L->src[i] == '\n') L->line++, L->line_start = i + 1;
    L->pos = to;
}

static tlm_jtok *emit(lexer *L, tlm_jtok_type type, size_t at) {
    if (L->n == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 64;
        tlm_jtok *t = tlm_realloc(L->toks, cap * sizeof *t);
        if (!t) return NULL;
        L->toks = t;
        L->cap = cap;
    }
    tlm_jtok *t = &L->toks[L->n++];
    memset(t, 0, sizeof *t);
    t->type = (uint8_t)type;
    t->line = L->line;
    t->col = (int)(at - L->line_start + 1);
    return t;
}

static size_t skip_space(const char *s, size_t len, size_t i) {
    while (i < len) {
        size_t j = i;
        if (!tlm_ucp_isspace(tlm_ustr_next(s, len, &j))) break;
        i = j;
    }
    return i;
}

static bool all_space(const char *s, size_t len) { return skip_space(s, len, 0) == len; }

/* ---- Data and tag starts ---- */

static tlm_status emit_data(lexer *L, size_t at, const char *s, size_t len) {
    if (len == 0) return TLM_OK;
    tlm_jtok *t = emit(L, TK_DATA, at);
    if (!t) return TLM_ERR_NOMEM;
    t->s = tlm_jarena_strndup(L->arena, s, len);
    t->len = len;
    return t->s ? TLM_OK : TLM_ERR_NOMEM;
}

/* jinja2's OptionalLStrip: what part of the text before a tag survives. */
static size_t kept_text(lexer *L, const char *text, size_t len, char sign, bool is_var) {
    if (sign == '-') {
        size_t s, e;
        tlm_ustr_strip(text, len, NULL, 0, 'r', &s, &e);
        return e;
    }
    if (sign == '+' || is_var) return len;
    size_t l_pos = 0;
    for (size_t i = len; i > 0; i--)
        if (text[i - 1] == '\n') {
            l_pos = i;
            break;
        }
    if ((l_pos > 0 || L->line_starting) && l_pos < len && all_space(text + l_pos, len - l_pos))
        return l_pos;
    return len;
}

/* Matches "{%" [-+]? \s* "raw" \s* ("-%}" \s* | "%}") at i; returns its end or 0. */
static size_t match_raw_begin(const lexer *L, size_t i, char *sign) {
    const char *s = L->src;
    size_t p = i + 2;
    *sign = 0;
    if (p < L->len && (s[p] == '-' || s[p] == '+')) *sign = s[p++];
    p = skip_space(s, L->len, p);
    if (L->len - p < 3 || memcmp(s + p, "raw", 3) != 0) return 0;
    p = skip_space(s, L->len, p + 3);
    if (L->len - p >= 3 && memcmp(s + p, "-%}", 3) == 0) return skip_space(s, L->len, p + 3);
    if (L->len - p >= 2 && memcmp(s + p, "%}", 2) == 0) return p + 2;
    return 0;
}

/* Matches the end of a {% raw %} block; returns the start of its "{%" or
 * SIZE_MAX, with *end after the closing tag. */
static size_t find_endraw(const lexer *L, size_t from, char *sign, size_t *end) {
    const char *s = L->src;
    for (size_t q = from; q + 1 < L->len; q++) {
        if (s[q] != '{' || s[q + 1] != '%') continue;
        size_t p = q + 2;
        *sign = 0;
        if (p < L->len && (s[p] == '-' || s[p] == '+')) *sign = s[p++];
        p = skip_space(s, L->len, p);
        if (L->len - p < 6 || memcmp(s + p, "endraw", 6) != 0) continue;
        p = skip_space(s, L->len, p + 6);
        if (L->len - p >= 3 && memcmp(s + p, "+%}", 3) == 0) *end = p + 3;
        else if (L->len - p >= 3 && memcmp(s + p, "-%}", 3) == 0) *end = skip_space(s, L->len, p + 3);
        else if (L->len - p >= 2 && memcmp(s + p, "%}", 2) == 0)
            *end = p + 2 + (p + 2 < L->len && s[p + 2] == '\n');
        else continue;
        return q;
    }
    return SIZE_MAX;
}

static tlm_status lex_raw(lexer *L) {
    char sign;
    size_t end;
    size_t q = find_endraw(L, L->pos, &sign, &end);
    if (q == SIZE_MAX) return lex_fail(L, L->pos, "%s", "Missing end of raw directive");
    size_t keep = kept_text(L, L->src + L->pos, q - L->pos, sign, false);
    tlm_status st = emit_data(L, L->pos, L->src + L->pos, keep);
    advance(L, end);
    L->line_starting = L->src[end - 1] == '\n';
    return st;
}

static tlm_status lex_comment(lexer *L) {
    const char *s = L->src;
    for (size_t q = L->pos; q + 1 < L->len; q++) {
        size_t end;
        if (s[q] == '+' && q + 2 < L->len && s[q + 1] == '#' && s[q + 2] == '}') end = q + 3;
        else if (s[q] == '-' && q + 2 < L->len && s[q + 1] == '#' && s[q + 2] == '}')
            end = skip_space(s, L->len, q + 3);
        else if (s[q] == '#' && s[q + 1] == '}')
            end = q + 2 + (q + 2 < L->len && s[q + 2] == '\n');
        else continue;
        advance(L, end);
        L->line_starting = s[end - 1] == '\n';
        return TLM_OK;
    }
    return lex_fail(L, L->pos, "%s", "Missing end of comment tag");
}

/* ---- Inside {{ }} and {% %} ---- */

static size_t match_digits(const char *s, size_t len, size_t i) {
    if (i >= len || s[i] < '0' || s[i] > '9') return 0;
    while (i < len) {
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        if (i + 1 < len && s[i] == '_' && s[i + 1] >= '0' && s[i + 1] <= '9') i++;
        else break;
    }
    return i;
}

static size_t match_exponent(const char *s, size_t len, size_t i) {
    if (i >= len || (s[i] != 'e' && s[i] != 'E')) return 0;
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-')) i++;
    return match_digits(s, len, i);
}

static size_t match_float(const lexer *L, size_t i) {
    const char *s = L->src;
    if (i > 0 && s[i - 1] == '.') return 0;
    size_t p = match_digits(s, L->len, i);
    if (!p) return 0;
    size_t frac = 0;
    if (p < L->len && s[p] == '.') frac = match_digits(s, L->len, p + 1);
    size_t e = match_exponent(s, L->len, frac ? frac : p);
    return e ? e : frac;
}

static bool radix_digit(char c, int base) {
    if (base == 2) return c == '0' || c == '1';
    if (base == 8) return c >= '0' && c <= '7';
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static size_t match_int(const lexer *L, size_t i, int *base) {
    const char *s = L->src;
    *base = 10;
    if (s[i] == '0' && i + 1 < L->len && strchr("bBoOxX", s[i + 1]) && s[i + 1]) {
        int b = (s[i + 1] | 0x20) == 'b' ? 2 : (s[i + 1] | 0x20) == 'o' ? 8 : 16;
        size_t p = i + 2, n = 0;
        for (;;) {
            size_t q = p < L->len && s[p] == '_' ? p + 1 : p;
            if (q >= L->len || !radix_digit(s[q], b)) break;
            p = q + 1;
            n++;
        }
        if (n) {
            *base = b;
            return p;
        }
    }
    if (s[i] >= '1' && s[i] <= '9') return match_digits(s, L->len, i);
    if (s[i] != '0') return 0;
    size_t p = i + 1;
    while (p < L->len && (s[p] == '0' || (s[p] == '_' && p + 1 < L->len && s[p + 1] == '0')))
        p += s[p] == '_' ? 2 : 1;
    return p;
}

static tlm_status number_token(lexer *L, size_t end, bool is_float, int base) {
    char tmp[128];
    size_t n = 0, start = L->pos + (base != 10 ? 2 : 0);
    for (size_t i = start; i < end; i++)
        if (L->src[i] != '_') {
            if (n + 1 >= sizeof tmp) return lex_fail(L, L->pos, "%s", "number literal too long");
            tmp[n++] = L->src[i];
        }
    tmp[n] = '\0';
    tlm_jtok *t = emit(L, is_float ? TK_FLOAT : TK_INT, L->pos);
    if (!t) return TLM_ERR_NOMEM;
    errno = 0;
    if (is_float) t->f = strtod(tmp, NULL);
    else t->i = (int64_t)strtoll(tmp, NULL, base);
    if (errno == ERANGE && !is_float)
        return lex_fail(L, L->pos, "%s", "integer literal too large");
    advance(L, end);
    return TLM_OK;
}

static const struct {
    const char *text;
    tlm_jop op;
} operators[] = {
    {"//", OP_FLOORDIV}, {"**", OP_POW}, {"==", OP_EQ}, {"!=", OP_NE}, {">=", OP_GE},
    {"<=", OP_LE},       {"+", OP_ADD},  {"-", OP_SUB}, {"/", OP_DIV}, {"*", OP_MUL},
    {"%", OP_MOD},       {"~", OP_TILDE}, {"[", OP_LBRACKET}, {"]", OP_RBRACKET},
    {"(", OP_LPAREN},    {")", OP_RPAREN}, {"{", OP_LBRACE}, {"}", OP_RBRACE},
    {">", OP_GT},        {"<", OP_LT},   {"=", OP_ASSIGN}, {".", OP_DOT}, {":", OP_COLON},
    {"|", OP_PIPE},      {",", OP_COMMA}, {";", OP_SEMICOLON},
};

const char *tlm_jop_text(tlm_jop op) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(operators); i++)
        if (operators[i].op == op) return operators[i].text;
    switch (op) {
    case OP_AND: return "and";
    case OP_OR: return "or";
    case OP_IN: return "in";
    case OP_NOTIN: return "not in";
    default: return "?";
    }
}

static tlm_status balance(lexer *L, char ch) {
    static char text[2];
    if (ch == '(' || ch == '[' || ch == '{') {
        if (L->n_braces == sizeof L->braces)
            return lex_fail(L, L->pos, "%s", "brackets nested too deeply");
        L->braces[L->n_braces++] = ch == '(' ? ')' : ch == '[' ? ']' : '}';
        return TLM_OK;
    }
    if (ch != ')' && ch != ']' && ch != '}') return TLM_OK;
    text[0] = ch;
    if (L->n_braces == 0) return lex_fail(L, L->pos, "unexpected '%s'", text);
    char want = L->braces[--L->n_braces];
    if (want != ch) {
        char msg[40];
        snprintf(msg, sizeof msg, "unexpected '%c', expected '%c'", ch, want);
        return lex_fail(L, L->pos, "%s", msg);
    }
    return TLM_OK;
}

static tlm_status operator_token(lexer *L) {
    for (size_t k = 0; k < TLM_ARRAY_LEN(operators); k++) {
        size_t n = strlen(operators[k].text);
        if (L->len - L->pos < n || memcmp(L->src + L->pos, operators[k].text, n) != 0) continue;
        tlm_status st = balance(L, L->src[L->pos]);
        if (st != TLM_OK) return st;
        tlm_jtok *t = emit(L, TK_OP, L->pos);
        if (!t) return TLM_ERR_NOMEM;
        t->op = (uint8_t)operators[k].op;
        advance(L, L->pos + n);
        return TLM_OK;
    }
    char ch[8];
    size_t i = L->pos;
    uint32_t cp = tlm_ustr_next(L->src, L->len, &i);
    ch[tlm_ustr_put(ch, cp)] = '\0';
    return lex_fail(L, L->pos, "unexpected char '%s'", ch);
}

static bool name_char(uint32_t cp, bool first) {
    if (cp < 0x80)
        return cp == '_' || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
               (!first && cp >= '0' && cp <= '9');
    return tlm_ucp_isword(cp);
}

static size_t match_name(const lexer *L, size_t i) {
    size_t p = i;
    while (p < L->len) {
        size_t q = p;
        if (!name_char(tlm_ustr_next(L->src, L->len, &q), p == i)) break;
        p = q;
    }
    return p;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (c | 0x20) - 'a' + 10;
    return -1;
}

/* Python's "unicode-escape" decoding of a literal's body (after jinja2 has
 * backslash-escaped its non-ASCII characters, which is why a backslash
 * before one yields "\\xe9"-style text). */
static tlm_status unescape(tlm_buf *b, const char *s, size_t len, const char **why) {
    static const char simple_in[] = "\\'\"abfnrtv", simple_out[] = "\\'\"\a\b\f\n\r\t\v";
    tlm_status st = tlm_buf_reserve(b, len);
    for (size_t i = 0; st == TLM_OK && i < len;) {
        if (s[i] != '\\' || i + 1 >= len) {
            st = tlm_buf_append(b, s + i, 1);
            i++;
            continue;
        }
        char e = s[i + 1];
        const char *k = e ? strchr(simple_in, e) : NULL;
        i += 2;
        if (e == '\n') continue; /* line continuation */
        if (k) {
            st = tlm_buf_append(b, simple_out + (k - simple_in), 1);
            continue;
        }
        uint32_t cp = 0;
        if (e >= '0' && e <= '7') {
            cp = (uint32_t)(e - '0');
            for (int n = 1; n < 3 && i < len && s[i] >= '0' && s[i] <= '7'; n++)
                cp = cp * 8 + (uint32_t)(s[i++] - '0');
        } else if (e == 'x' || e == 'u' || e == 'U') {
            int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            for (int n = 0; n < digits; n++, i++) {
                int h = i < len ? hexval(s[i]) : -1;
                if (h < 0) {
                    *why = e == 'x' ? "truncated \\xXX escape"
                                    : e == 'u' ? "truncated \\uXXXX escape"
                                               : "truncated \\UXXXXXXXX escape";
                    return TLM_ERR_FORMAT;
                }
                cp = cp * 16 + (uint32_t)h;
            }
            if (cp > 0x10ffff) {
                *why = "illegal Unicode character";
                return TLM_ERR_FORMAT;
            }
        } else if (e == 'N') {
            *why = "\\N{...} escapes are not supported";
            return TLM_ERR_FORMAT;
        } else if ((unsigned char)e >= 0x80) {
            /* The character was "backslashreplace"d before decoding. */
            size_t j = i - 1;
            uint32_t c8 = tlm_ustr_next(s, len, &j);
            char tmp[16];
            snprintf(tmp, sizeof tmp, c8 <= 0xff ? "\\x%02x" : c8 <= 0xffff ? "\\u%04x" : "\\U%08x",
                     (unsigned)c8);
            st = tlm_buf_append(b, tmp, strlen(tmp));
            i = j;
            continue;
        } else {
            char keep[2] = {'\\', e};
            st = tlm_buf_append(b, keep, 2);
            continue;
        }
        if (cp >= 0xd800 && cp <= 0xdfff) {
            *why = "surrogate code points are not supported";
            return TLM_ERR_FORMAT;
        }
        st = tlm_ustr_append_cp(b, cp);
    }
    return st;
}

static size_t match_string(const lexer *L, size_t i) {
    char q = L->src[i];
    for (size_t p = i + 1; p < L->len; p++) {
        if (L->src[p] == '\\') p++;
        else if (L->src[p] == q) return p + 1;
    }
    return 0;
}

static tlm_status string_token(lexer *L, size_t end) {
    tlm_buf b = {0};
    const char *why = NULL;
    tlm_status st = unescape(&b, L->src + L->pos + 1, end - L->pos - 2, &why);
    if (st == TLM_ERR_FORMAT) {
        tlm_buf_free(&b);
        return lex_fail(L, L->pos, "%s", why);
    }
    tlm_jtok *t = st == TLM_OK ? emit(L, TK_STRING, L->pos) : NULL;
    if (t) {
        t->len = b.len;
        t->s = tlm_jarena_strndup(L->arena, b.data ? b.data : "", b.len);
    }
    tlm_buf_free(&b);
    if (!t || !t->s) return TLM_ERR_NOMEM;
    advance(L, end);
    return TLM_OK;
}

/* Returns true at the end tag (and consumes it). */
static bool end_tag(lexer *L, bool is_block) {
    const char *s = L->src + L->pos;
    size_t left = L->len - L->pos;
    size_t end = 0;
    if (L->n_braces) return false;
    if (is_block) {
        if (left >= 3 && memcmp(s, "+%}", 3) == 0) end = L->pos + 3;
        else if (left >= 3 && memcmp(s, "-%}", 3) == 0) end = skip_space(L->src, L->len, L->pos + 3);
        else if (left >= 2 && memcmp(s, "%}", 2) == 0)
            end = L->pos + 2 + (left > 2 && s[2] == '\n');
    } else {
        if (left >= 3 && memcmp(s, "-}}", 3) == 0) end = skip_space(L->src, L->len, L->pos + 3);
        else if (left >= 2 && memcmp(s, "}}", 2) == 0) end = L->pos + 2;
    }
    if (!end) return false;
    advance(L, end);
    L->line_starting = L->src[end - 1] == '\n';
    return true;
}

static tlm_status lex_tag(lexer *L, bool is_block) {
    while (L->pos < L->len) {
        size_t at = L->pos;
        if (end_tag(L, is_block))
            return emit(L, is_block ? TK_BLOCK_END : TK_VAR_END, at) ? TLM_OK : TLM_ERR_NOMEM;
        size_t end = skip_space(L->src, L->len, L->pos);
        if (end > L->pos) {
            advance(L, end);
            continue;
        }
        int base;
        tlm_status st;
        char ch = L->src[L->pos];
        if ((end = match_float(L, L->pos))) st = number_token(L, end, true, 10);
        else if ((end = match_int(L, L->pos, &base))) st = number_token(L, end, false, base);
        else if ((end = match_name(L, L->pos)) > L->pos) {
            tlm_jtok *t = emit(L, TK_NAME, L->pos);
            st = t ? TLM_OK : TLM_ERR_NOMEM;
            if (t) {
                t->len = end - L->pos;
                t->s = tlm_jarena_strndup(L->arena, L->src + L->pos, t->len);
                if (!t->s) st = TLM_ERR_NOMEM;
                advance(L, end);
            }
        } else if ((ch == '\'' || ch == '"') && (end = match_string(L, L->pos)))
            st = string_token(L, end);
        else st = operator_token(L);
        if (st != TLM_OK) return st;
    }
    return TLM_OK; /* unterminated tag: the parser reports it */
}

/* ---- Root state ---- */

static size_t find_tag(const lexer *L, size_t from) {
    for (size_t q = from; q + 1 < L->len; q++)
        if (L->src[q] == '{' && (L->src[q + 1] == '{' || L->src[q + 1] == '%' || L->src[q + 1] == '#'))
            return q;
    return SIZE_MAX;
}

static tlm_status lex_root(lexer *L) {
    while (L->pos < L->len) {
        size_t q = find_tag(L, L->pos);
        if (q == SIZE_MAX) {
            tlm_status st = emit_data(L, L->pos, L->src + L->pos, L->len - L->pos);
            advance(L, L->len);
            return st;
        }
        char kind = L->src[q + 1], sign = 0;
        size_t raw_end = kind == '%' ? match_raw_begin(L, q, &sign) : 0;
        if (!raw_end && q + 2 < L->len && (L->src[q + 2] == '-' || L->src[q + 2] == '+'))
            sign = L->src[q + 2];
        size_t keep = kept_text(L, L->src + L->pos, q - L->pos, sign, kind == '{');
        tlm_status st = emit_data(L, L->pos, L->src + L->pos, keep);
        if (st != TLM_OK) return st;
        if (raw_end) {
            advance(L, raw_end);
            L->line_starting = L->src[raw_end - 1] == '\n';
            st = lex_raw(L);
        } else {
            advance(L, q);
            size_t at = q;
            advance(L, q + 2 + (sign != 0));
            L->line_starting = false;
            if (kind == '#') st = lex_comment(L);
            else {
                L->n_braces = 0;
                st = emit(L, kind == '%' ? TK_BLOCK_BEGIN : TK_VAR_BEGIN, at) ? TLM_OK
                                                                              : TLM_ERR_NOMEM;
                if (st == TLM_OK) st = lex_tag(L, kind == '%');
            }
        }
        if (st != TLM_OK) return st;
    }
    return TLM_OK;
}

/* Newlines to \n and the one trailing newline dropped, as jinja2 does. */
static char *normalize(tlm_jarena *a, const char *src, size_t len, size_t *out_len) {
    char *s = tlm_jarena_alloc(a, len + 1);
    if (!s) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            s[n++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n') i++;
        } else s[n++] = src[i];
    }
    if (n && s[n - 1] == '\n') n--;
    s[n] = '\0';
    *out_len = n;
    return s;
}

tlm_status tlm_jinja_lex(tlm_jarena *a, const char *src, size_t len, tlm_jtok **toks,
                         size_t *n_toks, tlm_error *err) {
    if (!tlm_ustr_valid(src, len))
        return tlm_error_set(err, TLM_ERR_FORMAT, "template is not valid UTF-8");
    lexer L = {.arena = a, .line = 1, .line_starting = true, .err = err};
    L.src = normalize(a, src, len, &L.len);
    if (!L.src) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    tlm_status st = lex_root(&L);
    if (st == TLM_OK && !emit(&L, TK_EOF, L.pos)) st = TLM_ERR_NOMEM;
    if (st == TLM_OK) {
        *toks = tlm_jarena_alloc(a, L.n * sizeof **toks);
        if (*toks) memcpy(*toks, L.toks, L.n * sizeof **toks);
        else st = TLM_ERR_NOMEM;
        *n_toks = L.n;
    }
    free(L.toks);
    if (st == TLM_ERR_NOMEM) tlm_error_set(err, st, "out of memory");
    return st;
}
