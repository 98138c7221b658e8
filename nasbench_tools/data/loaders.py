"""Dataset loaders (numpy only, no torch) and the registry of dataset names.

Nothing is ever downloaded: each loader reads files that are already on disk, found through
an argument, an environment variable or a fixed default place, and says where it looked when
they are missing (``DataNotFoundError``) or malformed (``ConfigError``).

- ``digits``: bundled with scikit-learn, always available.
- ``fashion-mnist``: the four IDX files (optionally ``.gz``); ``$NASBENCH_FASHION_MNIST``,
  else ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``).
- ``cifar10`` / ``cifar100``: ``cifar-10-batches-py/`` / ``cifar-100-python/`` (the official
  python-pickle batches); ``$NASBENCH_CIFAR10`` / ``$NASBENCH_CIFAR100``.
- ``svhn``: ``train_32x32.mat`` and ``test_32x32.mat``; ``$NASBENCH_SVHN``.
- ``cifar10-jpeg``: the offline HDF5 JPEG copy (see ``data/jpeg.py``), a file given as the
  root or by ``$NASBENCH_CIFAR10_JPEG``; it has no default place.

docs/datasets.md says how to obtain each dataset.

>>> from nasbench_tools.data import load_dataset, list_datasets
>>> raw = load_dataset("digits")
>>> raw.x_train.shape, raw.n_classes
((1797, 8, 8, 1), 10)
>>> "cifar10" in list_datasets()
True
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_tools.data.idx import read_idx
from nasbench_tools.data.jpeg import load_cifar10_jpeg
from nasbench_tools.data.raw import RawDataset
from nasbench_tools.exceptions import ConfigError, DataNotFoundError, UnknownNameError

FASHION_MNIST_DEFAULT = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
DIGIT_CLASSES = tuple(str(d) for d in range(10))


def _root_from(root: str | Path | None, env: str, default: Path | None = None) -> Path:
    """The directory to read: the argument, else ``$env``, else ``default``."""
    if root is not None:
        return Path(root)
    if os.environ.get(env):
        return Path(os.environ[env])
    if default is not None:
        return default
    raise DataNotFoundError(f"no data directory given: pass root=... or set ${env}")


def _require_dir(path: Path, what: str) -> None:
    if not path.is_dir():
        raise DataNotFoundError(f"{what} directory {str(path)!r} does not exist")


# --------------------------------------------------------------------------- digits


def load_digits() -> RawDataset:
    """scikit-learn's bundled 8x8 digits: 1797 images, values 0..16 scaled to uint8 0..255.

    There is no official test split (``x_test is None``); ``make_split`` draws one.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    x = np.rint(np.asarray(bunch.images, dtype=np.float64) * (255.0 / 16.0)).astype(np.uint8)
    return RawDataset(
        name="digits",
        x_train=x[..., None],
        y_train=np.asarray(bunch.target, dtype=np.int64),
        x_test=None,
        y_test=None,
        classes=DIGIT_CLASSES,
        source="sklearn.datasets.load_digits (bundled with scikit-learn)",
        note="no official test split; the test split is a stratified hold-out of the 1797 images",
    )


# --------------------------------------------------------------------------- Fashion-MNIST


def _find_idx(root: Path, stem: str) -> Path:
    """``root/stem[.gz]`` or, failing that, the same in an immediate subdirectory of root."""
    dirs = [root, *sorted(p for p in root.iterdir() if p.is_dir())]
    for d in dirs:
        for name in (stem, stem + ".gz"):
            if (d / name).is_file():
                return d / name
    raise DataNotFoundError(
        f"Fashion-MNIST file {stem!r} (or {stem}.gz) not found in {str(root)!r} "
        "or its immediate subdirectories"
    )


