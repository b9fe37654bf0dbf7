"""Config files for benchmarks, merged exactly as ``snakemake --configfile a.yaml b.yaml`` merges them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from snakemake.common.configfile import load_configfile
from snakemake.utils import update_config


def load_configs(paths: Sequence[str | Path]) -> dict[str, Any]:
    """Later files win key by key inside sections (Snakemake's ``update_config``): an overlay that
    sets one key of ``preprocess`` keeps the other keys of that section."""
    cfg: dict[str, Any] = {}
    for path in paths:
        update_config(cfg, load_configfile(str(path)))
    return cfg


DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"


def load_overlays(overlays: Sequence[str | Path]) -> dict[str, Any]:
    """``overlays`` laid over config/config.yaml, as ``snakemake --configfile <overlays>`` reads them."""
    return load_configs([DEFAULT_CONFIG, *overlays])


def open_benchmark(overlays: Sequence[str | Path], device: str) -> tuple[dict[str, Any], str]:
    """The merged config and the resolved device, with the allocator and torch's thread count set as the
    pipeline's stages set them (``train.threads``), so a benchmark measures what a rule would run."""
    import torch

    from mednas.allocator import keep_freed_memory
    from mednas.device import resolve_device

    cfg = load_overlays(overlays)
    keep_freed_memory()
    torch.set_num_threads(int(cfg["train"].get("threads", 2)))
    return cfg, resolve_device(device)
