/* fi_philox.h: Philox4x32-10 (Salmon et al., SC'11) and fastinit's stream layout.
 *
 * Stream layout (frozen; docs/architecture.md, tests/test_regression.py):
 *   key      = 2 x 32 bits, from numpy.random.SeedSequence(seed).generate_state(2, uint32)
 *   counter  = (c0, c1, c2, c3) = (block & 0xffffffff, block >> 32,
 *                                  stream & 0xffffffff, stream >> 32)
 *   A stream is a sequence of 32-bit words. Words come in groups of 32 = 8 Philox blocks:
 *   word p belongs to group g = p / 32; inside the group, row = (p / 8) % 4 and lane = p % 8
 *   name output word `row` of block 8*g + lane. (Row-major over the 8 blocks, so a SIMD
 *   register of 8 lanes holds 8 consecutive words.)
 */
#ifndef FI_PHILOX_H
#define FI_PHILOX_H

#include <stdint.h>

#define FI_PHILOX_M0 0xD2511F53u
#define FI_PHILOX_M1 0xCD9E8D57u
#define FI_PHILOX_W0 0x9E3779B9u
#define FI_PHILOX_W1 0xBB67AE85u
#define FI_PHILOX_ROUNDS 10
#define FI_GROUP_WORDS 32   /* words per group of 8 blocks */
#define FI_GROUP_BLOCKS 8

typedef struct {
    uint32_t key[2];
    uint64_t stream;
} fi_stream_id;

static inline void fi_philox4x32_10(const uint32_t ctr_in[4], const uint32_t key_in[2],
                                    uint32_t out[4]) {
    uint32_t c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
    uint32_t k0 = key_in[0], k1 = key_in[1];
    for (int r = 0; r < FI_PHILOX_ROUNDS; r++) {
        if (r) { k0 += FI_PHILOX_W0; k1 += FI_PHILOX_W1; }
        uint64_t p0 = (uint64_t)FI_PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)FI_PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* The 32 words of group g of a stream, in stream order (scalar; used by the bit generator and
 * as the specification the SIMD kernels must match). */
static inline void fi_philox_group_scalar(const fi_stream_id *s, uint64_t g,
                                          uint32_t words[FI_GROUP_WORDS]) {
    for (int lane = 0; lane < FI_GROUP_BLOCKS; lane++) {
        uint64_t block = g * FI_GROUP_BLOCKS + (uint64_t)lane;
        uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32),
                           (uint32_t)s->stream, (uint32_t)(s->stream >> 32)};
        uint32_t out[4];
        fi_philox4x32_10(ctr, s->key, out);
        for (int row = 0; row < 4; row++) words[row * FI_GROUP_BLOCKS + lane] = out[row];
    }
}

#endif
