"""A dataset as it comes off disk: uint8 images and int64 labels in numpy arrays (no torch).

Images are ``[N, H, W, C]`` (NHWC, grayscale has ``C = 1``), labels ``[N]``. A dataset without
an official test split (``digits``) has ``x_test = y_test = None``; ``make_split`` then carves
the test split out of the training split.

>>> import numpy as np
>>> raw = RawDataset("toy", np.zeros((4, 8, 8, 1), np.uint8), np.arange(4) % 2, None, None,
...                  classes=("a", "b"), source="made up")
>>> raw.image_shape, raw.n_classes, raw.n_train
((1, 8, 8), 2, 4)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nasbench_tools.exceptions import ConfigError


def _check_pair(name: str, part: str, x: np.ndarray, y: np.ndarray, n_classes: int) -> None:
    if x.ndim != 4 or x.dtype != np.uint8:
        raise ConfigError(
            f"dataset {name!r}: x_{part} must be uint8 [N, H, W, C], "
            f"got {x.dtype} with shape {x.shape}"
        )
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ConfigError(
            f"dataset {name!r}: y_{part} must be [N] with N = {x.shape[0]}, got shape {y.shape}"
        )
    if y.size and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise ConfigError(
            f"dataset {name!r}: y_{part} holds labels in [{int(y.min())}, {int(y.max())}], "
            f"expected [0, {n_classes - 1}]"
        )


@dataclass(frozen=True, eq=False)
class RawDataset:
    """One dataset in memory: images uint8 ``[N, H, W, C]``, labels int64 ``[N]``.

    ``source`` says where the arrays were read from (a path, a package); ``note`` carries any
    caveat that must travel with numbers computed on this data (e.g. a lossy re-encoding).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    classes: tuple[str, ...]
    source: str
    note: str = ""

    def __post_init__(self) -> None:
        # Labels are stored as int64 whatever the file used, so indexing code sees one dtype.
        object.__setattr__(self, "y_train", np.asarray(self.y_train, dtype=np.int64))
        object.__setattr__(self, "classes", tuple(self.classes))
        _check_pair(self.name, "train", self.x_train, self.y_train, len(self.classes))
        if (self.x_test is None) != (self.y_test is None):
            raise ConfigError(f"dataset {self.name!r}: give both x_test and y_test, or neither")
        if self.x_test is not None and self.y_test is not None:
            object.__setattr__(self, "y_test", np.asarray(self.y_test, dtype=np.int64))
            assert self.y_test is not None
            _check_pair(self.name, "test", self.x_test, self.y_test, len(self.classes))
            if self.x_test.shape[1:] != self.x_train.shape[1:]:
                raise ConfigError(
                    f"dataset {self.name!r}: test images are {self.x_test.shape[1:]} (H, W, C) "
                    f"but train images are {self.x_train.shape[1:]}"
                )

    def __repr__(self) -> str:
        test = "none" if self.x_test is None else str(self.n_test)
        return (
            f"RawDataset(name={self.name!r}, train={self.n_train}, test={test}, "
            f"image_shape={self.image_shape}, n_classes={self.n_classes}, source={self.source!r})"
        )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image, the order the networks use."""
        _, h, w, c = self.x_train.shape
        return int(c), int(h), int(w)

    @property
    def n_classes(self) -> int:
        """Number of classes (``len(classes)``)."""
        return len(self.classes)

    @property
    def n_train(self) -> int:
        """Number of images in the official training split."""
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of images in the official test split (0 when there is none)."""
        return 0 if self.x_test is None else int(self.x_test.shape[0])

    @property
    def has_test(self) -> bool:
        """Whether the dataset ships an official test split."""
        return self.x_test is not None
