"""Pure-NumPy reference of fastinit's random streams and transforms.

Philox4x32-10 in NumPy integer arithmetic, the stream layout of csrc/fi_philox.h, and the
float transforms of csrc/fi_random_kernels.h / fi_math.h replayed operation by operation in the
same precision and order (NumPy's float32/float64 arithmetic is IEEE with no fused multiply-add),
so the C kernels must agree with it bit for bit.
"""

from __future__ import annotations

import numpy as np

M32 = 0xFFFFFFFF
PHILOX_M0, PHILOX_M1 = 0xD2511F53, 0xCD9E8D57
PHILOX_W0, PHILOX_W1 = 0x9E3779B9, 0xBB67AE85

f32 = np.float32


def philox4x32_10(ctr: np.ndarray, key) -> np.ndarray:
    """Philox4x32-10 of counters ``ctr`` (N, 4) uint32 under ``key`` (2 words) -> (N, 4) uint32."""
    c = np.asarray(ctr, dtype=np.uint64).reshape(-1, 4)
    c0, c1, c2, c3 = (c[:, i].copy() for i in range(4))
    k0, k1 = int(key[0]), int(key[1])
    for r in range(10):
        if r:
            k0 = (k0 + PHILOX_W0) & M32
            k1 = (k1 + PHILOX_W1) & M32
        p0 = np.uint64(PHILOX_M0) * c0
        p1 = np.uint64(PHILOX_M1) * c2
        n0 = (p1 >> np.uint64(32)) ^ c1 ^ np.uint64(k0)
        n1 = p1 & np.uint64(M32)
        n2 = (p0 >> np.uint64(32)) ^ c3 ^ np.uint64(k1)
        n3 = p0 & np.uint64(M32)
        c0, c1, c2, c3 = n0, n1, n2, n3
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.uint32)


def group_words(key, stream: int, groups: np.ndarray) -> np.ndarray:
    """Words of the given groups, shape (len(groups), 32), in stream order."""
    groups = np.asarray(groups, dtype=np.uint64)
    blocks = (groups[:, None] * np.uint64(8) + np.arange(8, dtype=np.uint64)[None, :]).reshape(-1)
    ctr = np.empty((blocks.size, 4), dtype=np.uint64)
    ctr[:, 0] = blocks & np.uint64(M32)
    ctr[:, 1] = blocks >> np.uint64(32)
    ctr[:, 2] = stream & M32
    ctr[:, 3] = stream >> 32
    out = philox4x32_10(ctr, key).reshape(len(groups), 8, 4)  # (group, lane, row)
    return out.transpose(0, 2, 1).reshape(len(groups), 32)      # row-major over lanes


def stream_words(key, stream: int, p0: int, n: int) -> np.ndarray:
    """Words p0 .. p0+n-1 of a stream."""
    if n == 0:
        return np.empty(0, dtype=np.uint32)
    g0, g1 = p0 // 32, (p0 + n - 1) // 32
    words = group_words(key, stream, np.arange(g0, g1 + 1)).reshape(-1)
    return words[p0 - 32 * g0: p0 - 32 * g0 + n]


# ---- float32 transforms --------------------------------------------------------------------------

def _u32_to_f32(a: np.ndarray) -> np.ndarray:
    hi = (a >> np.uint32(16)).astype(np.int32).astype(f32)
    lo = (a & np.uint32(0xFFFF)).astype(np.int32).astype(f32)
    return hi * f32(65536.0) + lo


def log_f32(x: np.ndarray) -> np.ndarray:
    bits = x.view(np.int32)
    e = ((bits >> 23) & 0xFF) - 127
    m = ((bits & 0x7FFFFF) | 0x3F800000).astype(np.int32).view(f32)
    big = m > f32(1.41421356237309504880)
    m = np.where(big, m * f32(0.5), m)
    e = e + big.astype(np.int32)
    s = (m - f32(1.0)) / (m + f32(1.0))
    s2 = s * s
    p = s2 * f32(1.0 / 9.0) + f32(1.0 / 7.0)
    p = p * s2 + f32(1.0 / 5.0)
    p = p * s2 + f32(1.0 / 3.0)
    p = p * s2 + f32(1.0)
    lnm = (s + s) * p
    ef = e.astype(f32)
    return ef * f32(0.693145751953125) + (ef * f32(1.428606765330187045e-06) + lnm)


