"""Data: loaders on tiny files written here, stratified splits, on-device augmentation."""

from __future__ import annotations

import gzip
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import write_jpeg_h5

from nasbench_tools.data import (
    RawDataset,
    SplitIndices,
    halves,
    list_datasets,
    load_cifar,
    load_cifar10_jpeg,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_svhn,
    make_split,
    stratified_counts,
)
from nasbench_tools.data.jpeg import class_interleaved_order
from nasbench_tools.exceptions import ConfigError, DataNotFoundError, UnknownNameError

# --------------------------------------------------------------------------- helpers


def _idx_bytes(arr: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim)
    header += struct.pack(f">{arr.ndim}i", *arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def _write_fashion(root: Path, *, n_train: int = 12, n_test: int = 6, gz: bool = False) -> dict:
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.arange(n_train, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test, dtype=np.uint8) * 3) % 10,
    }
    root.mkdir(parents=True, exist_ok=True)
    for name, arr in arrays.items():
        data = _idx_bytes(arr)
        if gz:
            (root / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (root / name).write_bytes(data)
    return arrays


def _write_cifar(root: Path, n_classes: int, per_batch: int = 4) -> dict[str, np.ndarray]:
    """A tiny batch directory in the official key layout; returns the images written (NHWC)."""
    rng = np.random.default_rng(n_classes)
    if n_classes == 10:
        d = root / "cifar-10-batches-py"
        train_files = [f"data_batch_{i}" for i in range(1, 6)]
        test_file, meta_file = "test_batch", "batches.meta"
        label_key, meta = b"labels", {b"label_names": [f"c{i}".encode() for i in range(10)]}
    else:
        d = root / "cifar-100-python"
        train_files, test_file, meta_file = ["train"], "test", "meta"
        label_key = b"fine_labels"
        meta = {b"fine_label_names": [f"f{i}".encode() for i in range(100)],
                b"coarse_label_names": [f"k{i}".encode() for i in range(20)]}  # fmt: skip
    d.mkdir(parents=True)
    written: dict[str, list[np.ndarray]] = {"x_train": [], "y_train": []}
    for name in [*train_files, test_file]:
        chw = rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, n_classes, per_batch)]
        batch = {b"data": chw.reshape(per_batch, -1), label_key: labels, b"batch_label": b"x"}
        (d / name).write_bytes(pickle.dumps(batch))
        part = "test" if name == test_file else "train"
        written.setdefault(f"x_{part}", []).append(chw.transpose(0, 2, 3, 1))
        written.setdefault(f"y_{part}", []).append(np.array(labels))
    (d / meta_file).write_bytes(pickle.dumps(meta))
    return {k: np.concatenate(v) for k, v in written.items()}


def _toy(n_per_class: tuple[int, ...], with_test: bool = False) -> RawDataset:
    y = np.concatenate([np.full(n, c) for c, n in enumerate(n_per_class)])
    x = np.zeros((y.size, 4, 4, 1), np.uint8)
    classes = tuple(str(c) for c in range(len(n_per_class)))
    if with_test:
        return RawDataset("toy", x, y, x[:20], y[:20], classes, "test")
    return RawDataset("toy", x, y, None, None, classes, "test")


# --------------------------------------------------------------------------- loaders


def test_digits_shapes_and_values() -> None:
    raw = load_digits()
    assert raw.x_train.shape == (1797, 8, 8, 1) and raw.x_train.dtype == np.uint8
    assert raw.y_train.dtype == np.int64 and raw.n_classes == 10
    assert raw.x_test is None and not raw.has_test
    assert raw.image_shape == (1, 8, 8)
    assert raw.x_train.max() == 255 and raw.x_train.min() == 0
    # every value is one of the 17 levels round(v * 255 / 16)
    levels = set(np.rint(np.arange(17) * 255 / 16).astype(int))
    assert set(np.unique(raw.x_train).tolist()) <= levels


