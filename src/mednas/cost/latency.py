"""Latency look-up table (MoSegNAS Eq. 7): a network's latency as the sum of its blocks'.

A cardiac genotype runs these blocks, in this order: encoder stage i (residual block,
attention, max-pool) for i < L; the dilated bottleneck at level L; decoder stage i
(upsampling, fusion, residual block) for i < L; the 1x1 head. Each block's latency
depends on the genes listed in its key (``KEY``) and on the base filters.

The table enumerates every key the search space can reach. The filters axis (up to 96
values in Table I) is sampled at ``filter_points`` evenly spaced values including both
bounds, and a block's latency at other filter counts is linearly interpolated between the
two nearest measured ones. Each entry is timed on standalone network code (the same stage
methods a whole network runs), after ``warmup`` runs, as the median of ``repeats``, with
``torch.cuda.synchronize`` around each run on CUDA and a fixed thread count on CPU.

What the blocks do not cover (pooling glue, Python dispatch, the stem and tail: Eq. 7's
constant terms) is one ``overhead`` entry per stage count and attention type: the median
gap between whole networks and the sum of their blocks over ``overhead_genotypes``
calibration genotypes each, drawn apart from the genotypes used to check the table.
(Attention is in the key because self-attention blocks, memory-bound, ran measurably
slower inside a network than alone.)

Timings drift over seconds on a shared machine (measured here: the same 50 networks timed
twice one after the other agreed only at Kendall tau 0.78, 11 % apart). So every entry is
timed once in each of ``rounds`` passes over the whole table, networks rebuilt each pass,
and the table keeps the median over passes; networks checked end to end are measured the
same way. Interleaved like this, two runs agreed at tau 0.95 (4 % apart).
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import logging
import platform
import random
import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mednas.allocator import keep_freed_memory
from mednas.errors import ConfigError, MednasError
from mednas.models.cardiac_net import ArchSettings, CardiacNet, build_subnet, widths
from mednas.space.cardiac import CardiacSpace, Genotype

log = logging.getLogger("mednas")

KEY = ("block", "stage", "kernel", "attention", "fusion", "activation")
NA = "-"  # a gene that does not affect this block
COLUMNS = ("device", "image_size", "batch", "threads", *KEY, "filters", "latency_ms")


class LatencyError(MednasError):
    """The look-up table cannot answer: another device, another input size, or a missing entry."""


@dataclass(frozen=True)
class LatencySettings:
    """Config section ``latency``."""

    batch: int = 1
    rounds: int = 5  # passes over all entries; an entry's latency is the median over passes
    warmup: int = 2
    repeats: int = 3  # timed runs per entry and pass (their median)
    threads: int = 1  # CPU only: a fixed count makes timings comparable
    filter_points: int = 5
    overhead_genotypes: int = 3  # per stage count, to measure the network-level overhead (Eq. 7's constants)
    check_genotypes: int = 50
    seed: int = 0
    job_threads: int | None = None  # scheduling only: cores the measuring job reserves (see the rule)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> LatencySettings:
        unknown = sorted(set(cfg) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"latency: unknown key(s) {unknown}")
        return cls(**cfg)


def has_latency_table(space: Any) -> bool:
    """Whether the look-up table can price ``space``'s genotypes: it times the blocks
    (:func:`block_keys`) of :class:`CardiacSpace` genotypes' networks."""
    return isinstance(space, CardiacSpace)


def device_name(device: str) -> str:
    """A name for the hardware a table was measured on (the table is only valid there)."""
    if device.startswith("cuda"):
        return f"cuda:{torch.cuda.get_device_name(torch.device(device))}"
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu:{model}"


def filter_grid(bounds: tuple[int, int], points: int) -> list[int]:
    """``points`` evenly spaced integer filter counts from ``bounds[0]`` to ``bounds[1]``."""
    lo, hi = bounds
    if points < 2 or hi == lo:
        return sorted({lo, hi})
    return sorted({int(round(v)) for v in np.linspace(lo, hi, points)})


