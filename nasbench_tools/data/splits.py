"""Fixed, seeded, stratified train / valid / test splits and search halves (docs/methods.md).

The validation split is a stratified hold-out of the official training split; the test split
is the official test split, or, for a dataset without one (``digits``), a second stratified
hold-out of the training split (``test_from_train``). Each class gets a share of a split in
proportion to its count (largest-remainder rounding, so every class is within one image of its
exact share); which images of the class go where is drawn with ``np.random.default_rng(seed)``.

>>> from nasbench_tools.data import load_dataset, make_split, halves
>>> split = make_split(load_dataset("digits"), n_valid=300, n_test=300, seed=0)
>>> len(split.train), len(split.valid), len(split.test), split.test_from_train
(1197, 300, 300, True)
>>> a, b = halves(split.train)           # the search trains w on a and alpha on b
>>> len(a), len(b)
(598, 599)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from nasbench_tools.data.raw import RawDataset
from nasbench_tools.exceptions import ConfigError


def _index_array(values: np.ndarray, name: str) -> np.ndarray:
    arr = np.array(values, dtype=np.int64, copy=True).reshape(-1)
    if np.asarray(values).ndim != 1:
        raise ConfigError(f"split {name} indices must be 1-D, got shape {np.shape(values)}")
    arr.flags.writeable = False  # the split is a value: nobody edits it in place
    return arr


@dataclass(frozen=True, eq=False)
class SplitIndices:
    """Index arrays (int64, sorted) of one split.

    ``train`` and ``valid`` index ``raw.x_train``; ``test`` indexes ``raw.x_test``, or
    ``raw.x_train`` when ``test_from_train`` (datasets without an official test split).
    """

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    test_from_train: bool

    def __post_init__(self) -> None:
        for name in ("train", "valid", "test"):
            object.__setattr__(self, name, _index_array(getattr(self, name), name))

    def __repr__(self) -> str:
        n_train, n_valid, n_test = self.sizes
        return (
            f"SplitIndices(train={n_train}, valid={n_valid}, test={n_test}, "
            f"test_from_train={self.test_from_train}, sha256={self.sha256()[:12]}...)"
        )

    @property
    def sizes(self) -> tuple[int, int, int]:
        """``(n_train, n_valid, n_test)``."""
        return len(self.train), len(self.valid), len(self.test)

    def sha256(self) -> str:
        """Hex digest of the three index arrays and the test source, for provenance records."""
        h = hashlib.sha256()
        h.update(b"test_from_train=1" if self.test_from_train else b"test_from_train=0")
        for name in ("train", "valid", "test"):
            arr = getattr(self, name)
            h.update(name.encode() + np.int64(arr.shape[0]).tobytes())
            h.update(arr.astype("<i8").tobytes())
        return h.hexdigest()

    def to_dict(self) -> dict[str, list[int] | bool]:
        """Plain lists, e.g. to store the indices as JSON next to a table."""
        return {
            "train": self.train.tolist(),
            "valid": self.valid.tolist(),
            "test": self.test.tolist(),
            "test_from_train": self.test_from_train,
        }


def stratified_counts(labels: np.ndarray, k: int) -> np.ndarray:
    """How many of ``k`` draws each class gets, in proportion to its count in ``labels``.

    Largest-remainder rounding: every class is within one of its exact share ``k * n_c / N``
    and never above its count; ties in the remainder go to the lower class index.
    """
    counts = np.bincount(labels)
    n = int(counts.sum())
    if not 0 <= k <= n:
        raise ConfigError(f"cannot draw {k} of {n} images")
    if n == 0:
        return counts
    exact = counts * k / n
    quota = np.floor(exact).astype(np.int64)
    short = k - int(quota.sum())
    order = np.lexsort((np.arange(counts.size), -(exact - quota)))  # by remainder, then class
    quota[order[:short]] += 1
    return quota


def _take(
    pool: np.ndarray, labels: np.ndarray, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``pool`` (indices into ``labels``) into a stratified draw of ``k`` and the rest."""
    pool_labels = labels[pool]
    quota = stratified_counts(pool_labels, k)
    taken = []
    for c, q in enumerate(quota):
        members = pool[pool_labels == c]
        taken.append(rng.permutation(members)[:q])
    chosen = np.sort(np.concatenate([np.empty(0, np.int64), *taken]))
    rest = np.setdiff1d(pool, chosen, assume_unique=True)
    return chosen, rest


def _check_sizes(raw: RawDataset, n_valid: int, n_test: int | None, n_train: int | None) -> None:
    for name, value in (("n_valid", n_valid), ("n_test", n_test), ("n_train", n_train)):
        if value is not None and (isinstance(value, bool) or int(value) != value or value < 0):
            raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")
    if not raw.has_test and n_test is None:
        raise ConfigError(
            f"dataset {raw.name!r} has no official test split: give n_test, the number of "
            f"training images ({raw.n_train}) to hold out for testing"
        )
    held = n_valid + (0 if raw.has_test else (n_test or 0))
    if held >= raw.n_train:
        raise ConfigError(
            f"dataset {raw.name!r}: n_valid={n_valid}"
            + ("" if raw.has_test else f" + n_test={n_test}")
            + f" leaves no training images out of {raw.n_train}"
        )
    if n_train == 0:
        raise ConfigError(f"dataset {raw.name!r}: n_train must be at least 1 (or None for all)")
    if n_train is not None and n_train > raw.n_train - held:
        raise ConfigError(
            f"dataset {raw.name!r}: n_train={n_train} exceeds the {raw.n_train - held} "
            f"training images left after holding out {held}"
        )
    if raw.has_test and n_test is not None and n_test > raw.n_test:
        raise ConfigError(
            f"dataset {raw.name!r}: n_test={n_test} exceeds the {raw.n_test} test images"
        )


def make_split(
    raw: RawDataset,
    *,
    n_valid: int,
    n_test: int | None = None,
    n_train: int | None = None,
    seed: int,
) -> SplitIndices:
    """A fixed, seeded, stratified split of ``raw`` (see the module docstring).

    ``n_valid`` images of the training split are held out for validation. ``n_test`` is
    required when the dataset has no test split (they are held out of the training split
    first); with an official test split, ``None`` takes all of it and a number takes a
    stratified subset. ``n_train=None`` trains on all the rest, a number on a stratified
    subset of the rest. Draw order (test, valid, train) is fixed, so a seed pins the split.
    """
    _check_sizes(raw, n_valid, n_test, n_train)
    rng = np.random.default_rng(seed)
    pool = np.arange(raw.n_train, dtype=np.int64)
    if raw.has_test:
        assert raw.y_test is not None
        test = np.arange(raw.n_test, dtype=np.int64)
        if n_test is not None:
            test, _ = _take(test, raw.y_test, n_test, rng)
    else:
        assert n_test is not None
        test, pool = _take(pool, raw.y_train, n_test, rng)
    valid, pool = _take(pool, raw.y_train, n_valid, rng)
    train = pool if n_train is None else _take(pool, raw.y_train, n_train, rng)[0]
    return SplitIndices(train=train, valid=valid, test=test, test_from_train=not raw.has_test)


def halves(indices: np.ndarray, portion: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """First and second part of a train index array (DARTS ``train_portion``).

    The first ``floor(portion * N)`` indices train the weights, the rest the architecture:
    73,257 SVHN images give 36,628 / 36,629.
    """
    if not 0.0 < portion < 1.0:
        raise ConfigError(f"portion must lie strictly between 0 and 1, got {portion!r}")
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    cut = int(np.floor(portion * idx.shape[0]))
    return idx[:cut].copy(), idx[cut:].copy()