@pytest.mark.parametrize("gz", [False, True])
def test_fashion_mnist_idx(tmp_path: Path, gz: bool) -> None:
    arrays = _write_fashion(tmp_path, gz=gz)
    raw = load_fashion_mnist(tmp_path)
    assert raw.x_train.shape == (12, 28, 28, 1) and raw.x_test is not None
    np.testing.assert_array_equal(raw.x_train[..., 0], arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(raw.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert raw.n_classes == 10 and raw.classes[0] == "T-shirt/top"


def test_fashion_mnist_in_subdirectory_and_env(tmp_path: Path, monkeypatch) -> None:
    _write_fashion(tmp_path / "fashion", gz=True)
    monkeypatch.setenv("NASBENCH_FASHION_MNIST", str(tmp_path))
    assert load_dataset("fashion-mnist").n_train == 12


def test_fashion_mnist_truncated_file(tmp_path: Path) -> None:
    _write_fashion(tmp_path)
    f = tmp_path / "train-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-5])
    with pytest.raises(ConfigError, match="truncated") as info:
        load_fashion_mnist(tmp_path)
    assert str(f) in str(info.value)


def test_fashion_mnist_bad_magic_and_missing_file(tmp_path: Path) -> None:
    _write_fashion(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x01\x02\x08\x01abcd")
    with pytest.raises(ConfigError, match="magic"):
        load_fashion_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_fashion_mnist(tmp_path)


@pytest.mark.parametrize("n_classes", [10, 100])
def test_cifar_pickle_batches(tmp_path: Path, n_classes: int) -> None:
    written = _write_cifar(tmp_path, n_classes)
    for root in (tmp_path, next(tmp_path.iterdir())):  # the parent, or the batch dir itself
        raw = load_cifar(root, n_classes=n_classes)
        assert raw.name == f"cifar{n_classes}" and raw.n_classes == n_classes
        assert raw.x_train.shape == (written["x_train"].shape[0], 32, 32, 3)
        np.testing.assert_array_equal(raw.x_train, written["x_train"])
        np.testing.assert_array_equal(raw.y_train, written["y_train"])
        np.testing.assert_array_equal(raw.x_test, written["x_test"])
    assert raw.classes[1] == ("c1" if n_classes == 10 else "f1")


def test_cifar_missing_key_and_env(tmp_path: Path, monkeypatch) -> None:
    _write_cifar(tmp_path, 10)
    monkeypatch.setenv("NASBENCH_CIFAR10", str(tmp_path))
    assert load_dataset("cifar10").n_train == 20
    bad = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    bad.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8)}))
    with pytest.raises(ConfigError, match="labels"):
        load_dataset("cifar10")


class _RunsCode:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (print, ("code ran",))


def test_a_cifar_batch_that_would_run_code_is_refused(tmp_path: Path, capsys) -> None:
    """CIFAR batches are pickles; only numpy arrays and plain containers may load from them,
    also from a Python 2 style pickle (protocol 2)."""
    _write_cifar(tmp_path, 10)
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_1"
    proto2 = pickle.loads(batch.read_bytes())
    batch.write_bytes(pickle.dumps(proto2, protocol=2))
    assert load_cifar(tmp_path, n_classes=10).n_train == 20
    batch.write_bytes(pickle.dumps({b"data": _RunsCode(), b"labels": [0]}))
    with pytest.raises(ConfigError, match=r"builtins\.print, which a CIFAR batch never holds"):
        load_cifar(tmp_path, n_classes=10)
    assert "code ran" not in capsys.readouterr().out


