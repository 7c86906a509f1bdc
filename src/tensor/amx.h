/*
 * amx.h - what the AMX kernels share: the tile configuration block and
 * how to load it.
 *
 * AMX (Sapphire Rapids and later) multiplies 8-bit tiles of up to 16 rows
 * x 64 bytes into 16 x 16 int32 tiles.  A thread describes its tiles once
 * (ldtilecfg) before using them and releases them after (tilerelease), so
 * the OS need not save 8 KB of tile state at every switch.  Whether AMX
 * may be used at all is tlm_simd_amx() (simd.h); functions that use the
 * tile instructions carry TLM_AMX_FN.
 */
#ifndef TLM_TENSOR_AMX_H
#define TLM_TENSOR_AMX_H

#include <immintrin.h>
#include <stdint.h>

#define TLM_AMX_FN __attribute__((target("amx-tile,amx-int8")))

/* The 64-byte operand of ldtilecfg (palette 1). */
typedef struct tlm_amx_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tlm_amx_config;

/* Loads c.  GCC's _tile_loadconfig tells the compiler it reads 8 bytes, so
 * the barrier makes every store to c land first. */
TLM_AMX_FN static inline void tlm_amx_load(const tlm_amx_config *c) {
    __asm__ volatile("" ::: "memory");
    _tile_loadconfig(c);
}

TLM_AMX_FN static inline void tlm_amx_release(void) { _tile_release(); }

#endif /* TLM_TENSOR_AMX_H */
