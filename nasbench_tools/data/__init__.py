"""Datasets: loaders (numpy), stratified splits (numpy), and tensors on the device (torch).

Importing this package does not import torch: ``DeviceData``, ``to_device`` and ``augment``
live in ``nasbench_tools.data.device`` and are loaded on first access.

>>> from nasbench_tools.data import load_dataset, make_split
>>> from nasbench_tools.data.device import augment, to_device
>>> raw = load_dataset("digits")
>>> split = make_split(raw, n_valid=300, n_test=300, seed=0)
>>> data = to_device(raw, split, device="cpu")
>>> data.x_train.shape
torch.Size([1197, 1, 8, 8])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nasbench_tools.data.idx import parse_idx, read_idx
from nasbench_tools.data.jpeg import JPEG_NOTE, MissingDependencyError, load_cifar10_jpeg
from nasbench_tools.data.loaders import (
    DATASETS,
    list_datasets,
    load_cifar,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_svhn,
)
from nasbench_tools.data.raw import RawDataset
from nasbench_tools.data.source import SplitSpec, data_provenance, device_data, load_split
from nasbench_tools.data.splits import SplitIndices, halves, make_split, stratified_counts

if TYPE_CHECKING:
    from nasbench_tools.data.device import DeviceData, augment, to_device

_LAZY = {"DeviceData", "augment", "to_device"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:  # torch is imported only when these are asked for
        return getattr(importlib.import_module("nasbench_tools.data.device"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DATASETS",
    "JPEG_NOTE",
    "DeviceData",
    "MissingDependencyError",
    "RawDataset",
    "SplitIndices",
    "SplitSpec",
    "augment",
    "data_provenance",
    "device_data",
    "halves",
    "list_datasets",
    "load_cifar",
    "load_cifar10_jpeg",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_split",
    "load_svhn",
    "make_split",
    "parse_idx",
    "read_idx",
    "stratified_counts",
    "to_device",
]
