/*
 * simd.c - CPU feature detection and the choice of kernel path (simd.h).
 *
 * x86 features come from CPUID plus XGETBV: a CPU may implement AVX-512
 * while the OS does not save the zmm registers, and then the instructions
 * must not be used.  (__builtin_cpu_supports would do, but clang 14 lacks
 * some of the feature names.)  On AArch64 NEON is architectural and the
 * dot-product extension is read from the auxiliary vector.
 *
 * AMX (the tile unit of Sapphire Rapids and later) takes one more step:
 * Linux enables its 8 KB register state per process only on request
 * (arch_prctl ARCH_REQ_XCOMP_PERM), so detection asks for it, and AMX
 * counts as present only if the kernel said yes.
 */
#include "tensor/simd.h"

#include "core/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#define TLM_X86 1
#elif defined(__aarch64__)
#include <sys/auxv.h>
#define TLM_ARM64 1
#endif

static tlm_cpu_features features;
static pthread_once_t features_once = PTHREAD_ONCE_INIT;

#ifdef TLM_X86
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* Asks Linux for the AMX tile data state (XFEATURE 18) for this process. */
static bool amx_permitted(void) {
#ifdef SYS_arch_prctl
    return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18) == 0;
#else
    return false;
#endif
}

static void detect(void) {
    unsigned a, b, c, d, d7 = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    bool osxsave = c & (1u << 27), avx = c & (1u << 28);
    bool fma = c & (1u << 12), f16c = c & (1u << 29);
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    bool ymm_os = (xcr0 & 0x6) == 0x6;
    bool zmm_os = ymm_os && (xcr0 & 0xe0) == 0xe0;
    unsigned b7 = 0, c7 = 0, a71 = 0, tmp;
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, tmp, b7, c7, d7);
        __cpuid_count(7, 1, a71, tmp, c, d);
    }
    tlm_cpu_features *f = &features;
    f->avx2 = avx && ymm_os && (b7 & (1u << 5));
    f->fma = fma && ymm_os;
    f->f16c = f16c && ymm_os;
    f->avx512f = zmm_os && (b7 & (1u << 16));
    f->avx512dq = f->avx512f && (b7 & (1u << 17));
    f->avx512bw = f->avx512f && (b7 & (1u << 30));
    f->avx512vl = f->avx512f && (b7 & (1u << 31));
    f->avx512vnni = f->avx512f && (c7 & (1u << 11));
    f->avx512bf16 = f->avx512f && (a71 & (1u << 5));
    /* AMX-TILE and AMX-INT8, the OS saving tile config and data (XCR0
     * bits 17, 18), and the process's permission. */
    f->amx_int8 = f->avx512vnni && (d7 & (1u << 24)) && (d7 & (1u << 25)) &&
                  (xcr0 & (3ull << 17)) == (3ull << 17) && amx_permitted();
}
#elif defined(TLM_ARM64)
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
static void detect(void) {
    features.neon = true;
    features.neon_dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
}
#else
static void detect(void) {}
#endif

const tlm_cpu_features *tlm_cpu_features_get(void) {
    pthread_once(&features_once, detect);
    return &features;
}

static const char *const names[TLM_SIMD_COUNT] = {"scalar", "avx2", "avx512", "neon"};

const char *tlm_simd_name(tlm_simd s) {
    return (unsigned)s < TLM_SIMD_COUNT ? names[s] : "unknown";
}

bool tlm_simd_from_name(const char *name, tlm_simd *out) {
    for (int i = 0; i < TLM_SIMD_COUNT; i++) {
        if (!strcmp(name, names[i])) {
            *out = (tlm_simd)i;
            return true;
        }
    }
    return false;
}