def test_svhn_mat(tmp_path: Path) -> None:
    scipy_io = pytest.importorskip("scipy.io")
    rng = np.random.default_rng(0)
    for name, n in (("train_32x32.mat", 12), ("test_32x32.mat", 3)):
        x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = (np.arange(n) % 10 + 1).reshape(n, 1).astype(np.uint8)  # labels 1..10
        scipy_io.savemat(str(tmp_path / name), {"X": x, "y": y})
        if name.startswith("train"):
            x_train, y_train = x, y
    raw = load_svhn(tmp_path)
    assert raw.x_train.shape == (12, 32, 32, 3) and raw.n_test == 3
    np.testing.assert_array_equal(raw.x_train[4], x_train[:, :, :, 4])
    expected = y_train.ravel().astype(np.int64)
    expected[expected == 10] = 0
    np.testing.assert_array_equal(raw.y_train, expected)
    assert 0 not in y_train and 0 in raw.y_train  # label 10 (digit 0) mapped to 0


def test_cifar10_jpeg_offline_layout(tmp_path: Path) -> None:
    path = tmp_path / "tiny.h5"
    labels = write_jpeg_h5(path)
    raw = load_cifar10_jpeg(path, cache_dir=tmp_path / "cache")
    assert raw.x_train.shape == (6, 32, 32, 3) and raw.classes == ("class0", "class1", "class2")
    assert "not the official release" in raw.note
    # rows come back interleaved by class: 0 1 2 0 1 2
    np.testing.assert_array_equal(raw.y_train, [0, 1, 2, 0, 1, 2])
    # row 4 is the second image of class 1 (value 40 + 10); JPEG keeps a flat image close
    assert abs(float(raw.x_train[4].mean()) - 50) <= 3
    assert list((tmp_path / "cache").glob("*.npz"))  # cached ...
    again = load_cifar10_jpeg(path, cache_dir=tmp_path / "cache")  # ... and read back
    np.testing.assert_array_equal(again.x_train, raw.x_train)
    in_file_order = load_cifar10_jpeg(path, cache=False, interleave=False)
    np.testing.assert_array_equal(in_file_order.y_test, labels["test"])


def test_cifar10_jpeg_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(ConfigError, match="HDF5"):
        load_cifar10_jpeg(bad, cache=False)
    with pytest.raises(DataNotFoundError, match=r"nope\.h5"):
        load_cifar10_jpeg(tmp_path / "nope.h5")


