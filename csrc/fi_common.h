/* fi_common.h: status codes, sizes and the threading/floating-point environment shared by every
 * fastinit kernel. Plain C11, no Python.h. Mirrored in src/fastinit/_core.pyx. */
#ifndef FI_COMMON_H
#define FI_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Only functions that can fail return a status; Cython turns it into an exception. */
typedef enum {
    FI_OK = 0,
    FI_ENOMEM = 1,      /* scratch allocation failed -> MemoryError */
    FI_EINVAL = 2,      /* argument rejected by C (should have been caught in Python) */
    FI_EINTR = 3,       /* caller asked to stop (Ctrl-C seen between steps) */
    FI_ENONFINITE = 4   /* non-finite values appeared and errors="raise" */
} fi_status;

#define FI_RESTRICT restrict

/* Number of threads a kernel uses when the caller passes n_threads <= 0: omp_get_max_threads()
 * (it follows OMP_NUM_THREADS and threadpoolctl), 1 without OpenMP or in a forked child. */
int fi_default_threads(void);
/* 1 when compiled with OpenMP. */
int fi_have_openmp(void);
/* The OpenMP version macro (_OPENMP), 0 without OpenMP. */
int fi_openmp_version(void);
/* Called in a child after fork (os.register_at_fork): libgomp's pool is unusable there, so every
 * later kernel in this process runs serially and never enters a parallel region. */
void fi_mark_forked_child(void);
int fi_is_forked_child(void);
/* Clamp a requested thread count to what may be used (>= 1; 1 in a forked child). */
int fi_effective_threads(int n_threads);

/* Run fn(ctx, c) for c in [0, n_chunks). Chunks are assigned statically; with one thread (or one
 * chunk) no parallel region is entered at all. Every participating thread runs with
 * flush-to-zero and denormals-are-zero cleared (another library may have set them) and gets its
 * previous MXCSR back afterwards. fn must not fail. */
typedef void (*fi_chunk_fn)(void *ctx, int64_t chunk);
void fi_parallel_chunks(int64_t n_chunks, int n_threads, fi_chunk_fn fn, void *ctx);

/* Save the floating-point control word and clear FTZ/DAZ; restore it. No-ops off x86. */
unsigned int fi_fpenv_enter(void);
void fi_fpenv_leave(unsigned int saved);
/* Test hook: set (1) or clear (0) FTZ and DAZ in the calling thread, as another library might;
 * returns the previous state (1 if either was set). */
int fi_fpenv_set_ftz(int on);

#endif
