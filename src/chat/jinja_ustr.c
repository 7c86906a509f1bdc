/*
 * jinja_ustr.c - Python str semantics on UTF-8 bytes: code point counting
 * and indexing, str.isspace()/isprintable(), re's \w, case mapping
 * (upper/lower/title/capitalize and jinja's title filter), strip and find.
 *
 * Python strings are sequences of code points, so len("你好") is 2 and
 * "你好"[1] is "好"; every helper here works in code points.  Character
 * classes come from utf8proc's Unicode tables.  Case mapping uses simple
 * (one-to-one) mappings plus the one full mapping that real text meets
 * (German sharp s upper-cases to "SS"); Greek final sigma and the other
 * SpecialCasing.txt entries are not reproduced.
 */
#include "chat/jinja.h"

#include <string.h>
#include <utf8proc.h>

uint32_t tlm_ustr_next(const char *s, size_t len, size_t *i) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t n =
        utf8proc_iterate((const utf8proc_uint8_t *)s + *i, (utf8proc_ssize_t)(len - *i), &cp);
    if (n <= 0) {
        cp = (unsigned char)s[*i];
        n = 1;
    }
    *i += (size_t)n;
    return (uint32_t)cp;
}

size_t tlm_ustr_put(char *out, uint32_t cp) {
    return (size_t)utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)out);
}

tlm_status tlm_ustr_append_cp(tlm_buf *b, uint32_t cp) {
    char tmp[4];
    size_t n = tlm_ustr_put(tmp, cp);
    return tlm_buf_append(b, tmp, n);
}

size_t tlm_ustr_count(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        tlm_ustr_next(s, len, &i);
        n++;
    }
    return n;
}

size_t tlm_ustr_offset(const char *s, size_t len, size_t cp_index) {
    size_t i = 0;
    for (size_t k = 0; k < cp_index && i < len; k++) tlm_ustr_next(s, len, &i);
    return i;
}

bool tlm_ustr_valid(const char *s, size_t len) {
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) return false;
        i += (size_t)n;
    }
    return true;
}

/* ---- Character classes ---- */

bool tlm_ucp_isspace(uint32_t cp) {
    /* Exactly the code points for which Python's str.isspace() is true. */
    if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x1f);
    switch (cp) {
    case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029: case 0x202f: case 0x205f:
    case 0x3000: return true;
    default: return cp >= 0x2000 && cp <= 0x200a;
    }
}

static utf8proc_category_t cat(uint32_t cp) {
    return utf8proc_category((utf8proc_int32_t)cp);
}

bool tlm_ucp_isalpha(uint32_t cp) {
    utf8proc_category_t k = cat(cp);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT ||
           k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_LO;
}

bool tlm_ucp_isdigit(uint32_t cp) { return cat(cp) == UTF8PROC_CATEGORY_ND; }

bool tlm_ucp_isword(uint32_t cp) {
    if (cp == '_') return true;
    utf8proc_category_t k = cat(cp);
    return tlm_ucp_isalpha(cp) || k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL ||
           k == UTF8PROC_CATEGORY_NO;
}

bool tlm_ucp_isprintable(uint32_t cp) {
    if (cp == ' ') return true;
    switch (cat(cp)) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_CN: case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP: case UTF8PROC_CATEGORY_ZS: return false;
    default: return true;
    }
}

bool tlm_ucp_islower(uint32_t cp) { return cat(cp) == UTF8PROC_CATEGORY_LL; }
bool tlm_ucp_isupper(uint32_t cp) {
    utf8proc_category_t k = cat(cp);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LT;
}

bool tlm_ucp_iscased(uint32_t cp) {
    utf8proc_category_t k = cat(cp);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT ||
           (uint32_t)utf8proc_toupper((utf8proc_int32_t)cp) != cp ||
           (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp) != cp;
}

uint32_t tlm_ucp_lower(uint32_t cp) { return (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp); }
uint32_t tlm_ucp_upper(uint32_t cp) { return (uint32_t)utf8proc_toupper((utf8proc_int32_t)cp); }
uint32_t tlm_ucp_title(uint32_t cp) { return (uint32_t)utf8proc_totitle((utf8proc_int32_t)cp); }

/* ---- Case mapping ---- */

static tlm_status put_mapped(tlm_buf *b, uint32_t cp, char how) {
    if (cp == 0xdf && how != 'l') /* sharp s: full mapping "SS" / "Ss" */
        return tlm_buf_append(b, how == 'u' ? "SS" : "Ss", 2);
    uint32_t m = how == 'u' ? tlm_ucp_upper(cp) : how == 'l' ? tlm_ucp_lower(cp) : tlm_ucp_title(cp);
    return tlm_ustr_append_cp(b, m);
}

static bool jinja_title_sep(uint32_t cp) {
    return cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' || tlm_ucp_isspace(cp);
}

tlm_status tlm_ustr_case(tlm_buf *b, const char *s, size_t len, char mode) {
    bool prev_cased = false, first = true;
    tlm_status st = tlm_buf_reserve(b, len);
    for (size_t i = 0; st == TLM_OK && i < len; first = false) {
        uint32_t cp = tlm_ustr_next(s, len, &i);
        switch (mode) {
        case 'u': st = put_mapped(b, cp, 'u'); break;
        case 'l': st = put_mapped(b, cp, 'l'); break;
        case 'c': st = put_mapped(b, cp, first ? 't' : 'l'); break;
        case 't':
            st = put_mapped(b, cp, prev_cased ? 'l' : 't');
            prev_cased = tlm_ucp_iscased(cp);
            break;
        default: /* 'j': upper after each run of separators, else lower */
            if (jinja_title_sep(cp)) {
                st = tlm_ustr_append_cp(b, cp);
                prev_cased = false;
            } else {
                st = put_mapped(b, cp, (first || !prev_cased) ? 'u' : 'l');
                prev_cased = true;
            }
            break;
        }
    }
    return st;
}

/* ---- strip / find ---- */

static bool in_chars(uint32_t cp, const char *chars, size_t n) {
    if (!chars) return tlm_ucp_isspace(cp);
    for (size_t i = 0; i < n;)
        if (tlm_ustr_next(chars, n, &i) == cp) return true;
    return false;
}

void tlm_ustr_strip(const char *s, size_t len, const char *chars, size_t chars_len, char which,
                    size_t *start, size_t *end) {
    size_t a = 0, z = len;
    if (which != 'r') {
        while (a < len) {
            size_t i = a;
            if (!in_chars(tlm_ustr_next(s, len, &i), chars, chars_len)) break;
            a = i;
        }
    }
    if (which != 'l') {
        while (z > a) {
            size_t k = z - 1; /* back up to the start of the last code point */
            while (k > a && ((unsigned char)s[k] & 0xc0) == 0x80) k--;
            size_t i = k;
            if (!in_chars(tlm_ustr_next(s, len, &i), chars, chars_len)) break;
            z = k;
        }
    }
    *start = a;
    *end = z;
}

size_t tlm_ustr_find(const char *hay, size_t hay_len, const char *needle, size_t n_len,
                     size_t from) {
    if (from > hay_len) return SIZE_MAX;
    if (n_len == 0) return from;
    const char *p = memmem(hay + from, hay_len - from, needle, n_len);
    return p ? (size_t)(p - hay) : SIZE_MAX;
}

size_t tlm_ustr_rfind(const char *hay, size_t hay_len, const char *needle, size_t n_len) {
    if (n_len > hay_len) return SIZE_MAX;
    for (size_t i = hay_len - n_len + 1; i-- > 0;)
        if (memcmp(hay + i, needle, n_len) == 0) return i;
    return SIZE_MAX;
}
