/* fi_parallel.c: thread counts, fork safety and the floating-point environment (fi_common.h). */
#include "fi_common.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <xmmintrin.h>
#define FI_HAVE_MXCSR 1
#endif

static volatile int fi_forked_child = 0;

void fi_mark_forked_child(void) { fi_forked_child = 1; }
int fi_is_forked_child(void) { return fi_forked_child; }

int fi_have_openmp(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int fi_openmp_version(void) {
#ifdef _OPENMP
    return _OPENMP;
#else
    return 0;
#endif
}

int fi_default_threads(void) {
#ifdef _OPENMP
    if (fi_forked_child) return 1;
    int n = omp_get_max_threads();
    return n > 0 ? n : 1;
#else
    return 1;
#endif
}

int fi_effective_threads(int n_threads) {
    if (n_threads <= 0) n_threads = fi_default_threads();
#ifndef _OPENMP
    n_threads = 1;
#endif
    if (fi_forked_child) n_threads = 1;
    return n_threads;
}

unsigned int fi_fpenv_enter(void) {
#ifdef FI_HAVE_MXCSR
    unsigned int saved = _mm_getcsr();
    /* bit 15: flush-to-zero, bit 6: denormals-are-zero */
    unsigned int wanted = saved & ~((1u << 15) | (1u << 6));
    if (wanted != saved) _mm_setcsr(wanted);
    return saved;
#else
    return 0;
#endif
}

void fi_fpenv_leave(unsigned int saved) {
#ifdef FI_HAVE_MXCSR
    if (_mm_getcsr() != saved) _mm_setcsr(saved);
#else
    (void)saved;
#endif
}

int fi_fpenv_set_ftz(int on) {
#ifdef FI_HAVE_MXCSR
    unsigned int csr = _mm_getcsr();
    unsigned int bits = (1u << 15) | (1u << 6);
    int was = (csr & bits) != 0;
    _mm_setcsr(on ? (csr | bits) : (csr & ~bits));
    return was;
#else
    (void)on;
    return 0;
#endif
}

void fi_parallel_chunks(int64_t n_chunks, int n_threads, fi_chunk_fn fn, void *ctx) {
    n_threads = fi_effective_threads(n_threads);
    if (n_chunks <= 0) return;
    if (n_threads > n_chunks) n_threads = (int)n_chunks;
    if (n_threads <= 1) {
        unsigned int saved = fi_fpenv_enter();
        for (int64_t c = 0; c < n_chunks; c++) fn(ctx, c);
        fi_fpenv_leave(saved);
        return;
    }
#ifdef _OPENMP
    #pragma omp parallel num_threads(n_threads)
    {
        unsigned int saved = fi_fpenv_enter();
        #pragma omp for schedule(static)
        for (int64_t c = 0; c < n_chunks; c++) fn(ctx, c);
        fi_fpenv_leave(saved);
    }
#endif
}
