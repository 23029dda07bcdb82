/* fi_random_table.h: the kernel tables each SIMD path exports to the dispatcher (fi_random.c). */
#ifndef FI_RANDOM_TABLE_H
#define FI_RANDOM_TABLE_H

#include "fi_random.h"

typedef void (*fi_fill_kernel)(const fi_stream_id *s, uint64_t v0, int64_t n,
                               const fi_dist_params *p, void *out);
typedef void (*fi_xform_kernel)(const uint32_t *words, const fi_dist_params *p, void *out);
typedef void (*fi_group_kernel)(const fi_stream_id *s, uint64_t g, uint32_t *words);

extern const fi_fill_kernel fi_fill_table_baseline[FI_DIST_COUNT];
extern const fi_xform_kernel fi_xform_table_baseline[FI_DIST_COUNT];
extern const fi_group_kernel fi_group_fn_baseline;
#ifdef FI_BUILD_AVX2
extern const fi_fill_kernel fi_fill_table_avx2[FI_DIST_COUNT];
extern const fi_xform_kernel fi_xform_table_avx2[FI_DIST_COUNT];
extern const fi_group_kernel fi_group_fn_avx2;
#endif

#endif
