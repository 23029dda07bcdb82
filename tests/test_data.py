"""Tests of fastinit.data: bundled digits, IDX/MNIST reading, split, normalization."""

import gzip
import hashlib
import struct

import numpy as np
import pytest

from fastinit import data as fd

# Reference IDX writer, independent of the reader under test: magic
# 00 00 TT DD, DD big-endian uint32 sizes, big-endian elements.
_TYPE_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def idx_bytes(arr):
    arr = np.asarray(arr)
    code = _TYPE_CODES[arr.dtype.kind + str(arr.dtype.itemsize)]
    head = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write(path, blob, gz=False):
    path.write_bytes(gzip.compress(blob, mtime=0) if gz else blob)
    return path


# ---------------------------------------------------------------- digits


def test_digits_shapes_values_and_labels():
    d = fd.load_digits()
    assert d.data.shape == (1797, 64) and d.data.dtype == np.float64
    assert d.images.shape == (1797, 8, 8)
    assert np.array_equal(d.images.reshape(1797, 64), d.data)
    assert d.target.shape == (1797,) and d.target.dtype == np.int64
    assert np.array_equal(d.target_names, np.arange(10))
    assert d.data.min() == 0 and d.data.max() == 16
    assert np.array_equal(d.data, np.round(d.data))
    assert np.array_equal(np.bincount(d.target), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    assert "CC BY 4.0" in d.attribution and "Alpaydin" in d.attribution


def test_digits_first_image_known_values():
    # The first row of the UCI test file: a zero.
    X, y = fd.load_digits(return_X_y=True)
    assert y[0] == 0 and y[1] == 1
    assert X[0, :16].tolist() == [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0]
    assert X.sum() == 561718 and y.sum() == 8070


def test_digits_file_checksum_and_license():
    info = fd.digits_info()
    blob = open(info["path"], "rb").read()
    assert info["sha256"] == hashlib.sha256(blob).hexdigest()
    assert info["sha256"] == "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
    assert 40_000 < info["compressed_bytes"] < 80_000
    assert info["n_samples"] == 1797 and info["n_features"] == 64
    assert sum(info["classes"].values()) == 1797
    text = open(info["license_file"], encoding="utf-8").read()
    for needle in ("Alpaydin", "Kaynak", "1998", "CC BY 4.0", "UCI Machine Learning Repository",
                   "Optical Recognition of Handwritten"):
        assert needle in text


def test_digits_float32_and_copies():
    X32, _ = fd.load_digits(return_X_y=True, dtype=np.float32)
    X64, _ = fd.load_digits(return_X_y=True)
    assert X32.dtype == np.float32
    assert np.array_equal(X32.astype(np.float64), X64)
    X64[0, 0] = 99.0  # modifying a returned array must not reach the cache
    assert fd.load_digits(return_X_y=True)[0][0, 0] == 0.0


@pytest.mark.parametrize("dtype", [np.int32, np.float16, "complex128"])
def test_digits_bad_dtype(dtype):
    with pytest.raises(TypeError, match="Unsupported dtype"):
        fd.load_digits(dtype=dtype)


# ---------------------------------------------------------------- IDX

IDX_ARRAYS = [
    np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
    np.array([-128, -1, 0, 1, 127], dtype=np.int8),
    np.array([[-30000, 2], [3, 30000]], dtype=np.int16),
    np.array([-(2**31), 0, 2**31 - 1], dtype=np.int32),
    np.array([[1.5, -2.25, np.inf]], dtype=np.float32),
    np.array([np.pi, -0.0, 1e300], dtype=np.float64),
    np.zeros((0, 5), dtype=np.uint8),
]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("arr", IDX_ARRAYS, ids=lambda a: f"{a.dtype}-{a.shape}")
def test_idx_roundtrip(tmp_path, arr, gz):
    p = write(tmp_path / "x.idx", idx_bytes(arr), gz=gz)
    got = fd.load_idx(p)
    assert got.shape == arr.shape
    assert got.dtype == arr.dtype and got.dtype.isnative
    assert np.array_equal(got, arr)
    assert got.flags.writeable
    assert fd.load_idx(str(p)).tobytes() == arr.tobytes()


def test_idx_gzip_detected_by_content_not_name(tmp_path):
    arr = np.arange(6, dtype=np.uint8).reshape(2, 3)
    p = write(tmp_path / "plain-name-idx2-ubyte", idx_bytes(arr), gz=True)
    q = write(tmp_path / "gz-name.gz", idx_bytes(arr), gz=False)
    assert np.array_equal(fd.load_idx(p), arr)
    assert np.array_equal(fd.load_idx(q), arr)


def test_idx_missing_file(tmp_path):
    missing = tmp_path / "nope-idx1-ubyte"
    with pytest.raises(FileNotFoundError) as ei:
        fd.load_idx(missing)
    assert "No such file or directory" in str(ei.value) and str(missing) in str(ei.value)


@pytest.mark.parametrize(
    "blob, match",
    [
        (b"", "shorter than the 4-byte magic number"),
        (b"\x00\x00", "shorter than the 4-byte magic number"),
        (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "magic number 0x01000801"),
        (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "magic number 0x00000701"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x03" + struct.pack(">I", 2), "header declares 3 dimensions"),
        (b"\x00\x00\x08\x02" + struct.pack(">II", 2, 3) + b"\x00" * 5, "needs 6 data bytes, found 5"),
        (b"\x00\x00\x0d\x01" + struct.pack(">I", 2) + b"\x00" * 7, "needs 8 data bytes, found 7"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 2) + b"\x00" * 3, "1 bytes after the data"),
        (b"PK\x03\x04 this is a zip file", "not an IDX file"),
        # A header claiming ~2**64 elements must fail cleanly, not allocate.
        (b"\x00\x00\x0e\x02" + struct.pack(">II", 2**32 - 1, 2**32 - 1), "truncated IDX file"),
    ],
)
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_idx_malformed(tmp_path, blob, match, gz):
    p = write(tmp_path / "bad", blob, gz=gz)
    with pytest.raises(ValueError, match=match) as ei:
        fd.load_idx(p)
    assert str(p) in str(ei.value)


def test_idx_truncated_gzip_stream(tmp_path):
    arr = np.arange(1000, dtype=np.int32)
    full = gzip.compress(idx_bytes(arr), mtime=0)
    p = tmp_path / "cut.gz"
    p.write_bytes(full[: len(full) // 2])
    with pytest.raises(ValueError, match="corrupt gzip data"):
        fd.load_idx(p)
    p.write_bytes(full[:10] + b"\xff" * 40)
    with pytest.raises(ValueError, match="corrupt gzip data"):
        fd.load_idx(p)


# ---------------------------------------------------------------- MNIST


def make_mnist(directory, kind, n, gz, dotted=False, rows=4, cols=3, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    sep = "." if dotted else "-"
    suffix = ".gz" if gz else ""
    write(directory / f"{kind}-images{sep}idx3-ubyte{suffix}", idx_bytes(images), gz=gz)
    write(directory / f"{kind}-labels{sep}idx1-ubyte{suffix}", idx_bytes(labels), gz=gz)
    return images, labels


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("kind", ["train", "t10k"])
def test_mnist_load(tmp_path, kind, gz):
    images, labels = make_mnist(tmp_path, kind, 7, gz)
    X, y = fd.load_mnist(tmp_path, kind=kind)
    assert X.dtype == np.uint8 and X.shape == (7, 4, 3)
    assert np.array_equal(X, images) and np.array_equal(y, labels)
    Xf, _ = fd.load_mnist(str(tmp_path), kind=kind, flatten=True, dtype=np.float32)
    assert Xf.shape == (7, 12) and Xf.dtype == np.float32
    assert np.array_equal(Xf, images.reshape(7, 12).astype(np.float32))


def test_mnist_dotted_names(tmp_path):
    images, labels = make_mnist(tmp_path, "t10k", 3, gz=True, dotted=True)
    X, y = fd.load_mnist(tmp_path, kind="t10k")
    assert np.array_equal(X, images) and np.array_equal(y, labels)


def test_mnist_errors(tmp_path):
    with pytest.raises(ValueError, match="kind must be one of 'train', 't10k'.*'test'"):
        fd.load_mnist(tmp_path, kind="test")
    with pytest.raises(FileNotFoundError, match="No such file or directory"):
        fd.load_mnist(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        fd.load_mnist(tmp_path)
    with pytest.raises(TypeError, match="Unsupported dtype"):
        fd.load_mnist(tmp_path, dtype=np.int64)
    # counts that disagree
    make_mnist(tmp_path, "train", 5, gz=False)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(ValueError, match="5 images .* but 4 labels"):
        fd.load_mnist(tmp_path)
    # images file with the wrong number of dimensions
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros((4, 9), np.uint8)))
    with pytest.raises(ValueError, match="expected 3 dimensions"):
        fd.load_mnist(tmp_path)
    # a truncated file is reported through load_idx
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros((4, 2, 2), np.uint8))[:-1])
    with pytest.raises(ValueError, match="truncated IDX file"):
        fd.load_mnist(tmp_path)


# ---------------------------------------------------------------- split


def test_split_reference_and_determinism():
    X = np.arange(40).reshape(20, 2)
    y = np.arange(20)
    Xt, Xv, yt, yv = fd.train_valid_split(X, y, valid_fraction=0.25, seed=3)
    perm = np.random.Generator(np.random.PCG64(3)).permutation(20)  # documented reference
    assert np.array_equal(yt, perm[:15]) and np.array_equal(yv, perm[15:])
    assert np.array_equal(Xt, X[perm[:15]]) and np.array_equal(Xv, X[perm[15:]])
    again = fd.train_valid_split(X, y, valid_fraction=0.25, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((Xt, Xv, yt, yv), again))
    other = fd.train_valid_split(X, y, valid_fraction=0.25, seed=4)
    assert not np.array_equal(other[3], yv)
    assert sorted(np.concatenate([yt, yv]).tolist()) == list(range(20))


def test_split_no_shuffle_and_sizes():
    X = np.arange(10)
    Xt, Xv = fd.train_valid_split(X, shuffle=False, valid_fraction=0.3)
    assert Xt.tolist() == list(range(7)) and Xv.tolist() == [7, 8, 9]
    Xt, Xv = fd.train_valid_split(np.arange(3), valid_fraction=0.01)
    assert len(Xv) == 1 and len(Xt) == 2
    Xt, Xv = fd.train_valid_split(np.arange(3), valid_fraction=0.99)
    assert len(Xv) == 2 and len(Xt) == 1


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(X=np.arange(1)), ValueError, "at least 2 samples"),
        (dict(X=np.arange(5), valid_fraction=0.0), ValueError, "valid_fraction must be in"),
        (dict(X=np.arange(5), valid_fraction=1.0), ValueError, "valid_fraction must be in"),
        (dict(X=np.arange(5), y=np.arange(4)), ValueError, "different numbers of samples"),
        (dict(X=np.arange(5), seed=-1), ValueError, "expected non-negative integer"),
        (dict(X=np.arange(5), seed=0.5), TypeError, "SeedSequence expects int or sequence of ints"),
    ],
)
def test_split_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fd.train_valid_split(**kwargs)


