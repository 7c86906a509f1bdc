/*
 * utf8.c - the Unicode plumbing under the tokenizer: UTF-8 validation and
 * repair, an incremental decoder for streaming output, NFC with a fast
 * "already normalised" check, and GPT-2's byte-level alphabet.
 *
 * Invalid UTF-8 is repaired the way the WHATWG Encoding Standard decodes it
 * (TextDecoder, Python's errors="replace"): each maximal subpart of an
 * invalid sequence becomes one U+FFFD.  Hugging Face tokenizers take strings,
 * so this is exactly what they see when given bytes.
 */
#include "tokenizer/tok_impl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static const char REPLACEMENT[3] = {(char)0xEF, (char)0xBF, (char)0xBD};

/* Bounds for the second byte of a sequence led by c (the later bytes are
 * always 80..BF), and the number of continuation bytes; 0 = invalid lead. */
static int lead_info(uint8_t c, uint8_t *lower, uint8_t *upper) {
    *lower = 0x80;
    *upper = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) return 1;
    if (c >= 0xE0 && c <= 0xEF) {
        if (c == 0xE0) *lower = 0xA0; /* no overlong forms */
        if (c == 0xED) *upper = 0x9F; /* no surrogates */
        return 2;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (c == 0xF0) *lower = 0x90;
        if (c == 0xF4) *upper = 0x8F; /* nothing above U+10FFFF */
        return 3;
    }
    return 0;
}

/* Length of the valid character at s[i..n), or 0 when invalid; *bad is
 * then how many bytes the replacement character consumes. */
static size_t valid_char(const uint8_t *s, size_t i, size_t n, size_t *bad) {
    uint8_t lo, hi;
    int need = lead_info(s[i], &lo, &hi);
    *bad = 1;
    if (need == 0) return 0;
    for (int k = 1; k <= need; k++) {
        if (i + k >= n || s[i + k] < lo || s[i + k] > hi) {
            *bad = (size_t)k;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return (size_t)need + 1;
}

size_t tlm_utf8_valid_prefix(const char *str, size_t n) {
    const uint8_t *s = (const uint8_t *)str;
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t bad, len = valid_char(s, i, n, &bad);
        if (!len) return i;
        i += len;
    }
    return n;
}

tlm_status tlm_utf8_sanitize(const char *str, size_t n, tlm_buf *out) {
    const uint8_t *s = (const uint8_t *)str;
    size_t i = 0;
    while (i < n) {
        size_t ok = i + tlm_utf8_valid_prefix(str + i, n - i);
        if (tlm_buf_append(out, s + i, ok - i) != TLM_OK) return TLM_ERR_NOMEM;
        if (ok == n) break;
        size_t bad;
        valid_char(s, ok, n, &bad);
        if (tlm_buf_append(out, REPLACEMENT, 3) != TLM_OK) return TLM_ERR_NOMEM;
        i = ok + bad;
    }
    return TLM_OK;
}

/* ---- Incremental decoder ---- */

static size_t stream_byte(tlm_utf8_stream *st, uint8_t c, char *out) {
    size_t w = 0;
    if (st->need) {
        if (c >= st->lower && c <= st->upper) {
            st->buf[++st->seen] = c;
            st->lower = 0x80;
            st->upper = 0xBF;
            if (st->seen < st->need) return 0;
            memcpy(out, st->buf, (size_t)st->need + 1);
            w = (size_t)st->need + 1;
            st->need = 0;
            return w;
        }
        /* The sequence broke off: replace it, then read c afresh. */
        memcpy(out, REPLACEMENT, 3);
        w = 3;
        st->need = 0;
    }
    if (c < 0x80) {
        out[w] = (char)c;
        return w + 1;
    }
    int need = lead_info(c, &st->lower, &st->upper);
    if (!need) {
        memcpy(out + w, REPLACEMENT, 3);
        return w + 3;
    }
    st->need = (uint8_t)need;
    st->seen = 0;
    st->buf[0] = c;
    return w;
}

size_t tlm_utf8_stream_feed(tlm_utf8_stream *st, const uint8_t *p, size_t n, char *out) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++) w += stream_byte(st, p[i], out + w);
    return w;
}

size_t tlm_utf8_stream_finish(tlm_utf8_stream *st, char *out) {
    if (!st->need) return 0;
    st->need = 0;
    memcpy(out, REPLACEMENT, 3);
    return 3;
}

/* ---- NFC ----
 * Most text (ASCII, CJK, Hangul syllables) is already NFC and cannot change.
 * A code point is "inert" when it has combining class 0, no canonical
 * decomposition and can never be the second half of a canonical
 * composition; text made only of inert code points is its own NFC, so the
 * costly normaliser runs only on text with accents or marks. */

static uint8_t *inert_bits; /* (0x110000 / 8); 1 = inert */
static pthread_once_t inert_once = PTHREAD_ONCE_INIT;

