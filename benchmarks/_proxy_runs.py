"""What the proxy benchmarks share: their arguments and the set-up of listed genotypes trained as the search's proxy trains them."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from _configs import open_benchmark
from ground_truth import load_genotype_entries

REPO = Path(__file__).resolve().parents[1]


def add_proxy_arguments(ap: argparse.ArgumentParser, config: str, steps: int, image_size: str) -> None:
    """``--config --genotypes --steps --image-size --seeds --device --data --out``, with the given defaults."""
    ap.add_argument("--config", nargs="+", default=[str(REPO / "config" / config)],
                    help="config files merged in order over config/config.yaml, as --configfile does")
    ap.add_argument("--genotypes", required=True)
    ap.add_argument("--steps", type=int, default=steps)
    ap.add_argument("--image-size", default=image_size, help="pixels, or 'full' for the prepared slices' size")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--data", default=None, help="folder with train.npz / val.npz (default results/<experiment>/data)")
    ap.add_argument("--out", default=None)


@dataclass
class ProxyRun:
    """The merged config, device, listed genotypes (with their entries) and data of one proxy benchmark."""

    cfg: dict[str, Any]
    device: str
    results: Path
    entries: list[tuple[Any, dict]]
    retrained: dict[str, float]  # validation Dice at the retraining budget, for the entries that give it
    train: Any
    val: Any
    image_size: int | None
    build: Callable[[Any], Any]

    def evaluator(self, seed: int, rounds: int, steps_per_round: int):
        """The search's proxy evaluator (``mednas.search.stages.proxy_evaluator``) for training seed ``seed``."""
        from mednas.search.stages import proxy_evaluator

        return proxy_evaluator(self.cfg["train"], rounds, steps_per_round, self.image_size, self.build,
                               self.train, self.val, self.device, seed, "proxy")


def open_proxy_run(args: argparse.Namespace, what: str) -> ProxyRun:
    """Read the arguments of :func:`add_proxy_arguments`; ``what`` names the benchmark in errors."""
    from mednas.data.slices import load_slices
    from mednas.models.registry import build_model, searched_spec
    from mednas.space.base import make_space

    cfg, device = open_benchmark(args.config, args.device)
    results = REPO / "results" / cfg["experiment"]
    space = make_space(cfg["space"])
    entries = load_genotype_entries(space, Path(args.genotypes))
    retrained = {g.key(): float(e["retrained_dice"]) for g, e in entries if e.get("retrained_dice") is not None}
    data_dir = Path(args.data) if args.data else results / "data"
    for path in (data_dir / "train.npz", data_dir / "val.npz"):
        if not path.exists():
            raise SystemExit(f"{what}: {path} is missing")
    train, val = load_slices(data_dir / "train.npz"), load_slices(data_dir / "val.npz")
    spec_of = partial(searched_spec, space, in_channels=train.labels.in_channels,
                      num_classes=train.labels.num_classes, image_size=int(train.image.shape[-1]),
                      arch_cfg=cfg.get("arch"))
    return ProxyRun(cfg, device, results, entries, retrained, train, val,
                    None if args.image_size == "full" else int(args.image_size),
                    lambda g: build_model(spec_of(g)))