# ---------------------------------------------------------------- normalize


def test_normalize_uses_train_statistics():
    rng = np.random.default_rng(0)
    train = rng.normal(3.0, 2.0, size=(500, 4))
    valid = rng.normal(5.0, 1.0, size=(100, 4))
    r = fd.normalize(train, valid)
    assert r.mean == pytest.approx(train.mean(), rel=0, abs=0)
    assert r.std == pytest.approx(train.std(), rel=0, abs=0)
    np.testing.assert_array_equal(r.train, (train - train.mean()) / train.std())
    np.testing.assert_array_equal(r.valid, (valid - train.mean()) / train.std())
    assert fd.near_zero(r.train.mean()) and fd.near_zero(r.train.std() - 1)
    # the validation set is on the training scale, so it is NOT centred
    assert not fd.near_zero(r.valid.mean(), tol=0.1)
    assert fd.normalize(train).valid is None


def test_normalize_per_feature_constant_columns_and_dtypes():
    X, _ = fd.load_digits(return_X_y=True, dtype=np.float32)
    r = fd.normalize(X, X[:10], axis=0)
    assert r.train.dtype == np.float32 and r.valid.dtype == np.float32
    assert r.mean.shape == (64,) and r.std.shape == (64,)
    constant = X.std(axis=0) == 0
    assert constant.any()  # the digits have always-blank pixels
    assert np.all(r.std[constant] == 1.0) and np.all(r.train[:, constant] == 0)
    assert np.isfinite(r.train).all()
    assert fd.near_zero(r.train.mean(axis=0), tol=1e-5)
    ints = fd.normalize(np.arange(10))
    assert ints.train.dtype == np.float64


def test_normalize_does_not_modify_input():
    X = np.arange(12.0).reshape(6, 2)
    before = X.copy()
    fd.normalize(X, X)
    assert np.array_equal(X, before)


def test_normalize_errors():
    with pytest.raises(ValueError, match="empty"):
        fd.normalize(np.array([]))
    with pytest.raises(ValueError, match="NaN or infinity"):
        fd.normalize(np.array([1.0, np.nan]))


def test_near_zero():
    assert fd.near_zero(0.0) and fd.near_zero(-9.9e-4) and not fd.near_zero(1e-3)
    assert fd.near_zero([1e-4, -1e-4]) and not fd.near_zero([1e-4, 2e-3])
    assert not fd.near_zero(np.nan)
    assert fd.near_zero(0.05, tol=0.1)
    for bad in (0, -1, np.nan, np.inf):
        with pytest.raises(ValueError, match="tol must be positive"):
            fd.near_zero(0.0, tol=bad)
