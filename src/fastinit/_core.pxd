# Declarations of the C core (csrc/) for Cython. Mirrors fi_common.h, fi_philox.h, fi_cpu.h,
# fi_random.h and fi_bitgen.h: keep in step with them.
from libc.stdint cimport uint32_t, uint64_t, int64_t

cdef extern from "fi_common.h" nogil:
    ctypedef enum fi_status:
        FI_OK
        FI_ENOMEM
        FI_EINVAL
        FI_EINTR
        FI_ENONFINITE
    int fi_default_threads()
    int fi_have_openmp()
    int fi_openmp_version()
    void fi_mark_forked_child()
    int fi_is_forked_child()
    int fi_effective_threads(int n_threads)
    int fi_fpenv_set_ftz(int on)

cdef extern from "fi_philox.h" nogil:
    ctypedef struct fi_stream_id:
        uint32_t key[2]
        uint64_t stream
    void fi_philox4x32_10(const uint32_t *ctr_in, const uint32_t *key_in, uint32_t *out)

cdef extern from "fi_cpu.h" nogil:
    ctypedef enum fi_simd_path:
        FI_SIMD_BASELINE
        FI_SIMD_AVX2
    int fi_cpu_has_avx2()
    fi_simd_path fi_simd_current()
    fi_simd_path fi_simd_select(fi_simd_path wanted)
    const char *fi_simd_name(fi_simd_path p)

cdef extern from "fi_random.h" nogil:
    ctypedef enum fi_dist:
        FI_DIST_RAW_U32
        FI_DIST_UNIFORM_F32
        FI_DIST_UNIFORM_F64
        FI_DIST_NORMAL_F32
        FI_DIST_NORMAL_F64
        FI_DIST_TRUNCNORM_F32
        FI_DIST_TRUNCNORM_F64
    ctypedef struct fi_dist_params:
        double loc, scale, low, range, below_high
        double tn_pa, tn_qb, tn_mass, tn_za, tn_zb, out_lo, out_hi
    void fi_random_fill(fi_dist dist, const fi_stream_id *s, uint64_t v0, int64_t n,
                        const fi_dist_params *p, void *out, int n_threads)
    void fi_uniform_fill_f32(const fi_stream_id *s, uint64_t v0, int64_t n, double low,
                             double high, float *out, int n_threads)
    void fi_uniform_fill_f64(const fi_stream_id *s, uint64_t v0, int64_t n, double low,
                             double high, double *out, int n_threads)
    fi_status fi_truncnorm_prepare(double a, double b, double loc, double scale, int is_f32,
                                   fi_dist_params *p)
    void fi_random_transform(fi_dist dist, const uint32_t *words, int64_t n_groups,
                             const fi_dist_params *p, void *out)

cdef extern from "fi_bitgen.h" nogil:
    ctypedef struct fi_bitgen_t:
        void *state
        uint64_t (*next_uint64)(void *st) noexcept nogil
    ctypedef struct fi_bitgen_state:
        fi_stream_id id
        uint64_t pos
        int has_cache
    void fi_bitgen_init(fi_bitgen_t *bg, fi_bitgen_state *st)