/* Names the first feature the path needs and the CPU lacks; NULL if none. */
static const char *missing_feature(tlm_simd s) {
    const tlm_cpu_features *f = tlm_cpu_features_get();
    switch (s) {
    case TLM_SIMD_SCALAR:
        return NULL;
    case TLM_SIMD_AVX2:
#ifdef TLM_X86
        return !f->avx2 ? "avx2" : !f->fma ? "fma" : !f->f16c ? "f16c" : NULL;
#else
        return "x86-64";
#endif
    case TLM_SIMD_AVX512:
#ifdef TLM_X86
        if (missing_feature(TLM_SIMD_AVX2)) return missing_feature(TLM_SIMD_AVX2);
        return !f->avx512f    ? "avx512f"
               : !f->avx512bw ? "avx512bw"
               : !f->avx512vl ? "avx512vl"
               : !f->avx512dq ? "avx512dq"
               : !f->avx512vnni ? "avx512vnni"
                                : NULL;
#else
        return "x86-64";
#endif
    case TLM_SIMD_NEON:
        return f->neon ? NULL : "aarch64 neon";
    default:
        return "a known path";
    }
}

bool tlm_simd_supported(tlm_simd s) { return missing_feature(s) == NULL; }

tlm_simd tlm_simd_best(void) {
    static const tlm_simd order[] = {TLM_SIMD_AVX512, TLM_SIMD_AVX2, TLM_SIMD_NEON};
    for (size_t i = 0; i < TLM_ARRAY_LEN(order); i++)
        if (tlm_simd_supported(order[i])) return order[i];
    return TLM_SIMD_SCALAR;
}

/* -1 until chosen.  Written once by init (or by tlm_simd_set). */
static atomic_int active = -1;
static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;

static tlm_status choose(tlm_simd *out, tlm_error *err) {
    const char *env = getenv("TLM_SIMD");
    *out = tlm_simd_best();
    if (!env || !*env) return TLM_OK;
    tlm_simd s;
    if (!tlm_simd_from_name(env, &s))
        return tlm_error_set(err, TLM_ERR_INVALID_ARG,
                             "TLM_SIMD=%s: unknown path (scalar, avx2, avx512, neon)", env);
    const char *miss = missing_feature(s);
    if (miss)
        return tlm_error_set(err, TLM_ERR_UNSUPPORTED,
                             "TLM_SIMD=%s: this CPU or build lacks %s (best here: %s)", env,
                             miss, tlm_simd_name(*out));
    *out = s;
    return TLM_OK;
}

tlm_status tlm_simd_init(tlm_error *err) {
    tlm_simd s;
    tlm_status st = choose(&s, err);
    pthread_mutex_lock(&init_mu);
    if (st == TLM_OK || atomic_load(&active) < 0) atomic_store(&active, (int)s);
    pthread_mutex_unlock(&init_mu);
    return st;
}

static pthread_once_t lazy_once = PTHREAD_ONCE_INIT;

/* The library has no logger of its own yet; a bad TLM_SIMD is rare and
 * worth one line on stderr rather than silence. */
static void lazy_init(void) {
    tlm_error err;
    if (tlm_simd_init(&err) != TLM_OK)
        fprintf(stderr, "tinylm: %s; using %s\n", err.msg,
                tlm_simd_name((tlm_simd)atomic_load(&active)));
}

tlm_simd tlm_simd_active(void) {
    int a = atomic_load(&active);
    if (a >= 0) return (tlm_simd)a;
    pthread_once(&lazy_once, lazy_init);
    return (tlm_simd)atomic_load(&active);
}

/* -1 until read from TLM_AMX; then 0 or 1. */
static atomic_int amx_on = -1;

bool tlm_simd_amx(void) {
    int on = atomic_load_explicit(&amx_on, memory_order_relaxed);
    if (on < 0) {
        const char *env = getenv("TLM_AMX");
        on = tlm_cpu_features_get()->amx_int8 && !(env && !strcmp(env, "0"));
        atomic_store(&amx_on, on);
    }
    return on;
}

bool tlm_simd_set_amx(bool on) {
    atomic_store(&amx_on, on && tlm_cpu_features_get()->amx_int8);
    return tlm_simd_amx();
}

tlm_status tlm_simd_set(tlm_simd s, tlm_error *err) {
    const char *miss = missing_feature(s);
    if (miss)
        return tlm_error_set(err, TLM_ERR_UNSUPPORTED, "simd path %s: this CPU or build lacks %s",
                             tlm_simd_name(s), miss);
    atomic_store(&active, (int)s);
    return TLM_OK;
}
