/*
 * stop.h - stop strings over streamed text: where the first one starts, and
 * how much of the text held so far can be released because no stop string
 * can begin in it.  Shared by tlm_generate and the server's scheduler, which
 * stream the same way.  Stop strings must be non-empty.
 */
#ifndef TLM_SAMPLE_STOP_H
#define TLM_SAMPLE_STOP_H

#include <stddef.h>
#include <stdint.h>

/* Offset of the earliest stop string in s[0, n), or n when there is none. */
size_t tlm_stop_find(const char *const *stop, int32_t n_stop, const char *s, size_t n);

/* How many leading bytes of s[0, n) can be emitted: all but the longest
 * tail that is a proper prefix of a stop string (it may still become one),
 * stepped back to a UTF-8 character boundary. */
size_t tlm_stop_safe_len(const char *const *stop, int32_t n_stop, const char *s, size_t n);

#endif /* TLM_SAMPLE_STOP_H */