def block_keys(g: Genotype, arch: ArchSettings) -> list[tuple[str, ...]]:
    """The table keys of every block a genotype runs (without the filters)."""
    att = lambda site: g.attention if site in arch.attention_at else NA
    keys = [("encoder", str(i), str(g.kernel), att("encoder"), NA, g.activation) for i in range(g.layers)]
    keys.append(("bottleneck", str(g.layers), NA, att("bottleneck"), NA, g.activation))
    keys += [("decoder", str(i), str(g.kernel), att("decoder"), g.fusion, g.activation) for i in range(g.layers)]
    keys.append(("head", "0", NA, NA, NA, NA))
    return keys


def _timer(fn: Callable[[], Any], warmup: int, repeats: int, cuda: bool) -> float:
    """Median wall time of ``fn`` in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def _block_runners(net: CardiacNet, g: Genotype, image_size: int, batch: int, device: str) -> dict[tuple[str, ...], Callable]:
    """A zero-argument callable per block of ``g``, on inputs of the shapes the whole network feeds it."""
    w = widths(g.filters, g.layers, net.arch.growth)
    size = lambda level: image_size // 2**level
    rand = lambda c, level: torch.randn(batch, c, size(level), size(level), device=device)
    keys = block_keys(g, net.arch)
    runners: dict[tuple[str, ...], Callable] = {}
    for i in range(g.layers):
        x = rand(net.arch.in_channels if i == 0 else w[i - 1], i)
        runners[keys[i]] = lambda i=i, x=x: F.max_pool2d(net.encoder_stage(i, x, g, w), 2)
    xb = rand(w[g.layers - 1], g.layers)
    runners[keys[g.layers]] = lambda: net.bottleneck_stage(xb, g, w)
    for i in range(g.layers):
        h, skip = rand(w[i + 1], i + 1), rand(w[i], i)
        runners[keys[g.layers + 1 + i]] = lambda i=i, h=h, skip=skip: net.decoder_stage(i, h, skip, g, w)
    xh = rand(w[0], 0)
    runners[keys[-1]] = lambda: net.head_stage(xh)
    return runners


def _genotypes_covering(space: CardiacSpace, f_grid: list[int]) -> Iterable[Genotype]:
    """Genotypes that together contain every reachable (block key, filters) pair; deepest first."""
    for layers in sorted(range(space.layers[0], space.layers[1] + 1), reverse=True):
        for f, k, att, fusion, act in itertools.product(f_grid, space.kernels, space.attentions, space.fusions,
                                                        space.activations):
            yield Genotype(f, k, layers, space.dropout[0], att, fusion, act, space.res_scale[1])


def _sample_distinct(space: CardiacSpace, rng: random.Random, n: int, **fixed: Any) -> list[Genotype]:
    out: dict[str, Genotype] = {}
    while len(out) < n:
        g = replace(space.sample(rng), **fixed)
        out.setdefault(g.key(), g)
    return list(out.values())


def _time_network(g: Genotype, arch: ArchSettings, image_size: int, settings: LatencySettings, device: str) -> float:
    with torch.device(device):
        net = build_subnet(g, arch).eval()
        x = torch.randn(settings.batch, arch.in_channels, image_size, image_size)
    return _timer(lambda: net(x), settings.warmup, settings.repeats, device.startswith("cuda"))


@dataclass
class Measurements:
    """What one measuring session produced: table rows and end-to-end latencies of the check networks."""

    rows: list[dict[str, Any]]
    check: list[tuple[Genotype, float]]


def measure(space: CardiacSpace, arch: ArchSettings, image_size: int, settings: LatencySettings, device: str,
            check_genotypes: int | None = None, progress: Callable[[str], None] | None = None) -> Measurements:
    """Time every reachable block, the overhead calibration networks and ``check_genotypes`` random
    networks (default ``settings.check_genotypes``), all within the same passes.

    Measuring them side by side means that slow changes of the machine's speed over the
    session (neighbours' load) reach table and networks alike.
    """
    cuda = device.startswith("cuda")
    keep_freed_memory()  # otherwise a block's timing depends on the allocator's history
    name = device_name(device)
    f_grid = filter_grid(space.filters, settings.filter_points)
    rng = random.Random(f"overhead-{settings.seed}")
    calib = {(layers, att): _sample_distinct(space, rng, settings.overhead_genotypes, layers=layers, attention=att)
             for layers, att in itertools.product(range(space.layers[0], space.layers[1] + 1), space.attentions)}
    n_check = settings.check_genotypes if check_genotypes is None else check_genotypes
    checks = _sample_distinct(space, random.Random(settings.seed), n_check) if n_check else []
    networks = [g for gs in calib.values() for g in gs] + checks
    samples: dict[tuple, list[float]] = {}
    net_samples: list[list[float]] = [[] for _ in networks]
    with _measurement(device, settings):
        for r in range(settings.rounds):
            done: set[tuple] = set()
            for g in _genotypes_covering(space, f_grid):
                todo = [k for k in block_keys(g, arch) if (k, g.filters) not in done]
                if not todo:
                    continue
                with torch.device(device):
                    net = build_subnet(g, arch).eval()
                runners = _block_runners(net, g, image_size, settings.batch, device)
                for key in todo:
                    samples.setdefault((key, g.filters), []).append(
                        _timer(runners[key], settings.warmup, settings.repeats, cuda))
                    done.add((key, g.filters))
            for i, g in enumerate(networks):
                net_samples[i].append(_time_network(g, arch, image_size, settings, device))
            if progress:
                progress(f"pass {r + 1}/{settings.rounds}: {len(done)} look-up table entries and "
                         f"{len(networks)} networks timed")
    row = lambda key, f, ms: {"device": name, "image_size": image_size, "batch": settings.batch,
                              "threads": 0 if cuda else settings.threads, **dict(zip(KEY, key)), "filters": f,
                              "latency_ms": round(ms, 5)}
    rows = [row(key, f, statistics.median(times)) for (key, f), times in samples.items()]
    net_ms = [statistics.median(t) for t in net_samples]
    blocks_only = LatencyTable(rows, require_overhead=False)
    i = 0
    for gs in calib.values():
        gaps = [net_ms[i + j] - blocks_only.predict(g, arch, name, image_size) for j, g in enumerate(gs)]
        i += len(gs)
        rows += [row(overhead_key(gs[0]), f, statistics.median(gaps)) for f in (f_grid[0], f_grid[-1])]
    return Measurements(rows, list(zip(checks, net_ms[i:])))


def measure_lut(space: CardiacSpace, arch: ArchSettings, image_size: int, settings: LatencySettings,
                device: str, progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """The look-up table alone (no check networks); rows as in ``COLUMNS``."""
    return measure(space, arch, image_size, settings, device, check_genotypes=0, progress=progress).rows


def overhead_key(g: Genotype) -> tuple[str, ...]:
    """Table key of the network-level overhead of ``g`` (by stage count and attention type)."""
    return ("overhead", str(g.layers), NA, g.attention, NA, NA)


@contextlib.contextmanager
def _measurement(device: str, settings: LatencySettings):
    """No autograd, and a fixed CPU thread count, restored afterwards."""
    threads = torch.get_num_threads()
    if not device.startswith("cuda"):
        torch.set_num_threads(settings.threads)
    try:
        with torch.no_grad():
            yield
    finally:
        torch.set_num_threads(threads)


class LatencyTable:
    """Predicts a genotype's latency from measured block latencies."""

    def __init__(self, rows: Iterable[Mapping[str, Any]], require_overhead: bool = True):
        rows = list(rows)
        self.require_overhead = require_overhead
        if not rows:
            raise LatencyError("the latency look-up table is empty")
        self.device = str(rows[0]["device"])
        self.image_size = int(rows[0]["image_size"])
        self.batch = int(rows[0]["batch"])
        others = {str(r["device"]) for r in rows} - {self.device}
        if others:
            raise LatencyError(f"a look-up table must hold one device; found {sorted(others | {self.device})}")
        table: dict[tuple[str, ...], list[tuple[int, float]]] = {}
        for r in rows:
            table.setdefault(tuple(str(r[k]) for k in KEY), []).append((int(r["filters"]), float(r["latency_ms"])))
        self._table = {k: sorted(v) for k, v in table.items()}

    @classmethod
    def read_csv(cls, path: str | Path) -> LatencyTable:
        with open(path, newline="") as fh:
            return cls(csv.DictReader(fh))

    def block_latency(self, key: tuple[str, ...], filters: int) -> float:
        """One block's latency (ms), interpolated between the measured filter counts."""
        points = self._table.get(key)
        what = ", ".join(f"{k} {v}" for k, v in zip(KEY, key) if v != NA)
        if points is None:
            raise LatencyError(f"no look-up table entry for block {what} on {self.device}")
        fs = [p[0] for p in points]
        if not fs[0] <= filters <= fs[-1]:
            raise LatencyError(f"no look-up table entry for block {what} at {filters} filters "
                               f"(measured {fs[0]}..{fs[-1]}) on {self.device}")
        return float(np.interp(filters, fs, [p[1] for p in points]))

    def predict(self, g: Genotype, arch: ArchSettings, device: str, image_size: int | None = None) -> float:
        """Predicted latency (ms) of ``g`` on the device named ``device`` (see :func:`device_name`)."""
        if device != self.device:
            raise LatencyError(f"the look-up table was measured on '{self.device}', not on '{device}'")
        if image_size is not None and image_size != self.image_size:
            raise LatencyError(f"the look-up table was measured at {self.image_size} px, not {image_size} px")
        keys = block_keys(g, arch) + ([overhead_key(g)] if self.require_overhead else [])
        return sum(self.block_latency(k, g.filters) for k in keys)


def check_rows(table: LatencyTable, measured: list[tuple[Genotype, float]], arch: ArchSettings,
               image_size: int) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Predicted vs measured latency (and FLOPs) of the check networks, with rank correlations."""
    from scipy.stats import kendalltau, spearmanr

    from mednas.cost.complexity import count_flops

    rows = []
    for g, ms in measured:
        flops = count_flops(build_subnet(g, arch), (1, arch.in_channels, image_size, image_size))
        rows.append({"genotype": g.key(), "predicted_ms": round(table.predict(g, arch, table.device, image_size), 5),
                     "measured_ms": round(ms, 5), "flops": flops})
    pred = np.array([r["predicted_ms"] for r in rows])
    meas = np.array([r["measured_ms"] for r in rows])
    flops = np.array([r["flops"] for r in rows], dtype=float)
    summary = {
        "genotypes": len(rows), "device": table.device, "image_size": image_size,
        "lut_kendall_tau": float(kendalltau(pred, meas).statistic),
        "lut_spearman_rho": float(spearmanr(pred, meas).statistic),
        "lut_mape_percent": float(np.mean(np.abs(pred - meas) / meas) * 100),
        "flops_kendall_tau": float(kendalltau(flops, meas).statistic),
        "flops_spearman_rho": float(spearmanr(flops, meas).statistic),
    }
    return rows, summary


def plot_check(path: str | Path, rows: list[Mapping[str, Any]], summary: Mapping[str, Any]) -> None:
    """Predicted (look-up table) and FLOPs against measured latency, as MoSegNAS Fig. 4."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    meas = [r["measured_ms"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, key, label, tau in ((axes[0], "predicted_ms", "look-up table prediction (ms)", summary["lut_kendall_tau"]),
                                (axes[1], "flops", "FLOPs", summary["flops_kendall_tau"])):
        x = np.array([r[key] for r in rows], dtype=float)
        ax.scatter(x, meas, s=14)
        slope, icpt = np.polyfit(x, meas, 1)
        xs = np.linspace(x.min(), x.max(), 10)
        ax.plot(xs, slope * xs + icpt, "r-", lw=1)
        ax.set_xlabel(label)
        ax.set_ylabel("measured latency (ms)")
        ax.set_title(f"Kendall tau = {tau:.3f}")
    fig.suptitle(f"{summary['device']}, {summary['image_size']} px, {summary['genotypes']} genotypes", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)


def measure_model_latency(model: torch.nn.Module, image_size: int, settings: LatencySettings, device: str,
                          in_channels: int = 1) -> float:
    """Median inference time (ms) of a whole network at ``settings.batch`` images, measured as the table is."""
    model = model.to(device).eval()
    x = torch.randn(settings.batch, in_channels, image_size, image_size, device=device)
    per_round = []
    with _measurement(device, settings):
        for _ in range(settings.rounds):
            per_round.append(_timer(lambda: model(x), settings.warmup, settings.repeats, device.startswith("cuda")))
    return statistics.median(per_round)
