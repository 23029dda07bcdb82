"""Deep-stack propagation: forward and backward through thousands of layers in C with OpenMP.

``simulate`` draws every layer's weights from its own Philox stream, so the backward pass
regenerates them instead of storing them: memory is O(width**2 + depth * batch * width) instead
of O(depth * width**2). ``propagate`` runs the same engine on explicit weight arrays. Both return a
:class:`StackResult` with per-layer statistics of the pre-activations, activations, gradients
dL/dh and the weight gradients dL/dW, computed in the same pass as each layer.

Model (``fastinit.init``'s convention, weights of shape ``(fan_in, fan_out)``)::

    h_0 = x,   z_l = h_{l-1} W_l + b_l,   h_l = phi(z_l),   l = 1 .. depth

Streams (all from one key, ``numpy.random.SeedSequence(seed)``): layer ``l`` (1-based here,
index ``l - 1`` in ``fastinit.stream_id``) takes its weights from ``stream_id("weights", l - 1)``
(one draw filling the C-order ``(fan_in, fan_out)`` matrix) and its biases from
``stream_id("biases", l - 1)``; the default input from ``stream_id("inputs", 0)``; the
``"normal"`` upstream gradient from ``stream_id("grad_output", 0)`` and the ``"mse"`` targets from
``stream_id("targets", 0)``, each a C-order ``(batch, width)`` standard-normal draw.

Dense products use the engine's own SIMD kernels (csrc/fi_gemm.h), not a BLAS: the bits of a
BLAS product depend on its thread count and blocking, ours do not (results are identical for any
``n_threads``); generated weights are consumed block by block while in cache; no BLAS thread
pool competes with the engine's OpenMP team. Measured on the 2-core Zen1 machine, a whole
512-wide layer (product, activation, statistics) costs 1.2-1.3x the bare OpenBLAS sgemm of the
same shapes at batches 64-256; small batches are bound by generating the weights. The reasons
and numbers are in fi_gemm.h.
"""

from __future__ import annotations

import math
import mmap
import os
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import _stack
from ._generator import Generator, _seed_sequence, stream_id
from ._validate import check_n_threads, float_dtype, positive_int
from .activations import Activation, get_activation

__all__ = ["StackResult", "simulate", "propagate", "STAT_NAMES"]

#: Per-layer statistics of each array (pre-activations ``preact_``, activations ``act_``,
#: gradients dL/dh ``grad_``), in this order.
STAT_NAMES = ("mean", "std", "m2", "min", "max", "mean_abs", "frac_zero", "frac_dead",
              "frac_saturated", "nonfinite")
_KINDS = ("preact", "act", "grad")
_LOSSES = ("sum", "normal", "mse")
_ERRORS = ("ignore", "warn", "raise")
#: Default memory (bytes) for keeping generated weights between the forward and backward passes.
#: Small batches are bound by generating the weights (about 2 ns per value and core), so keeping
#: them halves the work of forward+backward; 512 MiB holds every layer of the benchmark cases
#: (100 x 512 x 512 float32 is 105 MB) and leaves the 10,000-layer, 512-wide, batch-64 run, whose
#: stored pre-activations take 1.3 GB, under 2.5 GB. Results are identical either way.
DEFAULT_WEIGHT_CACHE = 512 << 20