def sincos_halfpi_f32(t):
    a = t * f32(1.57079632679489661923)
    a2 = a * a
    ps = a2 * f32(1.0 / 362880.0) + f32(-1.0 / 5040.0)
    ps = ps * a2 + f32(1.0 / 120.0)
    ps = ps * a2 + f32(-1.0 / 6.0)
    ps = ps * a2 + f32(1.0)
    s = a * ps
    pc = a2 * f32(-1.0 / 3628800.0) + f32(1.0 / 40320.0)
    pc = pc * a2 + f32(-1.0 / 720.0)
    pc = pc * a2 + f32(1.0 / 24.0)
    pc = pc * a2 + f32(-0.5)
    c = pc * a2 + f32(1.0)
    return s, c


def _quadrant(q, s, c):
    swap = (q & 1) != 0
    X = np.where(swap, s, c)
    Y = np.where(swap, c, s)
    negc = (q == 1) | (q == 2)
    negs = q >= 2
    return np.where(negc, -X, X), np.where(negs, -Y, Y)


def box_muller_f32(a: np.ndarray, b: np.ndarray):
    u1 = _u32_to_f32(a) * f32(2.0**-32) + f32(2.0**-33)
    r = np.sqrt(log_f32(u1) * f32(-2.0))
    w = (b >> np.uint32(8)) + np.uint32(1 << 21)
    q = ((w >> np.uint32(22)) & np.uint32(3)).astype(np.int32)
    t = ((w & np.uint32(0x3FFFFF)).astype(np.int32).astype(f32) + f32(0.5)) * f32(2.0**-22) - f32(0.5)
    s, c = sincos_halfpi_f32(t)
    cq, sq = _quadrant(q, s, c)
    return r * cq, r * sq


# ---- float64 transforms --------------------------------------------------------------------------

def log_f64(x: np.ndarray) -> np.ndarray:
    bits = x.view(np.int64)
    e = ((bits >> 52) & 0x7FF) - 1023
    m = ((bits & 0xFFFFFFFFFFFFF) | 0x3FF0000000000000).astype(np.int64).view(np.float64)
    big = m > 1.41421356237309504880
    m = np.where(big, m * 0.5, m)
    e = e + big.astype(np.int64)
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    p = s2 * (1.0 / 21.0) + (1.0 / 19.0)
    for k in (17, 15, 13, 11, 9, 7, 5, 3):
        p = p * s2 + (1.0 / k)
    p = p * s2 + 1.0
    lnm = (s + s) * p
    ef = e.astype(np.float64)
    return ef * 6.93147180369123816490e-01 + (ef * 1.90821492927058770002e-10 + lnm)


def sincos_halfpi_f64(t):
    a = t * 1.57079632679489661923
    a2 = a * a
    ps = a2 * (1.0 / 355687428096000.0) + (-1.0 / 1307674368000.0)
    for coef in (1.0 / 6227020800.0, -1.0 / 39916800.0, 1.0 / 362880.0, -1.0 / 5040.0,
                 1.0 / 120.0, -1.0 / 6.0, 1.0):
        ps = ps * a2 + coef
    s = a * ps
    pc = a2 * (-1.0 / 6402373705728000.0) + (1.0 / 20922789888000.0)
    for coef in (-1.0 / 87178291200.0, 1.0 / 479001600.0, -1.0 / 3628800.0, 1.0 / 40320.0,
                 -1.0 / 720.0, 1.0 / 24.0, -0.5, 1.0):
        pc = pc * a2 + coef
    return s, pc


