/*
 * simd.h - which vector instruction set the kernels use.
 *
 * One binary runs on any CPU of its architecture: ISA-specific kernels live
 * in *_avx2.c, *_avx512.c and *_neon.c, and this module picks a path once,
 * from CPUID (or the environment variable TLM_SIMD=scalar|avx2|avx512|neon),
 * and hands out the function-pointer tables of that path.  Callers never
 * test the ISA themselves.
 *
 * Paths:
 *   scalar  portable C, the reference every other path is tested against
 *   avx2    AVX2 + FMA + F16C
 *   avx512  AVX-512 F/BW/VL + VNNI (BF16 used when present)
 *   neon    AArch64 Advanced SIMD (dot-product instructions when present)
 */
#ifndef TLM_TENSOR_SIMD_H
#define TLM_TENSOR_SIMD_H

#include "tinylm.h"

#include <stdbool.h>

typedef enum tlm_simd {
    TLM_SIMD_SCALAR = 0,
    TLM_SIMD_AVX2 = 1,
    TLM_SIMD_AVX512 = 2,
    TLM_SIMD_NEON = 3,
    TLM_SIMD_COUNT
} tlm_simd;

typedef struct tlm_cpu_features {
    bool avx2, fma, f16c;                       /* the avx2 path */
    bool avx512f, avx512bw, avx512vl, avx512dq; /* the avx512 path */
    bool avx512vnni, avx512bf16;                /* avx512 sub-features */
    bool amx_int8;                              /* AMX tiles, usable here */
    bool neon, neon_dotprod;                    /* aarch64 */
} tlm_cpu_features;

/* What this CPU (and OS) supports; detected once. */
const tlm_cpu_features *tlm_cpu_features_get(void);

/* "scalar", "avx2", "avx512", "neon". */
const char *tlm_simd_name(tlm_simd s);

/* Parses a path name; false if unknown. */
bool tlm_simd_from_name(const char *name, tlm_simd *out);

/* True when this build contains the path's kernels and the CPU can run
 * them.  The avx512 path needs F, BW, VL, DQ and VNNI. */
bool tlm_simd_supported(tlm_simd s);

/* The fastest supported path. */
tlm_simd tlm_simd_best(void);

/* Chooses the active path: TLM_SIMD from the environment if set, else the
 * best.  Returns TLM_ERR_UNSUPPORTED (message names the missing feature)
 * or TLM_ERR_INVALID_ARG (unknown name) and leaves the choice unchanged
 * when TLM_SIMD names a path this CPU cannot run.  Safe to call more than
 * once; kernels call it lazily, so an explicit call is only needed to see
 * the error (the lazy call reports it once on stderr and uses the best). */
tlm_status tlm_simd_init(tlm_error *err);

/* The active path (initialising lazily). */
tlm_simd tlm_simd_active(void);

/* Forces the active path, for tests and benchmarks.  Not thread-safe with
 * respect to kernels running at the same time. */
tlm_status tlm_simd_set(tlm_simd s, tlm_error *err);

/* True when the avx512 path's many-token products of quantized weights
 * (the 32-block types, and Q4_K and Q6_K in the X16 layout) use AMX tiles
 * for their integer sums (the results are the same bits either way): the
 * CPU and OS support AMX-INT8 and TLM_AMX is not "0". */
bool tlm_simd_amx(void);

/* Turns AMX use on or off, for tests and benchmarks (on only where
 * supported); returns the new state.  Not thread-safe with respect to
 * kernels running at the same time. */
bool tlm_simd_set_amx(bool on);

#endif /* TLM_TENSOR_SIMD_H */