@dataclass
class StackResult:
    """Per-layer statistics of one forward (and backward) pass through a stack.

    Every per-layer array has length ``depth``; entry ``l - 1`` belongs to layer ``l``
    (``layer`` holds ``1 .. depth``). Statistics are over the ``batch x width`` values of the
    layer, accumulated in float64.

    Attributes
    ----------
    preact_mean, preact_std, preact_m2, preact_min, preact_max, preact_mean_abs : ndarray
        Pre-activations ``z_l``: mean, standard deviation (ddof 0), second moment ``mean(z**2)``,
        extremes and ``mean(|z|)``.
    preact_frac_zero, preact_frac_dead, preact_nonfinite : ndarray
        Fraction of values exactly zero, fraction of units that are zero for every example of the
        batch, count of NaN/inf values.
    act_* : ndarray
        The same for the activations ``h_l``, plus ``act_frac_saturated``: the fraction within
        ``saturation`` of a bound of a bounded activation (``|tanh| > 0.99`` for the default 0.01;
        NaN for unbounded activations).
    grad_* : ndarray or None
        The same for ``dL/dh_l`` (None without a backward pass).
    dw_mean, dw_std, dw_norm : ndarray or None
        Mean, standard deviation and Frobenius norm of ``dL/dW_l``.
    first_nonfinite_layer : int or None
        First layer whose pre-activations or activations hold a NaN or inf.
    first_nonfinite_grad_layer : int or None
        Highest layer whose gradient ``dL/dh`` holds a NaN or inf (the first one the backward pass
        met).
    histograms : dict
        ``{"preact"|"act"|"grad": (depth, n_bins) int64 counts}`` for the kinds given bins, and
        ``bins`` their edges (np.histogram's semantics: last bin closed, outside values dropped).
    pairs : ndarray or None
        ``(P, 2)`` example pairs; ``preact_cos``/``act_cos`` are ``(depth, P)`` cosine
        similarities ``z_a . z_b / (|z_a| |z_b|)`` (the theory's correlation map).
    activations, preactivations, gradients : list of ndarray or None
        With ``propagate(..., return_activations=True)``: ``h_l``, ``z_l`` and ``dL/dh_l``.
    weight_grads : list of ndarray or None
        With ``propagate(..., return_weight_grads=True)``: ``dL/dW_l``, shaped like the weights
        ``(fan_in, fan_out)``, in the run's dtype.
    bias_grads : list of ndarray or None
        With ``return_weight_grads=True`` and ``biases`` given: ``dL/db_l`` (``(fan_out,)``) for
        every layer, also those whose bias entry is None (the gradient at a zero bias).
    theory : fastinit.theory.StackPrediction or None
        Mean-field prediction (``theory=True``).
    """

    depth: int
    widths: tuple
    batch: int
    dtype: np.dtype
    activation: Activation
    init: str | None
    seed_entropy: Any
    loss: str | None
    layer: np.ndarray
    stats: dict = field(repr=False)
    dw_mean: np.ndarray | None = None
    dw_std: np.ndarray | None = None
    dw_norm: np.ndarray | None = None
    dw_method: str | None = None
    first_nonfinite_layer: int | None = None
    first_nonfinite_grad_layer: int | None = None
    input_stats: dict = field(default_factory=dict, repr=False)
    loss_value: float | None = None
    histograms: dict = field(default_factory=dict, repr=False)
    bins: dict = field(default_factory=dict, repr=False)
    pairs: np.ndarray | None = None
    preact_cos: np.ndarray | None = None
    act_cos: np.ndarray | None = None
    activations: list | None = field(default=None, repr=False)
    preactivations: list | None = field(default=None, repr=False)
    gradients: list | None = field(default=None, repr=False)
    weight_grads: list | None = field(default=None, repr=False)
    bias_grads: list | None = field(default=None, repr=False)
    theory: Any = field(default=None, repr=False)
    n_threads: int = 0
    seconds: float = 0.0

    def __getattr__(self, name: str) -> Any:
        # preact_mean, act_frac_saturated, grad_std, ... live in self.stats
        stats = self.__dict__.get("stats")
        if stats is not None and name in stats:
            return stats[name]
        if stats is not None and name.startswith("grad_") and name[5:] in STAT_NAMES:
            return None  # no backward pass
        raise AttributeError(f"'StackResult' object has no attribute {name!r}")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.stats))

    @property
    def has_backward(self) -> bool:
        """True when the result holds gradient statistics."""
        return self.dw_norm is not None

    def to_dict(self) -> dict:
        """The per-layer arrays and the run's settings as plain Python lists and scalars."""
        out = {
            "depth": self.depth,
            "widths": list(self.widths),
            "batch": self.batch,
            "dtype": np.dtype(self.dtype).name,
            "activation": self.activation.name,
            "activation_params": dict(self.activation.params),
            "init": self.init,
            "loss": self.loss,
            "first_nonfinite_layer": self.first_nonfinite_layer,
            "first_nonfinite_grad_layer": self.first_nonfinite_grad_layer,
            "loss_value": self.loss_value,
            "n_threads": self.n_threads,
            "layer": self.layer.tolist(),
        }
        for name, arr in self.stats.items():
            out[name] = arr.tolist()
        if self.has_backward:
            out["dw_mean"] = self.dw_mean.tolist()
            out["dw_std"] = self.dw_std.tolist()
            out["dw_norm"] = self.dw_norm.tolist()
        for kind, counts in self.histograms.items():
            out[f"{kind}_hist"] = counts.tolist()
            out[f"{kind}_bins"] = self.bins[kind].tolist()
        if self.pairs is not None:
            out["pairs"] = self.pairs.tolist()
            out["preact_cos"] = self.preact_cos.tolist()
            out["act_cos"] = self.act_cos.tolist()
        return out

    def to_pandas(self):
        """A ``pandas.DataFrame`` with one row per layer (index ``layer``) and one column per
        per-layer statistic. Requires pandas."""
        try:
            import pandas as pd
        except ImportError as exc:  # optional dependency
            raise ImportError("to_pandas() requires pandas (pip install pandas)") from exc
        cols = dict(self.stats)
        if self.has_backward:
            cols.update(dw_mean=self.dw_mean, dw_std=self.dw_std, dw_norm=self.dw_norm)
        return pd.DataFrame(cols, index=pd.Index(self.layer, name="layer"))

    def summary(self, max_rows: int = 12) -> str:
        """A readable table: settings, the first non-finite layers and a few layers' statistics."""
        w = self.widths
        width = str(w[0]) if len(set(w)) == 1 else f"{w[0]}..{w[-1]}"
        lines = [
            f"StackResult: depth {self.depth}, width {width}, batch {self.batch}, "
            f"{np.dtype(self.dtype).name}, activation {self.activation!r}, init {self.init}, "
            f"loss {self.loss}",
        ]
        if self.first_nonfinite_layer is not None:
            lines.append(f"non-finite activations from layer {self.first_nonfinite_layer}")
        if self.first_nonfinite_grad_layer is not None:
            lines.append(f"non-finite gradients from layer {self.first_nonfinite_grad_layer}")
        cols = [("preact_std", "std(z)"), ("act_m2", "mean(h^2)"), ("act_frac_zero", "h==0"),
                ("act_frac_saturated", "saturated")]
        if self.has_backward:
            cols += [("grad_std", "std(dL/dh)"), ("dw_norm", "|dL/dW|")]
        rows = _pick_rows(self.depth, max_rows)
        head = f"{'layer':>7} " + " ".join(f"{t:>12}" for _, t in cols)
        lines.append(head)
        for i in rows:
            if i is None:
                lines.append(f"{'...':>7}")
                continue
            vals = []
            for name, _ in cols:
                arr = self.dw_norm if name == "dw_norm" else self.stats[name]
                vals.append(f"{arr[i]:>12.4g}")
            lines.append(f"{i + 1:>7} " + " ".join(vals))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _pick_rows(depth: int, max_rows: int) -> list:
    if depth <= max_rows:
        return list(range(depth))
    half = max(1, max_rows // 2)
    return list(range(half)) + [None] + list(range(depth - half, depth))


# ---- argument checks ------------------------------------------------------------------------------

def _widths(width: Any, depth: int) -> tuple:
    if isinstance(width, (list, tuple, np.ndarray)):
        ws = tuple(positive_int(w, "width") for w in width)
        if len(ws) != depth + 1:
            raise ValueError(
                f"width must be an int or a sequence of depth + 1 = {depth + 1} sizes "
                f"(input first), got {len(ws)}")
        return ws
    return (positive_int(width, "width"),) * (depth + 1)


def _choice(value: Any, valid: tuple, name: str) -> str:
    if not isinstance(value, str) or value not in valid:
        raise ValueError(f"unknown {name} {value!r}; valid values are "
                         + ", ".join(repr(v) for v in valid))
    return value


def _float_array(a: Any, name: str, dtype: np.dtype | None, ndim: int) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {arr.dtype!r}")
    if dtype is not None and arr.dtype != dtype:
        raise TypeError(f"{name} has dtype {arr.dtype.name} but the run's dtype is {dtype.name}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains non-finite values")
    return np.ascontiguousarray(arr)


def _bins(bins: Any) -> dict:
    """bins: None, an edges array for every kind, or {"preact"|"act"|"grad": edges}."""
    if bins is None:
        return {}
    if isinstance(bins, Mapping):
        bad = sorted(set(bins) - set(_KINDS))
        if bad:
            raise ValueError(f"unknown histogram kind(s) {bad}; valid kinds are {list(_KINDS)}")
        items = dict(bins)
    else:
        items = {k: bins for k in _KINDS}
    out = {}
    for k, e in items.items():
        if e is None:
            continue
        edges = np.asarray(e, dtype=np.float64)
        if edges.ndim != 1 or edges.size < 2:
            raise ValueError("bins must be a 1-D array of at least two edges")
        if not (np.isfinite(edges).all() and (np.diff(edges) > 0).all()):
            raise ValueError("bins must be finite and increase monotonically")
        out[k] = np.ascontiguousarray(edges)
    return out


def _pairs(pairs: Any, batch: int) -> np.ndarray | None:
    if pairs is None:
        return None
    p = np.asarray(pairs)
    if p.size == 0:
        return None
    if p.dtype.kind not in "iu" or p.ndim != 2 or p.shape[1] != 2:
        raise ValueError("pairs must be an integer array of shape (P, 2) of batch rows")
    if (p < 0).any() or (p >= batch).any():
        raise ValueError(f"pairs must index rows of the batch (0 .. {batch - 1})")
    return np.ascontiguousarray(p, dtype=np.int64)


def _saturation_bounds(act: Activation, saturation: Any) -> tuple[bool, float, float]:
    s = float(saturation)
    if not (math.isfinite(s) and s >= 0):
        raise ValueError(f"saturation must be a finite number >= 0, got {saturation!r}")
    if act.bounds is None:
        return False, 0.0, 0.0
    lo, hi = act.bounds
    return True, lo + s, hi - s


# ---- weights -----------------------------------------------------------------------------------------

def _init_layers(init: Any, init_kwargs: Mapping | None, widths: tuple, dt: np.dtype):
    """(distribution index, (depth, 4) parameters, None) when the engine generates the weights
    itself, or (-1, None, weights_of(l)) drawing them in Python through fastinit.init."""
    from . import init as _init  # the init schemes (fastinit/init.py)

    kwargs = dict(init_kwargs or {})
    depth = len(widths) - 1
    # resolved once per distinct layer shape, as init.network does
    specs = [w for w, _ in _init._layer_specs(widths, init, kwargs)]
    kinds = {s.distribution for s in specs}
    if len(kinds) == 1 and next(iter(kinds)) in _stack.DISTRIBUTIONS:
        kind = next(iter(kinds))
        params = np.zeros((depth, 4))
        for l, s in enumerate(specs):
            if kind == "normal":
                params[l, :2] = (s.loc, s.scale)
            elif kind == "uniform":
                params[l, :2] = (-s.bound, s.bound)
            else:
                params[l] = (s.loc, s.scale, s.a, s.b)
        return _stack.DISTRIBUTIONS[kind], params, None, specs

    def weights_of(l: int, seed_seq: np.random.SeedSequence) -> np.ndarray:
        return np.ascontiguousarray(_init.layer_weights(init, widths[l], widths[l + 1], layer=l,
                                                        seed=seed_seq, dtype=dt, **kwargs))

    return -1, None, weights_of, specs


def _theory(act: Activation, specs: list, widths: tuple, bias_std: float, x: np.ndarray,
            pairs: np.ndarray | None = None):
    """fastinit.theory.predict_stack for zero-mean Gaussian/uniform schemes of equal width; with
    pairs, the input correlation of the first pair (so ``theory.c`` sits beside
    ``preact_cos[:, 0]`` and ``theory.post_correlation`` beside ``act_cos[:, 0]``)."""
    from . import theory as _theory_mod
    from ._generator import truncnorm_std

    if len(set(widths)) != 1:
        raise ValueError("theory=True needs equal widths (the mean-field theory's setting)")
    s = specs[0]
    if s.distribution == "normal" and s.loc == 0:
        std = s.scale
    elif s.distribution == "uniform":
        std = s.bound / math.sqrt(3.0)
    elif s.distribution == "truncated_normal" and s.loc == 0:
        std = s.scale * truncnorm_std(s.a, s.b)
    else:
        raise ValueError("theory=True needs a zero-mean Gaussian or uniform init, "
                         f"got {s.distribution!r}")
    m0 = float(np.mean(np.square(x, dtype=np.float64)))
    c0 = None
    if pairs is not None:
        xa = x[pairs[0, 0]].astype(np.float64)
        xb = x[pairs[0, 1]].astype(np.float64)
        den = math.sqrt(float(xa @ xa) * float(xb @ xb))
        # rounding can put the cosine of (nearly) parallel rows just outside [-1, 1]
        c0 = min(1.0, max(-1.0, float(xa @ xb) / den)) if den > 0 else 1.0
    return _theory_mod.predict_stack(act, std * math.sqrt(widths[0]), bias_std, len(widths) - 1,
                                     input_second_moment=m0, input_correlation=c0)


# ---- the weight cache's memory ---------------------------------------------------------------------------

class _CacheArena:
    """Memory for the weight cache, kept from one call to the next.

    Fresh memory costs the kernel a page fault and the zeroing of every page at first touch; for
    a cache of 100-1000 layers that was a fifth of a forward pass (262 MB at (1000, 256, 16):
    40-60 ms of 2-thread forward). The
    block is a private anonymous mapping (huge pages requested); when a run ends it is handed back
    with ``MADV_FREE``: the kernel takes its pages whenever it needs memory, without swapping, and
    the next run writes over the pages it left (no fault, no zeroing) or gets fresh zeroed ones,
    the contents being rewritten before they are read either way. At most one idle block is kept
    (the largest, never more than the ``weight_cache`` budget it was made for); concurrent runs
    each get their own. Where ``MADV_FREE`` does not exist the block is simply released."""

    _ALIGN = 2 << 20  # huge-page boundary: the block starts on one

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: mmap.mmap | None = None

    def take(self, nbytes: int) -> tuple[mmap.mmap, np.ndarray]:
        with self._lock:
            m, self._idle = self._idle, None
        if m is None or len(m) < nbytes + self._ALIGN:
            m = None  # an idle block too small goes before the new one is made
            try:
                m = mmap.mmap(-1, nbytes + self._ALIGN,
                              flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            except OSError as e:
                raise MemoryError(f"cannot allocate {nbytes} bytes for the weight cache "
                                  "(lower weight_cache)") from e
            if hasattr(mmap, "MADV_HUGEPAGE"):
                m.madvise(mmap.MADV_HUGEPAGE)
        whole = np.frombuffer(m, np.uint8)
        off = -whole.ctypes.data % self._ALIGN
        return m, whole[off:off + nbytes]

    def give_back(self, m: mmap.mmap) -> None:
        if not hasattr(mmap, "MADV_FREE"):
            return
        m.madvise(mmap.MADV_FREE)
        with self._lock:
            if self._idle is None or len(self._idle) < len(m):
                self._idle = m


_ARENA = _CacheArena()


def _arena_after_fork() -> None:
    global _ARENA
    _ARENA = _CacheArena()  # a lock held by another thread of the parent stays held in the child


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_arena_after_fork)


# activations whose derivative the backward pass recomputes rather than keeps (see _backward)
_PIECEWISE_LINEAR = frozenset({"linear", "relu", "leaky_relu"})


# ---- the driver ----------------------------------------------------------------------------------------

class _Run:
    """One pass of the engine over a stack (shared by simulate and propagate)."""

    def __init__(self, *, widths, batch, dt, act, n_threads, errors, saturation, bins, pairs,
                 dist, wparams, seed_seq, explicit, biases, bias_std, checkpoint_every,
                 weight_cache, keep, keep_grads=False):
        self.widths, self.B, self.dt, self.act = widths, batch, dt, act
        self.depth = len(widths) - 1
        self.errors = errors
        self.explicit = explicit          # None (engine generates), list, or callable(l)
        self.biases = biases              # list of arrays/None, or None
        self.bias_std = bias_std
        self.seed_seq = seed_seq
        self.keep = keep                  # return activations/preactivations/gradients
        self.keep_grads = keep_grads      # return dL/dW (and dL/db when biases are given)
        k0, k1 = seed_seq.generate_state(2, dtype=np.uint32)
        streams = np.array([stream_id("weights", l) for l in range(self.depth)], dtype=np.uint64)
        has_sat, lo, hi = _saturation_bounds(act, saturation)
        self.bins = _bins(bins)
        self.pairs = pairs
        edges = [self.bins.get(k) for k in _KINDS]
        self.eng = _stack.Engine(dt == np.float64, batch, np.asarray(widths, dtype=np.int64),
                                 n_threads, act.code, act.p0, dist,
                                 np.ascontiguousarray(wparams if wparams is not None
                                                      else np.zeros((self.depth, 4))),
                                 int(k0), int(k1), streams, has_sat, lo, hi, edges, pairs)
        self.first_nf = None
        self.first_nf_grad = None
        self.checkpoint = checkpoint_every
        self.cache = int(weight_cache) if explicit is None else 0  # bytes allowed
        self.hbuf = [np.empty(batch * max(widths), dt), np.empty(batch * max(widths), dt)]
        self.n_threads_req = n_threads
        self._arena: mmap.mmap | None = None

    # -- per-layer sources --
    def _prepare_layer(self, l: int, for_backward: bool) -> None:
        eng = self.eng
        if self.explicit is not None:
            W = self.explicit[l] if isinstance(self.explicit, list) else self.explicit(l, self.seed_seq)
            eng.set_weights(l, W)
        if self.biases is not None:
            eng.set_bias(l, self.biases[l])
        elif self.bias_std > 0:  # regenerated whenever needed: n values, like the weights
            b = np.empty(self.widths[l + 1], self.dt)
            eng.fill_bias(l, stream_id("biases", l), self.bias_std, b)
            eng.set_bias(l, b)

    def _release_layer(self, l: int) -> None:
        if self.explicit is not None and not isinstance(self.explicit, list):
            self.eng.set_weights(l, None)  # drop the Python-generated array

    def _view(self, i: int, n: int) -> np.ndarray:
        return self.hbuf[i][: self.B * n].reshape(self.B, n)

    def _forward_layer(self, l: int, hin: np.ndarray, z: np.ndarray, h: np.ndarray) -> None:
        self._prepare_layer(l, False)
        nf = self.eng.forward(l, hin, z, h)
        self._release_layer(l)
        if nf and self.first_nf is None:
            self.first_nf = l + 1
            self._raise_nonfinite("forward", l)

    def _raise_nonfinite(self, which: str, l: int) -> None:
        if self.errors == "raise":
            raise FloatingPointError(f"non-finite values in the {which} pass, first at layer "
                                     f"{l + 1} of {self.depth}")

    def run(self, x: np.ndarray, backward: bool, loss: str, grad_output) -> dict:
        depth, dt, widths = self.depth, self.dt, self.widths
        if self.cache and backward:
            # the first layers whose weights fit in the budget keep them for the backward pass,
            # all in one block (huge pages: one array per layer paid a page fault per 4 KiB, a
            # fifth of a width-512, batch-1 run), kept between calls (_CacheArena)
            offsets, used = np.full(depth, -1, np.int64), 0
            for l in range(depth):
                nbytes = widths[l] * widths[l + 1] * dt.itemsize
                if used + nbytes <= self.cache:
                    offsets[l] = used
                    used += -(-nbytes // 64) * 64  # each layer's weights 64-byte aligned
            if used:
                self._arena, block = _ARENA.take(used)
                self.eng.set_cache_block(block, offsets)
        try:
            return self._run(x, backward, loss, grad_output)
        finally:
            if self._arena is not None:
                self.eng.set_cache_block(np.empty(0, np.uint8), np.full(depth, -1, np.int64))
                _ARENA.give_back(self._arena)
                self._arena = None

    def _run(self, x: np.ndarray, backward: bool, loss: str, grad_output) -> dict:
        depth, B, dt, widths = self.depth, self.B, self.dt, self.widths
        ck = self.checkpoint if backward else None
        store_all = backward and not ck
        stored = {}
        if store_all or ck:
            keep_layers = range(depth) if store_all else [l for l in range(depth)
                                                          if (l + 1) % ck == 0 or l == depth - 1]
            total = sum(B * widths[l + 1] for l in keep_layers)
            flat = np.empty(total, dt)  # one allocation: a request too big fails before any work
            off = 0
            for l in keep_layers:
                n = B * widths[l + 1]
                stored[l] = flat[off:off + n].reshape(B, widths[l + 1])
                off += n
        out: dict = {}
        if self.keep:
            out["activations"], out["preactivations"] = [], []
        zscratch = np.empty(B * max(widths), dt)
        hin = x
        cur = 0
        for l in range(depth):
            n = widths[l + 1]
            z = stored[l] if l in stored else zscratch[: B * n].reshape(B, n)
            h = self._view(cur, n)
            self._forward_layer(l, hin, z, h)
            if self.keep:
                out["preactivations"].append(z.copy())
                out["activations"].append(h.copy())
            hin = h
            cur ^= 1
        h_last = hin
        if not backward:
            return out
        # upstream gradient
        nL = widths[-1]
        if grad_output is not None:
            g = np.array(grad_output, dtype=dt, order="C", copy=True)
        elif loss == "sum":
            g = np.ones((B, nL), dt)
        elif loss == "normal":
            g = Generator(self.seed_seq, stream_id("grad_output", 0)).standard_normal((B, nL), dtype=dt)
        else:
            y = Generator(self.seed_seq, stream_id("targets", 0)).standard_normal((B, nL), dtype=dt)
            with np.errstate(all="ignore"):
                g = (h_last - y).astype(dt)
                out["loss_value"] = float(0.5 * np.sum(np.square(g, dtype=np.float64)))
        if loss == "sum" and grad_output is None:
            out["loss_value"] = float(np.sum(h_last, dtype=np.float64))
        elif loss == "normal" or grad_output is not None:
            with np.errstate(all="ignore"):
                out["loss_value"] = float(np.sum(np.multiply(g, h_last, dtype=np.float64)))
        if self.keep:
            out["gradients"] = [None] * depth
        if self.keep_grads:
            out["weight_grads"] = [None] * depth
            if self.biases is not None:
                out["bias_grads"] = [None] * depth
        self._backward(x, g, stored, ck, out)
        return out

    def _backward(self, x, g, stored, ck, out) -> None:
        depth, B, dt, widths = self.depth, self.B, self.dt, self.widths
        gbuf = [np.empty(B * max(widths), dt), np.empty(B * max(widths), dt)]
        hprev_buf = np.empty(B * max(widths), dt)
        # act'(z_{l-1}), written by the call for layer l with the recomputed input and read by
        # the call for layer l - 1 (which then does not evaluate the activation again); not for
        # piecewise-linear activations, whose derivative costs less than storing it
        reuse = self.act.name not in _PIECEWISE_LINEAR
        dbuf = [np.empty(B * max(widths), dt), np.empty(B * max(widths), dt)] if reuse else None
        dphi = None
        gi = 0
        seg_hi = depth
        while seg_hi > 0:
            if ck:
                seg_lo = ((seg_hi - 1) // ck) * ck
                zs = self._recompute(x, stored, seg_lo, seg_hi)
            else:
                seg_lo = 0
                zs = stored
            for l in range(seg_hi - 1, seg_lo - 1, -1):
                if self.keep:
                    out["gradients"][l] = g.copy()
                if l == 0:
                    hprev, zp = x, None
                else:  # the layer input, recomputed by the backward call itself
                    zp = zs[l - 1] if (l - 1) in zs else stored[l - 1]
                    hprev = hprev_buf[: B * widths[l]].reshape(B, widths[l])
                gprev = gbuf[gi][: B * widths[l]].reshape(B, widths[l]) if l > 0 else None
                dw_out = db_out = None
                if self.keep_grads:
                    dw_out = out["weight_grads"][l] = np.empty((widths[l], widths[l + 1]), dt)
                    if self.biases is not None:
                        db_out = out["bias_grads"][l] = np.empty(widths[l + 1], dt)
                self._prepare_layer(l, True)
                dphi_prev = (dbuf[gi][: B * widths[l]].reshape(B, widths[l])
                             if reuse and zp is not None else None)
                nf = self.eng.backward(l, g, zs[l], hprev, gprev, dw_out, db_out, zp, dphi,
                                       dphi_prev)
                self._release_layer(l)
                if nf and self.first_nf_grad is None:
                    self.first_nf_grad = l + 1
                    self._raise_nonfinite("backward", l)
                g, dphi = gprev, dphi_prev
                gi ^= 1
            seg_hi = seg_lo

    def _recompute(self, x, stored, lo, hi) -> dict:
        """z of layers lo .. hi-1 again from the checkpoint below them (statistics are rewritten
        with identical values)."""
        B, dt, widths = self.B, self.dt, self.widths
        if lo == 0:
            hin = x
        else:
            hin = np.empty((B, widths[lo]), dt)
            self.eng.activate(lo - 1, stored[lo - 1], hin)
        zs = {}
        cur = 0
        for l in range(lo, hi):
            z = stored[l] if l in stored else np.empty((B, widths[l + 1]), dt)
            h = self._view(cur, widths[l + 1])
            self._forward_layer(l, hin, z, h)
            zs[l] = z
            hin = h
            cur ^= 1
        return zs


def _result(run: _Run, out: dict, *, x, backward, loss, init, seed_seq, t0) -> StackResult:
    eng = run.eng
    stats = {}
    for kind, arr in (("preact", eng.pre), ("act", eng.act), ("grad", eng.grad)):
        if kind == "grad" and not backward:
            continue
        for j, name in enumerate(STAT_NAMES):
            col = arr[:, j].copy()
            if name == "nonfinite":
                col = col.astype(np.int64)
            stats[f"{kind}_{name}"] = col
    if run.act.bounds is None:
        stats.pop("preact_frac_saturated", None)
        stats["act_frac_saturated"][:] = np.nan
    else:
        stats.pop("preact_frac_saturated", None)
    stats.pop("grad_frac_saturated", None)
    res = StackResult(
        depth=run.depth, widths=run.widths, batch=run.B, dtype=run.dt, activation=run.act,
        init=init, seed_entropy=None if seed_seq is None else seed_seq.entropy,
        loss=loss if backward else None, layer=np.arange(1, run.depth + 1), stats=stats,
        first_nonfinite_layer=run.first_nf, first_nonfinite_grad_layer=run.first_nf_grad,
        loss_value=out.get("loss_value"), n_threads=int(_stack_threads(run)),
    )
    if backward:
        res.dw_mean, res.dw_std, res.dw_norm = (eng.dw[:, i].copy() for i in range(3))
    xs = eng.stats(x)
    res.input_stats = {n: float(xs[i]) for i, n in enumerate(STAT_NAMES)}
    for kind, counts in (("preact", eng.pre_hist), ("act", eng.act_hist), ("grad", eng.grad_hist)):
        if counts is not None and (kind != "grad" or backward):
            res.histograms[kind] = counts
            res.bins[kind] = run.bins[kind]
    if run.pairs is not None:
        res.pairs = run.pairs
        res.preact_cos, res.act_cos = eng.pre_pairs, eng.act_pairs
    for key in ("activations", "preactivations", "gradients", "weight_grads", "bias_grads"):
        if key in out:
            setattr(res, key, out[key])
    res.seconds = time.perf_counter() - t0
    return res


def _stack_threads(run: _Run) -> int:
    from . import _core

    return _core.default_threads() if run.n_threads_req == 0 else run.n_threads_req


def _report_nonfinite(run: _Run, errors: str) -> None:
    if errors != "warn":
        return
    parts = []
    if run.first_nf is not None:
        parts.append(f"forward pass from layer {run.first_nf}")
    if run.first_nf_grad is not None:
        parts.append(f"backward pass from layer {run.first_nf_grad}")
    if parts:
        warnings.warn(f"non-finite values in the stack ({', '.join(parts)} of {run.depth}); "
                      "see StackResult.first_nonfinite_layer", RuntimeWarning, stacklevel=3)


def _checkpoint(value: Any, depth: int) -> int | None:
    if value is None or value is False:
        return None
    if value == "auto" or value is True:
        return max(1, int(math.isqrt(depth)))
    return positive_int(value, "checkpoint_every")


# ---- public API ----------------------------------------------------------------------------------------

def simulate(depth: int, width: int | Sequence[int], *, batch: int = 64,
             activation: str | Activation = "tanh", activation_kwargs: Mapping | None = None,
             init: Any = "xavier_normal", init_kwargs: Mapping | None = None,
             bias_std: float = 0.0, x: Any = None, seed: Any = None, backward: bool = True,
             loss: str = "sum", dtype: Any = None, errors: str = "warn",
             n_threads: int | None = None, saturation: float = 0.01, bins: Any = None,
             pairs: Any = None, checkpoint_every: int | str | None = None,
             weight_cache: int | None = None, theory: bool = False) -> StackResult:
    """Propagate a batch forward (and backward) through a deep random stack in C.

    Parameters
    ----------
    depth : int
        Number of layers (>= 1).
    width : int or sequence of int
        Width of the input and of every layer, or ``depth + 1`` sizes (input first).
    batch : int, default 64
        Examples per batch (ignored when ``x`` is given).
    activation : str or Activation, default "tanh"
        Name from :data:`fastinit.activations.ACTIVATIONS` (``"silu"`` is ``"swish"``).
    activation_kwargs : mapping, optional
        Its parameters, e.g. ``{"slope": 0.2}`` for ``"leaky_relu"``.
    init : str, default "xavier_normal"
        A scheme of :mod:`fastinit.init`; ``init_kwargs`` its parameters (gain, mode, ...).
        Normal, uniform and truncated-normal schemes are generated in C in cache-sized panels;
        others (orthogonal, ...) are drawn per layer in Python (same values, slower).
    bias_std : float, default 0.0
        Biases ``N(0, bias_std**2)`` from their own streams; 0 means no bias.
    x : array_like, optional
        The input batch ``(batch, width[0])``; default a standard-normal batch from the inputs
        stream.
    seed : None, int, sequence of ints or SeedSequence
        The key of every stream. ``None`` draws fresh entropy (kept in ``seed_entropy``).
    backward : bool, default True
        Also run the backward pass (gradient statistics).
    loss : {"sum", "normal", "mse"}
        Upstream gradient of the last layer: ``"sum"`` ones (L = sum h), ``"normal"`` a fixed
        standard-normal ``g`` (L = sum g h), ``"mse"`` ``h - y`` for standard-normal targets
        (L = sum (h - y)**2 / 2).
    dtype : {float32, float64}, optional
        Default float32, or ``x``'s dtype.
    errors : {"ignore", "warn", "raise"}, default "warn"
        What non-finite values inside the stack do: nothing (recorded in
        ``first_nonfinite_layer``), a ``RuntimeWarning`` after the run, or a
        ``FloatingPointError`` at the first such layer.
    n_threads : int, optional
        OpenMP threads (default ``omp_get_max_threads()``); the results do not depend on it.
    saturation : float, default 0.01
        Distance to a bound of sigmoid/tanh/erf that counts as saturated.
    bins : array_like or dict, optional
        Histogram edges for every kind, or ``{"preact"|"act"|"grad": edges}``.
    pairs : array_like of shape (P, 2), optional
        Example pairs whose cosine similarity per layer is recorded.
    checkpoint_every : int or "auto", optional
        Keep the pre-activations of every k-th layer only and recompute the others segment by
        segment in the backward pass ("auto": k = isqrt(depth)); memory O((depth/k + k) batch
        width) for one more forward pass.
    weight_cache : int, optional
        Bytes of memory allowed for keeping generated weights between the forward and backward
        passes instead of regenerating them (default :data:`DEFAULT_WEIGHT_CACHE`, 512 MiB: the
        first layers that fit keep theirs, the others are regenerated; 0 regenerates all; the
        results are identical). The cache's memory is kept for the next call (repeated runs pay
        no page faults) and given to the kernel to take back when it needs it (``MADV_FREE``;
        the process's resident size may show it until then).
    theory : bool, default False
        Attach ``fastinit.theory.predict_stack``'s mean-field prediction (zero-mean Gaussian or
        uniform schemes, equal widths) as ``result.theory``. With ``pairs``, the measured input
        correlation of the first pair is passed as ``input_correlation``: ``theory.c`` and
        ``theory.post_correlation`` then sit beside ``preact_cos[:, 0]`` and ``act_cos[:, 0]``.

    Returns
    -------
    StackResult

    Raises
    ------
    ValueError
        depth/width/batch < 1, unknown activation/init/loss/errors, ``x`` of the wrong width or
        with non-finite values, bad bins or pairs.
    TypeError
        Unsupported dtype, ``x`` of another dtype than ``dtype``.
    FloatingPointError
        ``errors="raise"`` and a non-finite value appeared (the message names the layer).
    MemoryError
        The stored pre-activations do not fit (raised before any work).

    Notes
    -----
    Layer ``l``'s weights are exactly ``fastinit.init.network(widths, init, seed=seed)[l - 1]``:
    ``Generator(SeedSequence(seed), stream=stream_id("weights", l - 1))`` filling the
    ``(fan_in, fan_out)`` matrix in one draw. Value ``v`` of that stream is ``W.flat[v]``, so the
    engine generates row blocks of about 256 KiB, uses them at once and regenerates them in the
    backward pass. Products and statistics are computed in fixed blocks, so results are bitwise
    identical for any ``n_threads`` (on one SIMD path: the AVX2 path fuses multiply-adds).

    Examples
    --------
    >>> import fastinit
    >>> r = fastinit.simulate(100, 512, batch=64, activation="tanh", init="xavier_normal", seed=0)
    >>> r.act_std[-1] < r.act_std[0]
    True
    """
    t0 = time.perf_counter()
    depth = positive_int(depth, "depth")
    widths = _widths(width, depth)
    act = get_activation(activation, **dict(activation_kwargs or {}))
    loss = _choice(loss, _LOSSES, "loss")
    errors = _choice(errors, _ERRORS, "errors")
    nt = check_n_threads(n_threads)
    bias_std = float(bias_std)
    if not (math.isfinite(bias_std) and bias_std >= 0):
        raise ValueError(f"bias_std must be a finite number >= 0, got {bias_std!r}")
    seed_seq = _seed_sequence(seed)
    if x is not None:
        xa = np.asarray(x)
        dflt = xa.dtype if xa.dtype.kind == "f" else np.float32
        dt = float_dtype(dtype if dtype is not None else dflt, "simulate")
        xa = _float_array(xa, "x", dt, 2)
        if xa.shape[1] != widths[0]:
            raise ValueError(f"x has {xa.shape[1]} columns but the stack's input width is "
                             f"{widths[0]}")
        if xa.shape[0] < 1:
            raise ValueError("x must hold at least one example")
        batch = xa.shape[0]
    else:
        dt = float_dtype(np.float32 if dtype is None else dtype, "simulate")
        batch = positive_int(batch, "batch")
        xa = None
    pr = _pairs(pairs, batch)
    ck = _checkpoint(checkpoint_every, depth)
    dist, wparams, weights_of, specs = _init_layers(init, init_kwargs, widths, dt)
    if xa is None:
        xa = Generator(seed_seq, stream_id("inputs", 0)).standard_normal((batch, widths[0]),
                                                                         dtype=dt)
    budget = DEFAULT_WEIGHT_CACHE if weight_cache is None else positive_int(
        weight_cache, "weight_cache", minimum=0)
    cache = budget if backward and dist >= 0 and not ck else 0
    pred = _theory(act, specs, widths, bias_std, xa, pr) if theory else None
    run = _Run(widths=widths, batch=batch, dt=dt, act=act, n_threads=nt, errors=errors,
               saturation=saturation, bins=bins, pairs=pr, dist=dist, wparams=wparams,
               seed_seq=seed_seq, explicit=weights_of, biases=None, bias_std=bias_std,
               checkpoint_every=ck, weight_cache=cache, keep=False)
    out = run.run(xa, backward, loss, None)
    res = _result(run, out, x=xa, backward=backward, loss=loss,
                  init=init if isinstance(init, str) else repr(init), seed_seq=seed_seq, t0=t0)
    res.theory = pred
    _report_nonfinite(run, errors)
    return res


def propagate(x: Any, weights: Sequence[Any], biases: Sequence[Any] | None = None, *,
              activation: str | Activation = "tanh", activation_kwargs: Mapping | None = None,
              backward: bool = True, grad_output: Any = None, loss: str = "sum", seed: Any = None,
              return_activations: bool = False, return_weight_grads: bool = False,
              errors: str = "warn",
              n_threads: int | None = None, saturation: float = 0.01, bins: Any = None,
              pairs: Any = None, checkpoint_every: int | str | None = None) -> StackResult:
    """The deep-stack engine on explicit weights: ``h_l = phi(h_{l-1} W_l + b_l)``.

    Parameters
    ----------
    x : array_like, shape (batch, fan_in of the first layer)
        Input batch, float32 or float64 (the run's dtype).
    weights : sequence of arrays
        ``W_l`` of shape ``(fan_in, fan_out)``, chaining, all of ``x``'s dtype.
    biases : sequence of arrays or None, optional
        ``b_l`` of shape ``(fan_out,)`` (an entry may be None).
    activation, activation_kwargs, errors, n_threads, saturation, bins, pairs, checkpoint_every
        As in :func:`simulate`.
    backward : bool, default True
        Also run the backward pass.
    grad_output : array_like, optional
        ``dL/dh`` of the last layer ``(batch, fan_out)``; default from ``loss``.
    loss : {"sum", "normal", "mse"}
        As in :func:`simulate` (``"normal"`` and ``"mse"`` draw from ``seed``'s streams).
    seed : optional
        Key of the ``"normal"``/``"mse"`` streams.
    return_activations : bool, default False
        Also return ``activations``, ``preactivations`` and ``gradients`` (lists of arrays).
    return_weight_grads : bool, default False
        Also return ``weight_grads``, the matrices ``dL/dW_l`` shaped like ``weights[l]``, and,
        when ``biases`` is given, ``bias_grads`` (``dL/db_l``); needs ``backward=True``. The
        matrices are formed by the engine's own product (the statistics stay as without them).

    Returns
    -------
    StackResult

    Raises
    ------
    ValueError
        Empty ``weights``, shapes that do not chain, ``x`` of the wrong width, non-finite inputs.
    TypeError
        Unsupported or mixed dtypes.
    FloatingPointError
        ``errors="raise"`` and a non-finite value appeared.

    Examples
    --------
    >>> import numpy as np, fastinit
    >>> Ws = [fastinit.default_rng(l).normal(0, 1 / 16, (256, 256), dtype=np.float32) for l in range(3)]
    >>> x = np.ones((8, 256), np.float32)
    >>> r = fastinit.propagate(x, Ws, activation="relu")
    >>> r.dw_norm.shape
    (3,)
    """
    t0 = time.perf_counter()
    if isinstance(weights, np.ndarray) and weights.ndim == 2:
        weights = [weights]
    try:
        ws = list(weights)
    except TypeError:
        raise TypeError("weights must be a sequence of 2-D arrays") from None
    if not ws:
        raise ValueError("weights must hold at least one layer")
    xa0 = np.asarray(x)
    dt = float_dtype(xa0.dtype if xa0.dtype.kind == "f" else np.float64, "propagate")
    xa = _float_array(xa0, "x", dt, 2)
    Ws = [_float_array(W, f"weights[{l}]", dt, 2) for l, W in enumerate(ws)]
    if xa.shape[0] < 1:
        raise ValueError("x must hold at least one example")
    if xa.shape[1] != Ws[0].shape[0]:
        raise ValueError(f"x has {xa.shape[1]} columns but weights[0] has {Ws[0].shape[0]} rows")
    for l in range(1, len(Ws)):
        if Ws[l].shape[0] != Ws[l - 1].shape[1]:
            raise ValueError(f"weights do not chain: weights[{l - 1}] has shape "
                             f"{Ws[l - 1].shape} but weights[{l}] has shape {Ws[l].shape}")
    if any(0 in W.shape for W in Ws):
        raise ValueError("every layer must be at least 1 wide")
    widths = (xa.shape[1],) + tuple(W.shape[1] for W in Ws)
    depth = len(Ws)
    bs = None
    if biases is not None:
        bl = list(biases)
        if len(bl) != depth:
            raise ValueError(f"biases must hold one entry per layer ({depth}), got {len(bl)}")
        bs = []
        for l, b in enumerate(bl):
            if b is None:
                bs.append(None)
                continue
            ba = _float_array(b, f"biases[{l}]", dt, 1)
            if ba.shape[0] != widths[l + 1]:
                raise ValueError(f"biases[{l}] has {ba.shape[0]} values but layer {l + 1} has "
                                 f"{widths[l + 1]} units")
            bs.append(ba)
    act = get_activation(activation, **dict(activation_kwargs or {}))
    loss = _choice(loss, _LOSSES, "loss")
    errors = _choice(errors, _ERRORS, "errors")
    nt = check_n_threads(n_threads)
    go = None
    if grad_output is not None:
        go = _float_array(grad_output, "grad_output", dt, 2)
        if go.shape != (xa.shape[0], widths[-1]):
            raise ValueError(f"grad_output must have shape {(xa.shape[0], widths[-1])}, "
                             f"got {go.shape}")
    if return_weight_grads and not backward:
        raise ValueError("return_weight_grads=True needs backward=True")
    seed_seq = _seed_sequence(seed)
    batch = xa.shape[0]
    pr = _pairs(pairs, batch)
    ck = _checkpoint(checkpoint_every, depth)
    run = _Run(widths=widths, batch=batch, dt=dt, act=act, n_threads=nt, errors=errors,
               saturation=saturation, bins=bins, pairs=pr, dist=-1, wparams=None,
               seed_seq=seed_seq, explicit=Ws, biases=bs, bias_std=0.0, checkpoint_every=ck,
               weight_cache=False, keep=bool(return_activations),
               keep_grads=bool(return_weight_grads))
    out = run.run(xa, backward, loss, go)
    res = _result(run, out, x=xa, backward=backward,
                  loss=("grad_output" if go is not None else loss), init=None,
                  seed_seq=seed_seq, t0=t0)
    _report_nonfinite(run, errors)
    return res
