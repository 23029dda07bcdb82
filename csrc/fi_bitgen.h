/* fi_bitgen.h: a fastinit stream behind NumPy's bitgen_t interface, so numpy.random.Generator can
 * draw integers, permutations and every other distribution from it. fi_bitgen_t mirrors
 * numpy/random/bitgen.h field for field (NumPy's stable ABI). Words come out in stream order
 * (fi_philox.h): next_uint32 takes one word, next_uint64 two (low word first). */
#ifndef FI_BITGEN_H
#define FI_BITGEN_H

#include <stdint.h>

#include "fi_philox.h"

typedef struct fi_bitgen_t {
    void *state;
    uint64_t (*next_uint64)(void *st);
    uint32_t (*next_uint32)(void *st);
    double (*next_double)(void *st);
    uint64_t (*next_raw)(void *st);
} fi_bitgen_t;

typedef struct {
    fi_stream_id id;
    uint64_t pos;          /* next word */
    uint64_t cached_group; /* group held in words[] */
    int has_cache;
    uint32_t words[FI_GROUP_WORDS];
} fi_bitgen_state;

void fi_bitgen_init(fi_bitgen_t *bg, fi_bitgen_state *st);
uint32_t fi_bitgen_next_uint32(void *st);
uint64_t fi_bitgen_next_uint64(void *st);
double fi_bitgen_next_double(void *st);

#endif