def box_muller_f64(a: np.ndarray, b: np.ndarray):
    u1 = (a >> np.uint64(11)).astype(np.float64) * 2.0**-53 + 2.0**-54
    r = np.sqrt(log_f64(u1) * -2.0)
    w = (b >> np.uint64(11)) + np.uint64(1 << 50)
    q = ((w >> np.uint64(51)) & np.uint64(3)).astype(np.int64)
    t = ((w & np.uint64((1 << 51) - 1)).astype(np.float64) + 0.5) * 2.0**-51 - 0.5
    s, c = sincos_halfpi_f64(t)
    cq, sq = _quadrant(q, s, c)
    return r * cq, r * sq


_AS241 = {
    "a": [3.3871328727963666080e0, 1.3314166789178437745e+2, 1.9715909503065514427e+3,
          1.3731693765509461125e+4, 4.5921953931549871457e+4, 6.7265770927008700853e+4,
          3.3430575583588128105e+4, 2.5090809287301226727e+3],
    "b": [1.0, 4.2313330701600911252e+1, 6.8718700749205790830e+2, 5.3941960214247511077e+3,
          2.1213794301586595867e+4, 3.9307895800092710610e+4, 2.8729085735721942674e+4,
          5.2264952788528545610e+3],
    "c": [1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0,
          3.64784832476320460504e0, 1.27045825245236838258e0, 2.41780725177450611770e-1,
          2.27238449892691845833e-2, 7.74545014278341407640e-4],
    "d": [1.0, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1,
          1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4,
          1.05075007164441684324e-9],
    "e": [6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0,
          2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
          2.71155556874348757815e-5, 2.01033439929228813265e-7],
    "f": [1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
          7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7,
          2.04426310338993978564e-15],
}


def _horner(coefs, x):
    """coefs[7]*x^7 + ... + coefs[0], evaluated as in fi_math.h (highest first)."""
    acc = x * coefs[7] + coefs[6]
    for c in coefs[5::-1]:
        acc = acc * x + c
    return acc


def ndtri_lower(p: np.ndarray) -> np.ndarray:
    q = p - 0.5
    r = 0.180625 - q * q
    x_central = q * _horner(_AS241["a"], r) / _horner(_AS241["b"], r)
    pt = np.where(p < 0.5, p, 0.5)
    rt = np.sqrt(-log_f64(pt))
    r1 = rt - 1.6
    r2 = rt - 5.0
    x_tail = -np.where(rt <= 5.0, _horner(_AS241["c"], r1) / _horner(_AS241["d"], r1),
                       _horner(_AS241["e"], r2) / _horner(_AS241["f"], r2))
    central = (q >= -0.425) & (q <= 0.425)
    return np.where(central, x_central, x_tail)


def truncnorm_z(u: np.ndarray, prm: dict) -> np.ndarray:
    pl = u * prm["tn_mass"] + prm["tn_pa"]
    qu = (1.0 - u) * prm["tn_mass"] + prm["tn_qb"]
    lower = pl < 0.5
    z = ndtri_lower(np.where(lower, pl, qu))
    z = np.where(lower, z, -z)
    z = np.where(z < prm["tn_za"], prm["tn_za"], z)
    return np.where(z > prm["tn_zb"], prm["tn_zb"], z)


# ---- whole draws ---------------------------------------------------------------------------------

def _f64_rows(words: np.ndarray):
    """(G, 32) words -> the two 64-bit rows (G, 8) of each group."""
    w = words.astype(np.uint64)
    row0 = w[:, 0:8] | (w[:, 8:16] << np.uint64(32))
    row1 = w[:, 16:24] | (w[:, 24:32] << np.uint64(32))
    return row0, row1


