/*
 * rng.h - tinylm's own seeded random generator (xoshiro256**, seeded through
 * splitmix64).  Our own rather than rand(): the same seed must give the same
 * stream on every platform and C library, because seeds are a user-visible
 * promise (same seed, same text) and synth models must be reproducible.
 */
#ifndef TLM_CORE_RNG_H
#define TLM_CORE_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct tlm_rng {
    uint64_t s[4];
} tlm_rng;

static inline uint64_t tlm_splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void tlm_rng_seed(tlm_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = tlm_splitmix64(&seed);
}

static inline uint64_t tlm_rng_next(tlm_rng *r) {
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* Uniform in [0, 1) with 53 bits. */
static inline double tlm_rng_uniform(tlm_rng *r) {
    return (double)(tlm_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal (Box-Muller; one value per call, simple over fast). */
static inline double tlm_rng_normal(tlm_rng *r) {
    double u1 = tlm_rng_uniform(r), u2 = tlm_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Fills out[0..n) with normal values of standard deviation std, using both
 * halves of each Box-Muller pair (twice as fast as tlm_rng_normal). */
static inline void tlm_rng_fill_normal(tlm_rng *r, float *out, uint64_t n, float std) {
    for (uint64_t i = 0; i < n; i += 2) {
        double u1 = tlm_rng_uniform(r), u2 = tlm_rng_uniform(r);
        if (u1 < 1e-300) u1 = 1e-300;
        double rad = sqrt(-2.0 * log(u1)) * std, a = 6.283185307179586 * u2;
        out[i] = (float)(rad * cos(a));
        if (i + 1 < n) out[i + 1] = (float)(rad * sin(a));
    }
}

#endif /* TLM_CORE_RNG_H */
