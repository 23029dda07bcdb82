"""Small real data sets for the initialization experiments, with no download.

fastinit ships one real data set inside the package, the UCI 8x8 handwritten
digits (1797 images, CC BY 4.0, about 57 kB compressed; see
``LICENSE-digits.txt`` beside this file), so that every experiment runs on a
fresh machine without a network. MNIST, which fastinit does not ship, is read
from IDX files the user already has (plain or gzipped).

The normalization helpers follow the fast.ai lesson of seed note 003: the
validation set is normalized with the *training* set's mean and standard
deviation, and :func:`near_zero` checks that a statistic is close to zero.

Functions
---------
load_digits        the bundled 8x8 digits, as images or 64-vectors
load_idx           one IDX file (``.gz`` or plain) as a NumPy array
load_mnist         the MNIST images and labels of a directory
train_valid_split  a seeded random split into training and validation parts
normalize          standardize with the training set's statistics
near_zero          ``abs(x) < tol`` for a statistic (all elements of an array)
digits_info        facts about the bundled file (size, checksum, attribution)
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from fastinit._validate import float_dtype

__all__ = [
    "DIGITS_ATTRIBUTION",
    "Digits",
    "NormalizeResult",
    "digits_info",
    "load_digits",
    "load_idx",
    "load_mnist",
    "near_zero",
    "normalize",
    "train_valid_split",
]

_HERE = Path(__file__).resolve().parent
_DIGITS_FILE = _HERE / "digits.csv.gz"
_DIGITS_LICENSE = _HERE / "LICENSE-digits.txt"

DIGITS_ATTRIBUTION = (
    'UCI Machine Learning Repository, "Optical Recognition of Handwritten '
    'Digits", E. Alpaydin and C. Kaynak (1998), CC BY 4.0'
)

# IDX type byte -> big-endian NumPy dtype (the format stores data MSB first).
_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

# Standard MNIST file names; the dot variant is what some mirrors unpack to.
_MNIST_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "t10k": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class Digits(NamedTuple):
    """The bundled digits data set (see :func:`load_digits`).

    Attributes
    ----------
    data : ndarray, shape (1797, 64)
        Each image flattened row by row; values are whole numbers in [0, 16].
    images : ndarray, shape (1797, 8, 8)
        The same values as 8x8 images (a view of `data`).
    target : ndarray of int64, shape (1797,)
        The digit shown, 0..9.
    target_names : ndarray of int64, shape (10,)
        ``arange(10)``.
    attribution : str
        Source and licence of the data (CC BY 4.0 requires it to be shown).
    """

    data: np.ndarray
    images: np.ndarray
    target: np.ndarray
    target_names: np.ndarray
    attribution: str


@lru_cache(maxsize=1)
def _digits_raw():
    # Parsed once per process; callers get fresh copies, so the cache
    # cannot be modified through a returned array.
    with gzip.open(_DIGITS_FILE, "rt", encoding="ascii") as fh:
        raw = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    if raw.shape != (1797, 65):  # pragma: no cover - guards a damaged install
        raise ValueError(f"damaged data file {_DIGITS_FILE}: shape {raw.shape}, expected (1797, 65)")
    raw.setflags(write=False)
    return raw


def load_digits(return_X_y=False, dtype=np.float64):
    """Load the bundled UCI 8x8 handwritten digits.

    Parameters
    ----------
    return_X_y : bool, optional
        If True, return ``(data, target)`` instead of a :class:`Digits`.
    dtype : {float64, float32}, optional
        Floating type of the pixel values (they are whole numbers in [0, 16],
        exact in both types).

    Returns
    -------
    Digits or tuple of ndarray
        ``Digits(data, images, target, target_names, attribution)``, or
        ``(data, target)`` with `data` of shape (1797, 64) and `target` int64.

    Raises
    ------
    TypeError
        If `dtype` is not float32 or float64.

    Notes
    -----
    The 1797 images are the test part of the UCI "Optical Recognition of
    Handwritten Digits" set (Alpaydin & Kaynak, 1998), CC BY 4.0. Every call
    returns new arrays that the caller may modify.

    References
    ----------
    .. [1] E. Alpaydin, C. Kaynak, "Optical Recognition of Handwritten
       Digits", UCI Machine Learning Repository, 1998.

    Examples
    --------
    >>> from fastinit.data import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> X.shape, y.shape, float(X.max())
    ((1797, 64), (1797,), 16.0)
    """
    dt = float_dtype(dtype, "load_digits")
    raw = _digits_raw()
    data = raw[:, :64].astype(dt)
    target = raw[:, 64].copy()
    if return_X_y:
        return data, target
    return Digits(
        data=data,
        images=data.reshape(-1, 8, 8),
        target=target,
        target_names=np.arange(10, dtype=np.int64),
        attribution=DIGITS_ATTRIBUTION,
    )


def digits_info():
    """Facts about the bundled digits file, for ``fastinit data``.

    Returns
    -------
    dict
        ``name``, ``path``, ``n_samples``, ``n_features``, ``image_shape``,
        ``classes`` (count per digit), ``value_range``, ``compressed_bytes``,
        ``sha256``, ``attribution`` and ``license_file``.
    """
    raw = _digits_raw()
    blob = _DIGITS_FILE.read_bytes()
    return {
        "name": "UCI optical recognition of handwritten digits (8x8)",
        "path": str(_DIGITS_FILE),
        "n_samples": int(raw.shape[0]),
        "n_features": 64,
        "image_shape": [8, 8],
        "classes": {str(k): int(c) for k, c in enumerate(np.bincount(raw[:, 64], minlength=10))},
        "value_range": [int(raw[:, :64].min()), int(raw[:, :64].max())],
        "compressed_bytes": len(blob),
        "sha256": hashlib.sha256(blob).hexdigest(),
        "attribution": DIGITS_ATTRIBUTION,
        "license_file": str(_DIGITS_LICENSE),
    }


def _read_maybe_gzip(path):
    # The gzip magic decides, not the file name: a renamed file still loads.
    with open(path, "rb") as fh:
        blob = fh.read()
    if blob[:2] != b"\x1f\x8b":
        return blob
    try:
        return gzip.decompress(blob)
    except (OSError, EOFError, zlib.error) as exc:
        # gzip signals a truncated stream with EOFError, a bad one with
        # BadGzipFile (an OSError) or zlib.error; all mean a damaged file.
        raise ValueError(f"corrupt gzip data in {os.fspath(path)!r}: {exc}") from None


def load_idx(path):
    """Read an IDX file (the MNIST format), plain or gzip-compressed.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Compression is recognised from the content (gzip's magic
        bytes), not from the name.

    Returns
    -------
    ndarray
        The array in native byte order, with the file's shape and element
        type (uint8, int8, int16, int32, float32 or float64).

    Raises
    ------
    FileNotFoundError
        If `path` does not exist (Python's own wording:
        ``[Errno 2] No such file or directory: 'path'``).
    ValueError
        If the file is not IDX (wrong magic number, unknown type code, no
        dimensions), is truncated or has trailing bytes, or its gzip stream
        is damaged. The message names the file and what is wrong.

    Notes
    -----
    An IDX file starts with a 4-byte magic number ``00 00 TT DD`` (``TT`` the
    element type, ``DD`` the number of dimensions), then ``DD`` big-endian
    uint32 sizes, then the elements in row-major order, big-endian.

    References
    ----------
    .. [1] Y. LeCun, C. Cortes, C. J. C. Burges, "The MNIST database of
       handwritten digits", file format section.

    Examples
    --------
    >>> images = load_idx("train-images-idx3-ubyte.gz")  # doctest: +SKIP
    >>> images.shape, images.dtype                       # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    name = os.fspath(path)
    blob = _read_maybe_gzip(path)
    if len(blob) < 4:
        raise ValueError(f"not an IDX file: {name!r} is {len(blob)} bytes long, shorter than the 4-byte magic number")
    magic = int.from_bytes(blob[:4], "big")
    zero, type_code, ndim = blob[0] | blob[1], blob[2], blob[3]
    if zero != 0 or type_code not in _IDX_TYPES:
        raise ValueError(
            f"not an IDX file: {name!r} has magic number 0x{magic:08x}; expected 0x0000TTDD "
            f"with type TT one of {', '.join(f'0x{t:02x}' for t in _IDX_TYPES)}"
        )
    if ndim == 0:
        raise ValueError(f"not an IDX file: {name!r} has magic number 0x{magic:08x} declaring 0 dimensions")
    header = 4 + 4 * ndim
    if len(blob) < header:
        raise ValueError(
            f"truncated IDX file {name!r}: the header declares {ndim} dimensions "
            f"({header} header bytes) but the file has {len(blob)} bytes"
        )
    shape = tuple(int.from_bytes(blob[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_TYPES[type_code]
    count = 1
    for s in shape:
        count *= s  # Python ints: no overflow however large the header says
    need = count * dtype.itemsize
    have = len(blob) - header
    if have < need:
        raise ValueError(
            f"truncated IDX file {name!r}: shape {shape} of {dtype.newbyteorder('=').name} "
            f"needs {need} data bytes, found {have}"
        )
    if have > need:
        raise ValueError(
            f"malformed IDX file {name!r}: {have - need} bytes after the data of shape {shape}"
        )
    arr = np.frombuffer(blob, dtype=dtype, count=count, offset=header)
    return arr.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def _find_mnist_file(directory, stem):
    candidates = [stem, stem + ".gz"]
    dotted = stem.replace("-idx", ".idx", 1)
    candidates += [dotted, dotted + ".gz"]
    for cand in candidates:
        p = Path(directory) / cand
        if p.is_file():
            return p
    raise FileNotFoundError(
        2,
        "No such file or directory",
        os.fspath(Path(directory) / stem) + "[.gz]",
    )


def load_mnist(directory, kind="train", *, flatten=False, dtype=None):
    """Load MNIST images and labels from IDX files in `directory`.

    Parameters
    ----------
    directory : str or os.PathLike
        Folder holding the standard files, plain or gzipped:
        ``{kind}-images-idx3-ubyte[.gz]`` and ``{kind}-labels-idx1-ubyte[.gz]``
        (the ``{kind}-images.idx3-ubyte`` spelling is accepted too).
    kind : {"train", "t10k"}, optional
        Which half: 60,000 training or 10,000 test images.
    flatten : bool, optional
        Return images as (n, rows*cols) instead of (n, rows, cols).
    dtype : None, float32 or float64, optional
        None keeps the stored uint8 pixels; a float type converts them
        without rescaling (values stay in [0, 255]).

    Returns
    -------
    images : ndarray
    labels : ndarray of uint8, shape (n,)

    Raises
    ------
    ValueError
        If `kind` is unknown, a file is malformed (see :func:`load_idx`), or
        images and labels disagree in count or dimensionality.
    FileNotFoundError
        If `directory` lacks one of the files.
    TypeError
        If `dtype` is not None, float32 or float64.

    Examples
    --------
    >>> X, y = load_mnist("~/data/mnist", kind="t10k", flatten=True)  # doctest: +SKIP
    """
    if kind not in _MNIST_NAMES:
        raise ValueError(f"kind must be one of 'train', 't10k' (got {kind!r})")
    dt = None if dtype is None else float_dtype(dtype, "load_mnist")
    directory = Path(os.path.expanduser(os.fspath(directory)))
    if not directory.is_dir():
        raise FileNotFoundError(2, "No such file or directory", os.fspath(directory))
    img_path = _find_mnist_file(directory, _MNIST_NAMES[kind][0])
    lab_path = _find_mnist_file(directory, _MNIST_NAMES[kind][1])
    images = load_idx(img_path)
    labels = load_idx(lab_path)
    if images.ndim != 3:
        raise ValueError(f"{os.fspath(img_path)!r}: expected 3 dimensions (n, rows, cols), found shape {images.shape}")
    if labels.ndim != 1:
        raise ValueError(f"{os.fspath(lab_path)!r}: expected 1 dimension (n,), found shape {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"MNIST files disagree: {images.shape[0]} images in {img_path.name!r} "
            f"but {labels.shape[0]} labels in {lab_path.name!r}"
        )
    if flatten:
        images = images.reshape(images.shape[0], -1)
    if dt is not None:
        images = images.astype(dt)
    return images, labels


def train_valid_split(X, y=None, *, valid_fraction=0.2, seed=0, shuffle=True):
    """Split samples into a training and a validation part.

    Parameters
    ----------
    X : array_like, shape (n, ...)
        Samples along the first axis.
    y : array_like, shape (n,), optional
        Labels, split the same way.
    valid_fraction : float, optional
        Fraction of samples in the validation part, in (0, 1); the count is
        ``round(n * valid_fraction)`` clipped to [1, n-1].
    seed : int, optional
        Seed of the permutation (NumPy's PCG64 generator, so a split can be
        repeated with NumPy alone).
    shuffle : bool, optional
        If False, the last samples form the validation part, in order.

    Returns
    -------
    X_train, X_valid : ndarray
    y_train, y_valid : ndarray
        Only when `y` is given.

    Raises
    ------
    ValueError
        If fewer than 2 samples, `valid_fraction` outside (0, 1), a negative
        seed, or `X` and `y` of different lengths.
    TypeError
        If `seed` is not an integer (NumPy's SeedSequence message).

    Examples
    --------
    >>> X, y = load_digits(return_X_y=True)
    >>> Xt, Xv, yt, yv = train_valid_split(X, y, valid_fraction=0.25, seed=1)
    >>> Xt.shape, Xv.shape
    ((1348, 64), (449, 64))
    """
    X = np.asarray(X)
    if X.ndim == 0 or X.shape[0] < 2:
        raise ValueError(f"need at least 2 samples to split, got shape {X.shape}")
    n = X.shape[0]
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 0 or y.shape[0] != n:
            raise ValueError(f"X and y have different numbers of samples: {n} and {y.shape[0] if y.ndim else 0}")
    valid_fraction = float(valid_fraction)
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be in (0, 1), got {valid_fraction}")
    n_valid = min(max(int(round(n * valid_fraction)), 1), n - 1)
    if shuffle:
        # PCG64's SeedSequence rejects bad seeds in NumPy's own words.
        order = np.random.Generator(np.random.PCG64(seed)).permutation(n)
    else:
        order = np.arange(n)
    tr, va = order[: n - n_valid], order[n - n_valid :]
    if y is None:
        return X[tr], X[va]
    return X[tr], X[va], y[tr], y[va]


class NormalizeResult(NamedTuple):
    """What :func:`normalize` returns."""

    train: np.ndarray
    valid: np.ndarray | None
    mean: float | np.ndarray
    std: float | np.ndarray


def normalize(train, valid=None, *, axis=None):
    """Standardize with the training set's mean and standard deviation.

    Parameters
    ----------
    train : array_like
        Training data; its statistics are used for both parts.
    valid : array_like, optional
        Validation data, normalized with the *training* mean and std so that
        both sets stay on the same scale (seed note 003).
    axis : None or int, optional
        None (the default, as in the lesson) uses one mean and std over all
        elements; ``axis=0`` gives per-feature statistics.

    Returns
    -------
    NormalizeResult
        ``(train, valid, mean, std)``: the normalized arrays (`valid` is None
        if not given) and the statistics used. Float input keeps its dtype,
        other input becomes float64; statistics are computed in float64.

    Raises
    ------
    ValueError
        If `train` is empty or contains NaN or infinity.

    Notes
    -----
    A standard deviation of exactly 0 (a constant feature, such as the
    always-blank corner pixels of the digits) is replaced by 1, so such a
    feature becomes 0 instead of NaN.

    Examples
    --------
    >>> X, _ = load_digits(return_X_y=True)
    >>> Xt, Xv = train_valid_split(X, seed=0)
    >>> r = normalize(Xt, Xv)
    >>> near_zero(r.train.mean()), near_zero(r.train.std() - 1)
    (True, True)
    """
    t = np.asarray(train)
    if t.size == 0:
        raise ValueError("cannot normalize an empty training set")
    out_dtype = t.dtype if t.dtype.kind == "f" else np.dtype(np.float64)
    t64 = t.astype(np.float64)
    if not np.isfinite(t64).all():
        raise ValueError("training set contains NaN or infinity")
    mean = t64.mean(axis=axis, keepdims=axis is not None)
    std = t64.std(axis=axis, keepdims=axis is not None)
    std = np.where(std == 0.0, 1.0, std)

    def apply(a):
        return ((np.asarray(a, dtype=np.float64) - mean) / std).astype(out_dtype, copy=False)

    v = None if valid is None else apply(valid)
    if axis is None:
        mean_out, std_out = float(mean), float(std)
    else:
        mean_out, std_out = np.squeeze(mean, axis=axis), np.squeeze(std, axis=axis)
    return NormalizeResult(apply(t), v, mean_out, std_out)


def near_zero(x, tol=1e-3):
    """True if ``abs(x) < tol`` (for every element, if `x` is an array).

    The check of seed note 003 for a normalized set: ``near_zero(mean)`` and
    ``near_zero(std - 1)``. NaN is never near zero.

    Parameters
    ----------
    x : float or array_like
    tol : float, optional
        Positive, finite tolerance.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        If `tol` is not positive and finite.

    Examples
    --------
    >>> near_zero(2e-4), near_zero(-0.01), near_zero(0.01, tol=0.1)
    (True, False, True)
    """
    tol = float(tol)
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be positive and finite, got {tol}")
    a = np.abs(np.asarray(x, dtype=np.float64))
    return bool(np.all(a < tol))