def transform_groups(kind: str, dtype, words: np.ndarray, *, loc=0.0, scale=1.0, low=0.0,
                     high=1.0, tn=None) -> np.ndarray:
    """Values of whole groups (G, 32) of words: (G, 32) float32 or (G, 16) float64."""
    words = np.asarray(words, dtype=np.uint32).reshape(-1, 32)
    G = words.shape[0]
    if np.dtype(dtype) == np.float32:
        if kind == "normal":
            out = np.empty((G, 32), f32)
            for pair in range(2):
                zc, zs = box_muller_f32(words[:, 16 * pair: 16 * pair + 8],
                                        words[:, 16 * pair + 8: 16 * pair + 16])
                out[:, 16 * pair: 16 * pair + 8] = zc * f32(scale) + f32(loc)
                out[:, 16 * pair + 8: 16 * pair + 16] = zs * f32(scale) + f32(loc)
            return out
        if kind == "uniform":
            u = (words >> np.uint32(8)).astype(np.int32).astype(f32) * f32(2.0**-24)
            y = u * f32(high - low) + f32(low)
            bh = np.nextafter(f32(high), f32(-np.inf))
            return np.where(y <= bh, y, bh)
        if kind == "truncated_normal":
            u = (words.astype(np.float64) + 0.5) * 2.0**-32
            y = (truncnorm_z(u, tn) * tn["scale"] + tn["loc"]).astype(f32)
            y = np.where(y >= f32(tn["out_lo"]), y, f32(tn["out_lo"]))
            return np.where(y <= f32(tn["out_hi"]), y, f32(tn["out_hi"]))
    else:
        row0, row1 = _f64_rows(words)
        if kind == "normal":
            zc, zs = box_muller_f64(row0, row1)
            return np.concatenate([zc * scale + loc, zs * scale + loc], axis=1)
        x = np.concatenate([row0, row1], axis=1)
        if kind == "uniform":
            u = (x >> np.uint64(11)).astype(np.float64) * 2.0**-53
            y = u * (high - low) + low
            bh = np.nextafter(high, -np.inf)
            return np.where(y <= bh, y, bh)
        if kind == "truncated_normal":
            u = ((x >> np.uint64(12)).astype(np.float64) + 0.5) * 2.0**-52
            y = truncnorm_z(u, tn) * tn["scale"] + tn["loc"]
            y = np.where(y < tn["out_lo"], tn["out_lo"], y)
            return np.where(y > tn["out_hi"], tn["out_hi"], y)
    raise ValueError(kind)


TRUNCNORM_REJECT_MASS = 0.9
RETRY_STREAM_BIT = 1 << 63


def truncnorm_groups(dtype, key, stream: int, groups, tn: dict) -> np.ndarray:
    """Truncated normal values of whole groups, by the method the C code picks for tn."""
    words = group_words(key, stream, groups)
    if tn["tn_mass"] < TRUNCNORM_REJECT_MASS:
        return transform_groups("truncated_normal", dtype, words, tn=tn)
    # rejection: the normal of the same position if it lands strictly inside the interval,
    # else the inverse-CDF value of the same position on the retry stream
    y = transform_groups("normal", dtype, words, loc=tn["loc"], scale=tn["scale"])
    lo, hi = np.dtype(dtype).type(tn["out_lo"]), np.dtype(dtype).type(tn["out_hi"])
    retry = transform_groups("truncated_normal", dtype,
                             group_words(key, stream ^ RETRY_STREAM_BIT, groups), tn=tn)
    return np.where((y >= lo) & (y <= hi), y, retry)


def draw(kind: str, dtype, key, stream: int, v0: int, n: int, **params) -> np.ndarray:
    """Values v0 .. v0+n-1 of a distribution on a stream (float32: 32 per group, float64: 16)."""
    per = 32 if np.dtype(dtype) == np.float32 else 16
    if n == 0:
        return np.empty(0, dtype=dtype)
    g0, g1 = v0 // per, (v0 + n - 1) // per
    groups = np.arange(g0, g1 + 1)
    if kind == "truncated_normal":
        vals = truncnorm_groups(dtype, key, stream, groups, params["tn"]).reshape(-1)
    else:
        vals = transform_groups(kind, dtype, group_words(key, stream, groups), **params).reshape(-1)
    return vals[v0 - per * g0: v0 - per * g0 + n]
