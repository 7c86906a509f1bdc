/*
 * stop.c - stop strings over streamed text (see stop.h).  Held text is at
 * most a stop string long, so plain scans are fast enough.
 */
#include "sample/stop.h"

#include "core/util.h"

#include <string.h>

size_t tlm_stop_find(const char *const *stop, int32_t n_stop, const char *s, size_t n) {
    size_t first = n;
    for (int32_t i = 0; i < n_stop; i++) {
        size_t len = strlen(stop[i]);
        for (size_t at = 0; len && at + len <= n && at < first; at++)
            if (memcmp(s + at, stop[i], len) == 0) first = at;
    }
    return first;
}

/* Length of the longest tail of s[0, n) that is a proper prefix of a stop
 * string. */
static size_t partial_tail(const char *const *stop, int32_t n_stop, const char *s, size_t n) {
    size_t best = 0;
    for (int32_t i = 0; i < n_stop; i++) {
        size_t len = strlen(stop[i]);
        for (size_t k = TLM_MIN(len - 1, n); len && k > best; k--)
            if (memcmp(s + n - k, stop[i], k) == 0) {
                best = k;
                break;
            }
    }
    return best;
}

size_t tlm_stop_safe_len(const char *const *stop, int32_t n_stop, const char *s, size_t n) {
    size_t at = n - partial_tail(stop, n_stop, s, n);
    /* A stop string may start mid-character: never emit half of one. */
    while (at > 0 && ((unsigned char)s[at] & 0xC0) == 0x80) at--;
    return at;
}
