"""Shared test fixtures: a 4-architecture space and a synthetic t81 table whose best is known.

The builders are plain functions too, so a test can make a variant (other seeds, epochs).
"""

from __future__ import annotations

import io
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest

from nasbench_tools.spaces import CellSpace, dense_edges, get_space
from nasbench_tools.table.benchmark import synthetic_data
from nasbench_tools.table.data import TableData

#: The arch id with the lowest mean test error in `synthetic_t81_data`.
SYNTHETIC_BEST = 42


def tiny4_space() -> CellSpace:
    """One cell shared by normal and reduce, 2 edges x 2 ops = 4 architectures."""
    return CellSpace(
        name="tiny4",
        edges=dense_edges(["sep_conv_3x3", "skip_connect"], shared=True),
        shared=True,
        description="test space: 4 archs",
    )


def synthetic_t81_data(seeds: tuple[int, ...] = (0, 1, 2), epochs: int = 4) -> TableData:
    """Every run of the t81 space done, with errors in percent set by formula.

    At the last epoch the mean test error of arch ``a`` is ``10 + 0.5 |a - 42| + 0.01 a``
    (unique minimum at `SYNTHETIC_BEST`); seeds add offsets that average to zero, earlier epochs
    are worse, and the valid error is the test error plus one. Its protocol record is the
    partial ``{"synthetic": True}`` (nothing was trained): ``Benchmark.protocol`` raises on it;
    tests that need a protocol store a complete one (``protocol_record=...``).
    """
    space = get_space("t81")
    arch = np.arange(space.size, dtype=np.float64)
    base = 10.0 + 0.5 * np.abs(arch - SYNTHETIC_BEST) + 0.01 * arch
    offsets = np.linspace(-0.25, 0.25, len(seeds)) if len(seeds) > 1 else np.zeros(1)
    late = 3.0 * (epochs - 1 - np.arange(epochs)) / epochs
    test = base[:, None, None] + offsets[None, :, None] + late[None, None, :]
    data = synthetic_data(space, test, test + 1.0, seeds=seeds, epochs=epochs)
    data.n_params[...] = 1000 + np.arange(space.size)
    return data


@pytest.fixture
def tiny4() -> CellSpace:
    return tiny4_space()


@pytest.fixture
def t81_data() -> TableData:
    return synthetic_t81_data()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``gpu`` when CUDA is not available."""
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs CUDA")
        for item in gpu_items:
            item.add_marker(skip)


def write_jpeg_h5(path: Path, per_class: int = 2, n_classes: int = 3) -> dict[str, np.ndarray]:
    """A small file in the layout of the offline CIFAR-10 JPEG copy (images of one grey
    level per class and index); the labels written per split."""
    pil = pytest.importorskip("PIL.Image")
    h5py = pytest.importorskip("h5py")
    labels_out = {}
    with h5py.File(path, "w") as f:
        f.attrs["classes"] = json.dumps([f"class{c}" for c in range(n_classes)])
        f.attrs["source"] = "written by a test"
        f.attrs["format_version"] = 2
        for split in ("train", "test"):
            blobs, labels = [], []
            for c in range(n_classes):  # sorted by class, as in the real file
                for k in range(per_class):
                    img = np.full((32, 32, 3), (40 * c + 10 * k) % 256, dtype=np.uint8)
                    buf = io.BytesIO()
                    pil.fromarray(img).save(buf, format="JPEG", quality=95)
                    blobs.append(np.frombuffer(buf.getvalue(), np.uint8))
                    labels.append(c)
            g = f.create_group(split)
            g["jpeg_bytes"] = np.concatenate(blobs)
            sizes = [b.size for b in blobs]
            g["offsets"] = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
            g["label"] = np.array(labels, dtype=np.uint8)
            labels_out[split] = np.array(labels)
    return labels_out



ANALYSIS = Path(__file__).resolve().parents[1] / "analysis"


@pytest.fixture(scope="module")
def study():  # type: ignore[no-untyped-def]
    """``analysis/study.py`` as a module."""
    sys.path.insert(0, str(ANALYSIS))
    try:
        import study as module
    finally:
        sys.path.remove(str(ANALYSIS))
    return module


def study_report_args(study_md: str, out: str | Path) -> list[str]:
    """The arguments of the ``nasbench-tools report`` call a STUDY.md gives, writing to
    ``out`` instead of the folder it names."""
    args = shlex.split(study_md.split("```bash\n")[1].split("\n```")[0])
    assert args[:2] == ["nasbench-tools", "report"]
    args = args[1:]
    args[args.index("--out") + 1] = str(out)
    return args


# search traces made by formula (torch-free); re-exported for the tests that import it from here
from nasbench_tools.search.synthetic import synthetic_trace  # noqa: E402

__all__ = ["SYNTHETIC_BEST", "study_report_args", "synthetic_t81_data", "synthetic_trace",
           "tiny4_space", "write_jpeg_h5"]
