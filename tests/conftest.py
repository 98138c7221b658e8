"""Shared test fixtures: a 4-architecture space and a synthetic t81 table whose best is known.

The builders are plain functions too, so a test can make a variant (other seeds, epochs).
"""

from __future__ import annotations

import io
import json
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
    are worse, and the valid error is the test error plus one.
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


def synthetic_trace(bench, *, method: str = "darts", seed: int = 0, epochs: int = 12,
                    table: str = "", archs=None, lambdas=None, params=None,
                    search=None, every: int = 1):  # type: ignore[no-untyped-def]
    """A search trace made by formula on ``bench`` (a `Benchmark`): arch ``archs[e]`` at epoch
    e (default: walks away from the best arch), its table errors and regret, a dominant
    eigenvalue ``lambdas[e]`` every ``every`` epochs (and at the last), gaps that grow with
    lambda, and alphas that favour op 0 more and more."""
    from nasbench_tools.search.trace import EpochRecord, SearchTrace
    from nasbench_tools.table.schema import Metric

    space = bench.space
    rng = np.random.default_rng(seed)
    archs = list(archs) if archs is not None else [
        (SYNTHETIC_BEST + e) % space.size for e in range(epochs)]
    lambdas = list(lambdas) if lambdas is not None else [
        0.2 + 0.05 * e + 0.01 * rng.standard_normal() for e in range(epochs)]
    n_alpha = sum(len(e.ops) for e in space.edges)
    records = []
    for e in range(epochs):
        a = int(archs[e])
        lam = lambdas[e] if (e % every == 0 or e == epochs - 1) else float("nan")
        records.append(EpochRecord(
            epoch=e, alphas=np.linspace(-1, 1, n_alpha) * e / epochs, arch=a,
            genotype=space.genotype(space.arch(a)),
            test_err=float(bench.query(a, Metric.TEST_ERR)),
            valid_err=float(bench.query(a, Metric.VALID_ERR)),
            test_regret=float(bench.regret(a, Metric.TEST_ERR)),
            valid_regret=float(bench.regret(a, Metric.VALID_ERR)),
            oneshot_loss=1.0 - 0.05 * e, oneshot_err=40.0 - 2.0 * e,
            discrete_loss=1.5 + lambdas[e], discrete_err=60.0 + 10.0 * lambdas[e],
            lambda_max=lam, weight_decay=float((params or {}).get("weight_decay", 3e-4)),
            lr=0.025, alpha_updates=10,
            wall_time=2.0 + 0.1 * e, analysis_time=0.5))
    config = {"search": {"epochs": epochs, "batch_size": 64, "threads": 1, **(search or {})},
              "params": dict(params or {}), "protocol": dict(bench.protocol)}
    return SearchTrace(method=method, seed=seed, space=space, records=tuple(records),
                       table=table, table_sha256=bench.content_sha256,
                       config=config)