def test_cifar10_jpeg_file_comes_from_the_argument_or_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    beside = tmp_path / "shared" / "data" / "cifar10-jpeg.h5"  # a file next to the checkout ...
    beside.parent.mkdir(parents=True)
    write_jpeg_h5(beside)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    monkeypatch.chdir(checkout)
    monkeypatch.delenv("NASBENCH_CIFAR10_JPEG", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(DataNotFoundError, match=r"--data-root.*\$NASBENCH_CIFAR10_JPEG"):
        load_dataset("cifar10-jpeg")  # ... is never looked for
    monkeypatch.setenv("NASBENCH_CIFAR10_JPEG", str(beside))
    assert load_dataset("cifar10-jpeg").n_train == 6
    assert load_cifar10_jpeg(beside, cache=False).n_train == 6


def test_class_interleaved_order_keeps_file_order_within_class() -> None:
    labels = np.array([0, 0, 0, 1, 1, 2])
    order = class_interleaved_order(labels)
    np.testing.assert_array_equal(order, [0, 3, 5, 1, 4, 2])


@pytest.mark.parametrize("name", ["fashion-mnist", "cifar10", "cifar100", "svhn"])
def test_missing_directory_names_path(tmp_path: Path, name: str) -> None:
    missing = tmp_path / "no-such-dir"
    with pytest.raises(DataNotFoundError, match="no-such-dir"):
        load_dataset(name, missing)


def test_unknown_dataset_lists_names() -> None:
    with pytest.raises(UnknownNameError) as info:
        load_dataset("imagenet")
    message = str(info.value)
    assert "imagenet" in message
    for name in list_datasets():
        assert name in message
    assert set(list_datasets()) == {
        "digits", "fashion-mnist", "cifar10", "cifar100", "svhn", "cifar10-jpeg",
    }  # fmt: skip


def test_raw_dataset_validates() -> None:
    with pytest.raises(ConfigError, match="uint8"):
        RawDataset("bad", np.zeros((2, 4, 4, 1)), np.zeros(2), None, None, ("a",), "test")
    with pytest.raises(ConfigError, match="labels"):
        RawDataset("bad", np.zeros((2, 4, 4, 1), np.uint8), np.array([0, 3]), None, None,
                   ("a", "b"), "test")  # fmt: skip


def test_importing_data_does_not_import_torch() -> None:
    code = "import sys, nasbench_tools.data; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- splits


def test_split_sizes_disjoint_and_stratified() -> None:
    raw = load_digits()
    split = make_split(raw, n_valid=300, n_test=200, seed=0)
    assert split.sizes == (1297, 300, 200) and split.test_from_train
    parts = [split.train, split.valid, split.test]
    assert sum(len(p) for p in parts) == raw.n_train
    assert len(np.unique(np.concatenate(parts))) == raw.n_train  # disjoint, covering
    for p in parts:
        assert p.dtype == np.int64 and np.all(np.diff(p) > 0)  # sorted
    counts = np.bincount(raw.y_train)
    for p in (split.valid, split.test):
        got = np.bincount(raw.y_train[p], minlength=10)
        assert np.all(np.abs(got - counts * len(p) / raw.n_train) < 1 + 1e-9)


def test_split_deterministic_per_seed() -> None:
    raw = load_digits()
    a = make_split(raw, n_valid=100, n_test=100, seed=3)
    b = make_split(raw, n_valid=100, n_test=100, seed=3)
    c = make_split(raw, n_valid=100, n_test=100, seed=4)
    np.testing.assert_array_equal(a.valid, b.valid)
    assert a.sha256() == b.sha256() != c.sha256()
    assert not np.array_equal(a.valid, c.valid)


def test_split_with_official_test_and_train_subset() -> None:
    raw = _toy((30, 50, 20), with_test=True)
    split = make_split(raw, n_valid=10, n_train=40, seed=0)
    assert not split.test_from_train and split.sizes == (40, 10, 20)
    np.testing.assert_array_equal(split.test, np.arange(20))
    np.testing.assert_array_equal(np.bincount(raw.y_train[split.valid]), [3, 5, 2])
    np.testing.assert_array_equal(np.bincount(raw.y_train[split.train]), [12, 20, 8])
    assert not set(split.train) & set(split.valid)


def test_split_errors_name_the_numbers() -> None:
    raw = _toy((5, 5))
    with pytest.raises(ConfigError, match="n_test"):
        make_split(raw, n_valid=2, seed=0)
    with pytest.raises(ConfigError, match=r"n_valid=6 \+ n_test=4"):
        make_split(raw, n_valid=6, n_test=4, seed=0)
    with pytest.raises(ConfigError, match="n_train=9"):
        make_split(raw, n_valid=2, n_test=2, n_train=9, seed=0)
    with pytest.raises(ConfigError, match="n_test=21"):
        make_split(_toy((30, 50, 20), with_test=True), n_valid=2, n_test=21, seed=0)


def test_stratified_counts_largest_remainder() -> None:
    labels = np.repeat([0, 1, 2], [1, 1, 1])
    np.testing.assert_array_equal(stratified_counts(labels, 2), [1, 1, 0])
    labels = np.repeat([0, 1], [7, 3])
    np.testing.assert_array_equal(stratified_counts(labels, 5), [4, 1])  # 3.5 / 1.5: tie -> 0


def test_split_indices_are_read_only_and_serialisable() -> None:
    split = SplitIndices(np.array([2, 0]), np.array([1]), np.array([], np.int64), False)
    with pytest.raises(ValueError, match="read-only"):
        split.train[0] = 5
    assert split.to_dict()["valid"] == [1]


def test_halves() -> None:
    a, b = halves(np.arange(73257))
    assert (len(a), len(b)) == (36628, 36629)
    np.testing.assert_array_equal(np.concatenate([a, b]), np.arange(73257))
    a, b = halves(np.arange(10), portion=0.3)
    np.testing.assert_array_equal(a, [0, 1, 2])
    with pytest.raises(ConfigError, match="portion"):
        halves(np.arange(4), portion=1.0)


# --------------------------------------------------------------------------- device data


def test_to_device_normalises_with_train_stats() -> None:
    import torch

    from nasbench_tools.data.device import channel_stats, to_device

    raw = load_digits()
    split = make_split(raw, n_valid=300, n_test=300, seed=0)
    data = to_device(raw, split, device="cpu")
    assert data.x_train.shape == (1197, 1, 8, 8) and data.x_train.dtype == torch.float32
    assert data.y_valid.dtype == torch.int64 and data.x_test.shape[0] == 300
    assert (data.n_classes, data.in_channels, data.image_size) == (10, 1, 8)
    assert abs(float(data.x_train.mean())) < 1e-5
    assert abs(float(data.x_train.std(unbiased=False)) - 1) < 1e-4
    x = raw.x_train[split.train].astype(np.float64) / 255
    np.testing.assert_allclose(channel_stats(raw.x_train[split.train]), ([x.mean()], [x.std()]))
    # valid images are mapped with the train statistics, pixel by pixel
    v = (raw.x_train[split.valid[0], :, :, 0] / 255 - data.mean[0]) / data.std[0]
    np.testing.assert_allclose(data.x_valid[0, 0].numpy(), v, atol=1e-5)
    np.testing.assert_array_equal(data.y_test.numpy(), raw.y_train[split.test])


# --------------------------------------------------------------------------- augmentation


def _batch(n: int = 6, c: int = 2, h: int = 8, w: int = 8):
    import torch

    return torch.arange(n * c * h * w, dtype=torch.float32).reshape(n, c, h, w) + 1.0


def test_augment_identity_and_shape() -> None:
    import torch

    from nasbench_tools.data.device import augment

    x = _batch()
    g = torch.Generator().manual_seed(0)
    assert augment(x, g) is x
    out = augment(x, g, crop_pad=2, flip=True, cutout=3)
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(x.numpy(), _batch().numpy())  # input untouched


def test_augment_deterministic_given_generator_and_leaves_global_rng() -> None:
    import torch

    from nasbench_tools.data.device import augment

    x = _batch(32)
    state = torch.get_rng_state()
    a = augment(x, torch.Generator().manual_seed(7), crop_pad=2, flip=True, cutout=4)
    b = augment(x, torch.Generator().manual_seed(7), crop_pad=2, flip=True, cutout=4)
    c = augment(x, torch.Generator().manual_seed(8), crop_pad=2, flip=True, cutout=4)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_crop_is_a_shifted_copy_with_zero_border() -> None:
    import torch

    from nasbench_tools.data.device import augment

    # A crafted image whose every pixel is unique and non-zero: 1 + 8 * row + col.
    img = (torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8) + 1).repeat(64, 1, 1, 1)
    pad = 2
    out = augment(img, torch.Generator().manual_seed(0), crop_pad=pad)
    seen = set()
    for k in range(out.shape[0]):
        o = out[k, 0]
        nz = torch.nonzero(o)
        r0, c0 = (int(v) for v in nz.min(0).values)
        # The window starts at (dy, dx) in the padded image: content shifts by pad - dy, pad - dx.
        value = int(o[r0, c0].item()) - 1
        sy, sx = r0 - value // 8, c0 - value % 8
        assert -pad <= sy <= pad and -pad <= sx <= pad
        expected = torch.zeros(8, 8)
        for i in range(8):
            for j in range(8):
                si, sj = i - sy, j - sx
                if 0 <= si < 8 and 0 <= sj < 8:
                    expected[i, j] = 8 * si + sj + 1
        assert torch.equal(o, expected)
        seen.add((sy, sx))
    assert len(seen) > 10  # offsets vary per sample


