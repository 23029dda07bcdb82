/* fi_bitgen.c: NumPy bitgen_t callbacks over a fastinit stream (fi_bitgen.h). */
#include "fi_bitgen.h"

uint32_t fi_bitgen_next_uint32(void *st_) {
    fi_bitgen_state *st = (fi_bitgen_state *)st_;
    uint64_t g = st->pos / FI_GROUP_WORDS;
    if (!st->has_cache || st->cached_group != g) {
        fi_philox_group_scalar(&st->id, g, st->words);
        st->cached_group = g;
        st->has_cache = 1;
    }
    uint32_t w = st->words[st->pos % FI_GROUP_WORDS];
    st->pos++;
    return w;
}

uint64_t fi_bitgen_next_uint64(void *st) {
    uint64_t lo = fi_bitgen_next_uint32(st);
    uint64_t hi = fi_bitgen_next_uint32(st);
    return lo | (hi << 32);
}

double fi_bitgen_next_double(void *st) {
    return (double)(fi_bitgen_next_uint64(st) >> 11) * (1.0 / 9007199254740992.0);
}

void fi_bitgen_init(fi_bitgen_t *bg, fi_bitgen_state *st) {
    st->has_cache = 0;
    bg->state = st;
    bg->next_uint64 = fi_bitgen_next_uint64;
    bg->next_uint32 = fi_bitgen_next_uint32;
    bg->next_double = fi_bitgen_next_double;
    bg->next_raw = fi_bitgen_next_uint64;
}
