/*
 * sha256.h - SHA-256 (FIPS 180-4), for checking downloaded model files
 * against published digests.  Streaming: init, update any number of
 * times, final.  No allocation; the state lives in the caller's struct.
 */
#ifndef TLM_MODEL_SHA256_H
#define TLM_MODEL_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct tlm_sha256 {
    uint32_t h[8];
    uint64_t n_bytes;   /* message length so far */
    uint8_t block[64];  /* partial block */
    size_t n_block;
} tlm_sha256;

void tlm_sha256_init(tlm_sha256 *s);
void tlm_sha256_update(tlm_sha256 *s, const void *data, size_t n);
/* Writes the digest as 64 lowercase hex digits and a NUL (65 bytes). */
void tlm_sha256_final_hex(tlm_sha256 *s, char hex[65]);

#endif /* TLM_MODEL_SHA256_H */