def test_crop_fill_per_channel() -> None:
    import torch

    from nasbench_tools.data.device import augment

    x = torch.ones(16, 2, 4, 4)
    out = augment(x, torch.Generator().manual_seed(1), crop_pad=4, fill=(-1.0, -2.0))
    values = {float(v) for v in out[:, 0].unique()} | {float(v) for v in out[:, 1].unique()}
    assert values <= {1.0, -1.0, -2.0} and -2.0 in {float(v) for v in out[:, 1].unique()}


def test_flip_flips_about_half() -> None:
    import torch

    from nasbench_tools.data.device import augment

    x = _batch(200, 1, 4, 4)
    out = augment(x, torch.Generator().manual_seed(0), flip=True)
    flipped = torch.tensor([torch.equal(o, xi.flip(2)) for o, xi in zip(out, x, strict=True)])
    same = torch.tensor([torch.equal(o, xi) for o, xi in zip(out, x, strict=True)])
    assert bool((flipped ^ same).all())  # each sample is either mirrored or unchanged
    assert 60 < int(flipped.sum()) < 140


def test_cutout_zeros_a_square() -> None:
    import torch

    from nasbench_tools.data.device import augment

    size, h = 4, 16
    x = torch.ones(300, 3, h, h)
    out = augment(x, torch.Generator().manual_seed(0), cutout=size)
    interior = 0
    for o in out:
        zero = o == 0
        assert bool((zero == zero[0]).all())  # the same hole in every channel
        rows, cols = torch.nonzero(zero[0], as_tuple=True)
        if rows.numel() == 0:
            continue
        r0, r1, c0, c1 = int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())
        assert rows.numel() == (r1 - r0 + 1) * (c1 - c0 + 1)  # a filled rectangle
        if 0 < r0 and r1 < h - 1 and 0 < c0 and c1 < h - 1:  # not clipped by a border
            assert rows.numel() == size * size
            interior += 1
    assert interior > 100