def _read_idx_pair(root: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    images_path = _find_idx(root, f"{prefix}-images-idx3-ubyte")
    labels_path = _find_idx(root, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(images_path, ndim=3), read_idx(labels_path, ndim=1)
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise ConfigError(
            f"Fashion-MNIST files {str(images_path)!r} / {str(labels_path)!r}: "
            f"expected uint8 values, got {images.dtype} / {labels.dtype}"
        )
    if images.shape[0] != labels.shape[0]:
        raise ConfigError(
            f"Fashion-MNIST: {str(images_path)!r} holds {images.shape[0]} images but "
            f"{str(labels_path)!r} holds {labels.shape[0]} labels"
        )
    return images[..., None], labels.astype(np.int64)


def load_fashion_mnist(root: str | Path | None = None) -> RawDataset:
    """Fashion-MNIST from the four standard IDX files (28x28 grayscale, 60k train, 10k test).

    ``root`` defaults to ``$NASBENCH_FASHION_MNIST``, else ``/usr/share/datasets/fashion-mnist``
    (Debian's ``dataset-fashion-mnist``). The files may sit in root or in a subdirectory of it.
    """
    path = _root_from(root, "NASBENCH_FASHION_MNIST", FASHION_MNIST_DEFAULT)
    _require_dir(path, "Fashion-MNIST")
    x_train, y_train = _read_idx_pair(path, "train")
    x_test, y_test = _read_idx_pair(path, "t10k")
    return RawDataset(
        "fashion-mnist", x_train, y_train, x_test, y_test, FASHION_MNIST_CLASSES, str(path)
    )


# --------------------------------------------------------------------------- CIFAR-10/100

# n_classes -> (directory name, train files, test file, meta file, label key, class-name key)
_CIFAR_LAYOUT: dict[int, tuple[str, tuple[str, ...], str, str, bytes, bytes]] = {
    10: (
        "cifar-10-batches-py",
        tuple(f"data_batch_{i}" for i in range(1, 6)),
        "test_batch",
        "batches.meta",
        b"labels",
        b"label_names",
    ),
    100: ("cifar-100-python", ("train",), "test", "meta", b"fine_labels", b"fine_label_names"),
}


#: What the official CIFAR python batches contain besides plain containers: numpy arrays
#: (and, in Python 2 pickles, byte strings through ``_codecs.encode``). Nothing else loads.
_CIFAR_GLOBALS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
})


class _CifarUnpickler(pickle.Unpickler):
    """An unpickler that builds only dicts, lists, strings, numbers and numpy arrays, so a
    file that is not a CIFAR batch cannot run code when it is read."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _CIFAR_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a CIFAR batch never "
                                     "holds (only numpy arrays and plain containers load)")


def _unpickle(path: Path) -> dict[bytes, Any]:
    if not path.is_file():
        raise DataNotFoundError(f"CIFAR batch file {str(path)!r} does not exist")
    try:
        with path.open("rb") as f:  # the official python batches are pickles
            obj = _CifarUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        msg = f"CIFAR batch file {str(path)!r} is not a readable pickle: {exc}"
        raise ConfigError(msg) from None
    if not isinstance(obj, dict):
        msg = f"CIFAR batch file {str(path)!r}: expected a dict, got {type(obj).__name__}"
        raise ConfigError(msg)
    return obj


def _cifar_batch(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    """One batch: data ``[N, 3072]`` (row-major CHW) -> images ``[N, 32, 32, 3]``."""
    batch = _unpickle(path)
    missing = [k.decode() for k in (b"data", label_key) if k not in batch]
    if missing:
        raise ConfigError(f"CIFAR batch file {str(path)!r} lacks the key(s) {missing}")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[label_key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ConfigError(
            f"CIFAR batch file {str(path)!r}: data must be uint8 [N, 3072], "
            f"got {data.dtype} {data.shape}"
        )
    if labels.shape != (data.shape[0],):
        raise ConfigError(
            f"CIFAR batch file {str(path)!r}: {data.shape[0]} images but labels of shape "
            f"{labels.shape}"
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _cifar_dir(root: Path, dirname: str, probe: str) -> Path:
    """Accept the batch directory itself or its parent."""
    _require_dir(root, "CIFAR")
    for candidate in (root, root / dirname):
        if (candidate / probe).is_file():
            return candidate
    raise DataNotFoundError(
        f"no CIFAR batch file {probe!r} in {str(root)!r} or {str(root / dirname)!r}"
    )


def load_cifar(root: str | Path | None = None, n_classes: int = 10) -> RawDataset:
    """CIFAR-10 or CIFAR-100 from the official python-pickle batch directory.

    ``root`` is ``cifar-10-batches-py`` / ``cifar-100-python`` itself or the folder holding it;
    it defaults to ``$NASBENCH_CIFAR10`` / ``$NASBENCH_CIFAR100``.
    """
    if n_classes not in _CIFAR_LAYOUT:
        raise ConfigError(f"CIFAR n_classes must be 10 or 100, got {n_classes!r}")
    dirname, train_files, test_file, meta_file, label_key, names_key = _CIFAR_LAYOUT[n_classes]
    base = _root_from(root, f"NASBENCH_CIFAR{n_classes}")
    path = _cifar_dir(base, dirname, test_file)
    parts = [_cifar_batch(path / name, label_key) for name in train_files]
    x_test, y_test = _cifar_batch(path / test_file, label_key)
    meta = _unpickle(path / meta_file)
    if names_key not in meta:
        raise ConfigError(f"CIFAR meta file {str(path / meta_file)!r} lacks {names_key.decode()!r}")
    classes = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in meta[names_key])
    if len(classes) != n_classes:
        raise ConfigError(
            f"CIFAR meta file {str(path / meta_file)!r} names {len(classes)} classes, "
            f"expected {n_classes}"
        )
    return RawDataset(
        name=f"cifar{n_classes}",
        x_train=np.concatenate([x for x, _ in parts]),
        y_train=np.concatenate([y for _, y in parts]),
        x_test=x_test,
        y_test=y_test,
        classes=classes,
        source=str(path),
    )


# --------------------------------------------------------------------------- SVHN


def _svhn_split(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``X [32, 32, 3, N]`` -> ``[N, 32, 32, 3]``; label 10 (digit 0) -> 0."""
    import scipy.io

    if not path.is_file():
        raise DataNotFoundError(f"SVHN file {str(path)!r} does not exist")
    try:
        mat = scipy.io.loadmat(str(path))
    except (ValueError, OSError, TypeError, NotImplementedError) as exc:
        raise ConfigError(f"SVHN file {str(path)!r} is not a readable .mat file: {exc}") from None
    if "X" not in mat or "y" not in mat:
        raise ConfigError(f"SVHN file {str(path)!r} lacks the variables 'X' and 'y'")
    x, y = np.asarray(mat["X"]), np.asarray(mat["y"]).reshape(-1).astype(np.int64)
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[2] != 3 or x.shape[3] != y.shape[0]:
        raise ConfigError(
            f"SVHN file {str(path)!r}: expected uint8 X [32, 32, 3, N] and y [N, 1], "
            f"got X {x.dtype} {x.shape} and {y.shape[0]} labels"
        )
    if y.size and (y.min() < 1 or y.max() > 10):
        msg = f"SVHN file {str(path)!r}: labels must be 1..10, got {y.min()}..{y.max()}"
        raise ConfigError(msg)
    return np.ascontiguousarray(x.transpose(3, 0, 1, 2)), np.where(y == 10, 0, y)