static void mark(uint8_t *bits, int32_t cp, bool inert) {
    if (inert)
        bits[cp >> 3] |= (uint8_t)(1u << (cp & 7));
    else
        bits[cp >> 3] &= (uint8_t) ~(1u << (cp & 7));
}

static bool canonical_decomp(const utf8proc_property_t *p) {
    return p->decomp_seqindex != UINT16_MAX && p->decomp_type == 0;
}

static void build_inert(void) {
    uint8_t *bits = calloc(0x110000 / 8, 1);
    if (!bits) return; /* inert_bits stays NULL: every check says "maybe" */
    for (int32_t cp = 0; cp < 0x110000; cp++) {
        const utf8proc_property_t *p = utf8proc_get_property(cp);
        bool jamo = (cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0xA960 && cp <= 0xA97F) ||
                    (cp >= 0xD7B0 && cp <= 0xD7FF);
        mark(bits, cp, p->combining_class == 0 && !canonical_decomp(p) && !jamo);
    }
    /* The last code point of any canonical decomposition may combine with
     * what precedes it. */
    for (int32_t cp = 0; cp < 0x110000; cp++) {
        const utf8proc_property_t *p = utf8proc_get_property(cp);
        if (!canonical_decomp(p)) continue;
        utf8proc_int32_t d[8];
        int last = 0;
        utf8proc_ssize_t nd = utf8proc_decompose_char(cp, d, 8, UTF8PROC_DECOMPOSE, &last);
        if (nd >= 2 && nd <= 8) mark(bits, d[nd - 1], false);
    }
    inert_bits = bits;
}

static bool is_inert(const uint8_t *s, size_t n, size_t i, size_t *len) {
    if (s[i] < 0x80) {
        *len = 1;
        return true;
    }
    utf8proc_int32_t cp;
    utf8proc_ssize_t l = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
    *len = l > 0 ? (size_t)l : 1;
    return l > 0 && inert_bits && (inert_bits[cp >> 3] & (1u << (cp & 7)));
}

size_t tlm_nfc_first_unsafe(const char *str, size_t n) {
    const uint8_t *s = (const uint8_t *)str;
    size_t i = 0, len;
    while (i < n && s[i] < 0x80) i++;
    if (i == n) return n;
    pthread_once(&inert_once, build_inert);
    while (i < n && is_inert(s, n, i, &len)) i += len;
    return i;
}

static tlm_status nfc_map(const char *s, size_t n, tlm_buf *out) {
    utf8proc_uint8_t *res = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &res,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (r < 0) return r == UTF8PROC_ERROR_NOMEM ? TLM_ERR_NOMEM : TLM_ERR_INVALID_ARG;
    tlm_status st = tlm_buf_append(out, res, (size_t)r);
    free(res);
    return st;
}

/* An inert code point is a starter that nothing before it can combine
 * with, so NFC never acts across it: the text splits into stretches that
 * end just before an inert code point, and only the stretches holding
 * something else need the normaliser.  Each such stretch starts at the
 * starter before its first non-inert code point, which it may combine with. */
tlm_status tlm_nfc_append(const char *str, size_t n, size_t from, tlm_buf *out) {
    const uint8_t *s = (const uint8_t *)str;
    size_t copied = 0, prev = 0, i = from, len; /* prev: the code point before i */
    if (from > 0) {
        prev = from - 1;
        while (prev > 0 && (s[prev] & 0xC0) == 0x80) prev--;
    }
    tlm_status st = TLM_OK;
    while (i < n && !st) {
        if (is_inert(s, n, i, &len)) {
            prev = i;
            i += len;
            continue;
        }
        size_t seg = i > 0 && prev >= copied ? prev : copied, end = i + len;
        while (end < n && !is_inert(s, n, end, &len)) end += len;
        st = tlm_buf_append(out, s + copied, seg - copied);
        if (!st) st = nfc_map(str + seg, end - seg, out);
        copied = i = end;
    }
    return st ? st : tlm_buf_append(out, s + copied, n - copied);
}

/* ---- GPT-2 byte-level alphabet ----
 * Printable bytes stand for themselves; the other 68 (controls, space, DEL,
 * NBSP, soft hyphen...) are moved to U+0100 and up, in byte order. */

static bool printable(int b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t tlm_bytelevel_cp(uint8_t b) {
    if (printable(b)) return b;
    if (b <= 0x20) return 256u + b;               /* 33 controls and space */
    if (b <= 0xA0) return 256u + 33 + (b - 0x7F); /* DEL, C1 controls, NBSP */
    return 256u + 67;                             /* soft hyphen */
}

int tlm_bytelevel_byte(uint32_t cp) {
    if (cp < 256) return printable((int)cp) ? (int)cp : -1;
    uint32_t k = cp - 256;
    if (k < 33) return (int)k;
    if (k < 67) return (int)(0x7F + k - 33);
    if (k == 67) return 0xAD;
    return -1;
}