def test_augment_rejects_bad_arguments() -> None:
    import torch

    from nasbench_tools.data.device import augment

    with pytest.raises(ConfigError, match="crop_pad"):
        augment(_batch(), torch.Generator(), crop_pad=-1)
    with pytest.raises(ConfigError, match="batch"):
        augment(torch.zeros(3, 8, 8), torch.Generator(), flip=True)


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(),
                    reason="Debian package dataset-fashion-mnist is not installed")
def test_debian_fashion_mnist_package() -> None:
    raw = load_dataset("fashion-mnist")
    assert (raw.n_train, raw.n_test, raw.image_shape, raw.n_classes) == (60000, 10000,
                                                                         (1, 28, 28), 10)
    assert np.bincount(raw.y_test).tolist() == [1000] * 10


def test_a_cifar10_jpeg_table_says_it_is_the_jpeg_copy(tmp_path: Path) -> None:
    from conftest import tiny4_space

    from nasbench_tools.build import build_table
    from nasbench_tools.table.hdf5 import read_table
    from nasbench_tools.train import get_protocol

    path = tmp_path / "tiny.h5"
    write_jpeg_h5(path, per_class=4)
    protocol = get_protocol("cifar10-jpeg", "standard", {
        "n_train": 6, "n_valid": 3, "n_test": 3, "epochs": 1, "layers": 2, "channels": 2,
        "batch_size": 4, "cutout": 4})
    out = tmp_path / "t.h5"
    build_table(tiny4_space(), protocol, (0,), out, device="cpu", progress=False,
                data_root=str(path), fuse=2)
    table = read_table(out)
    assert table.dataset == "cifar10-jpeg"
    note = table.attrs["data_note"]
    assert note.startswith("JPEG re-encoding of CIFAR-10, not the official release")
    assert table.attrs["data_source"] == f"{path} (from written by a test)"
