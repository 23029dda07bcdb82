"""Statistical tests of the sampler: fixed seeds and p-value thresholds of 1e-6 or smaller, so a
failure means a defect, not bad luck."""

import math

import numpy as np
import pytest
from scipy import stats

import fastinit

P_MIN = 1e-6
Z_MAX = 5.5  # two-sided p ~ 4e-8


def ad_pvalue_upper(a2: float) -> float:
    """P(A^2 > a2) for the fully specified Anderson-Darling test, asymptotic law
    (Marsaglia & Marsaglia 2004, ADinf), accurate for the large n used here."""
    z = a2
    if z < 2:
        cdf = math.exp(-1.2337141 / z) / math.sqrt(z) * (
            2.00012 + (0.247105 - (0.0649821 - (0.0347962 - (0.011672 - 0.00168691 * z) * z) * z) * z) * z)
    else:
        cdf = math.exp(-math.exp(1.0776 - (2.30695 - (0.43424 - (0.082433 - (0.008056 - 0.0003146 * z) * z) * z) * z) * z))
    return 1.0 - cdf


def anderson_darling(u: np.ndarray) -> float:
    """A^2 of uniforms u (the CDF of the hypothesised law already applied)."""
    u = np.sort(np.clip(u, 1e-300, 1 - 1e-16))
    n = u.size
    i = np.arange(1, n + 1)
    return float(-n - np.mean((2 * i - 1) * (np.log(u) + np.log1p(-u[::-1]))))


LAWS = {
    "standard_normal": (lambda g, n, dt: g.standard_normal(n, dtype=dt), stats.norm.cdf),
    "normal": (lambda g, n, dt: g.normal(2.0, 0.5, n, dtype=dt), lambda x: stats.norm.cdf(x, 2.0, 0.5)),
    "random": (lambda g, n, dt: g.random(n, dtype=dt), lambda x: x),
    "uniform": (lambda g, n, dt: g.uniform(-1.0, 3.0, n, dtype=dt), lambda x: (x + 1.0) / 4.0),
    "truncated_normal": (lambda g, n, dt: g.truncated_normal(0, 1, -2, 2, n, dtype=dt),
                         lambda x: stats.truncnorm.cdf(x, -2, 2)),
    "truncated_tail": (lambda g, n, dt: g.truncated_normal(0, 1, 2, 3, n, dtype=dt),
                       lambda x: stats.truncnorm.cdf(x, 2, 3)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("law", sorted(LAWS))
def test_ks_and_anderson_darling_1e6(law, dtype):
    draw, cdf = LAWS[law]
    x = draw(fastinit.default_rng(20240601), 10**6, dtype).astype(np.float64)
    assert stats.kstest(x, cdf).pvalue > P_MIN
    assert ad_pvalue_upper(anderson_darling(cdf(x))) > P_MIN


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normal_moments_to_fourth_1e7(dtype):
    n = 10**7
    x = fastinit.default_rng(7).standard_normal(n, dtype=dtype).astype(np.float64)
    # standard errors of the sample moments of N(0,1)
    checks = [
        (x.mean(), 0.0, 1.0),
        ((x**2).mean(), 1.0, math.sqrt(2.0)),
        ((x**3).mean(), 0.0, math.sqrt(15.0)),
        ((x**4).mean(), 3.0, math.sqrt(96.0)),
    ]
    for got, want, sd in checks:
        assert abs(got - want) / (sd / math.sqrt(n)) < Z_MAX, (got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_moments_and_chi_square(dtype):
    n = 10**7
    u = fastinit.default_rng(8).random(n, dtype=dtype).astype(np.float64)
    for k, want in ((1, 1 / 2), (2, 1 / 3), (3, 1 / 4), (4, 1 / 5)):
        sd = math.sqrt(1 / (2 * k + 1) - want**2)
        assert abs((u**k).mean() - want) / (sd / math.sqrt(n)) < Z_MAX
    counts = np.bincount((u * 1000).astype(np.int64), minlength=1000)
    assert stats.chisquare(counts).pvalue > P_MIN


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normal_chi_square_equiprobable_bins(dtype):
    x = fastinit.default_rng(9).standard_normal(4 * 10**6, dtype=dtype).astype(np.float64)
    edges = stats.norm.ppf(np.linspace(0, 1, 513)[1:-1])
    counts = np.bincount(np.searchsorted(edges, x), minlength=512)
    assert stats.chisquare(counts).pvalue > P_MIN


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normal_tail_counts(dtype):
    n = 2 * 10**7
    x = np.abs(fastinit.default_rng(10).standard_normal(n, dtype=dtype))
    for k in (3, 4, 5):
        p = 2 * stats.norm.sf(k)
        count = int(np.count_nonzero(x > k))
        assert stats.binomtest(count, n, p).pvalue > P_MIN, (k, count, n * p)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lag_one_and_cross_stream_correlation(dtype):
    n = 4 * 10**6
    g = fastinit.default_rng(12)
    x = g.standard_normal(n, dtype=dtype).astype(np.float64)
    for lag in (1, 8, 16, 32):  # lanes, rows and groups of the layout
        r = np.corrcoef(x[:-lag], x[lag:])[0, 1]
        assert abs(r) * math.sqrt(n) < Z_MAX, lag
    # the pair members (cos, sin) of one Box-Muller draw are uncorrelated too
    y = g.substream(1).standard_normal(n, dtype=dtype).astype(np.float64)
    z = fastinit.default_rng(12).spawn(1)[0].standard_normal(n, dtype=dtype).astype(np.float64)
    for other in (y, z):
        r = np.corrcoef(x, other)[0, 1]
        assert abs(r) * math.sqrt(n) < Z_MAX


def test_truncated_normal_far_tails_and_unit_variance():
    g = fastinit.default_rng(13)
    for a, b in [(2.0, 3.0), (8.0, 9.0), (-9.0, -8.0)]:
        for dt in (np.float32, np.float64):
            x = g.truncated_normal(0, 1, a, b, 200_000, dtype=dt)
            assert np.all(x > dt(a)) and np.all(x < dt(b))
            assert stats.kstest(x.astype(np.float64), stats.truncnorm(a, b).cdf).pvalue > P_MIN
    x = g.truncated_normal(0, 0.1, -2, 2, 10**6, unit_variance=True)
    assert abs(x.std() - 0.1) / 0.1 < 5e-3
    from fastinit._generator import truncnorm_std

    assert truncnorm_std(-2.0, 2.0) == pytest.approx(0.87962566103423978, rel=1e-14)
    for a, b in [(8.0, 9.0), (-3.0, 0.5), (2.0, 3.0), (-np.inf, 1.0)]:
        assert truncnorm_std(a, b) == pytest.approx(stats.truncnorm.std(a, b), rel=1e-9)