def load_svhn(root: str | Path | None = None) -> RawDataset:
    """SVHN from ``train_32x32.mat`` and ``test_32x32.mat`` (the ``extra`` split is not used).

    ``root`` defaults to ``$NASBENCH_SVHN``.
    """
    path = _root_from(root, "NASBENCH_SVHN")
    _require_dir(path, "SVHN")
    x_train, y_train = _svhn_split(path / "train_32x32.mat")
    x_test, y_test = _svhn_split(path / "test_32x32.mat")
    return RawDataset("svhn", x_train, y_train, x_test, y_test, DIGIT_CLASSES, str(path))


# --------------------------------------------------------------------------- registry


def _digits(root: str | Path | None = None) -> RawDataset:
    if root is not None:
        raise ConfigError(
            f"dataset 'digits' is bundled with scikit-learn and takes no root, got {str(root)!r}"
        )
    return load_digits()


def _cifar10(root: str | Path | None = None) -> RawDataset:
    return load_cifar(root, n_classes=10)


def _cifar100(root: str | Path | None = None) -> RawDataset:
    return load_cifar(root, n_classes=100)


def _cifar10_jpeg(root: str | Path | None = None) -> RawDataset:
    return load_cifar10_jpeg(root)


DATASETS: dict[str, Callable[[str | Path | None], RawDataset]] = {
    "digits": _digits,
    "fashion-mnist": load_fashion_mnist,
    "cifar10": _cifar10,
    "cifar100": _cifar100,
    "svhn": load_svhn,
    "cifar10-jpeg": _cifar10_jpeg,
}


def list_datasets() -> list[str]:
    """Names accepted by ``load_dataset``, sorted."""
    return sorted(DATASETS)


def load_dataset(name: str, root: str | Path | None = None) -> RawDataset:
    """Load a dataset by name; ``root`` is its directory (or file, for ``cifar10-jpeg``)."""
    try:
        loader = DATASETS[name]
    except KeyError:
        raise UnknownNameError("dataset", name, DATASETS) from None
    return loader(root)
