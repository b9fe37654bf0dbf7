"""A final re-ranking of a search's best candidates at a higher training fidelity.

A short proxy (CardiacNAS Algorithm 1: every candidate trained for a few steps) is noisy, and
early in training narrow networks score level with wider ones that win once trained to the
end. After the strategy has spent its budget, the ``top`` candidates within every budget with
the highest search Dice are trained again from fresh weights for a longer budget (the
``search.rerank`` section: rounds, steps, image size), and the final pick is the best of them by
that validation Dice: the last rung of successive halving (Jamieson and Talwalkar 2016;
Hyperband). Their records sit in the archive under phase ``rerank`` (key ``<key>@rerank``), so
an interrupted re-ranking resumes like the search; they take no part in the front, the
hypervolume or the strategy's budget, and their training time counts in the search cost.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mednas.errors import ConfigError
from mednas.search.pool import CandidatePool
from mednas.space.base import Genotype

log = logging.getLogger("mednas")

PHASE = "rerank"


@dataclass(frozen=True)
class RerankSettings:
    """Config section ``search.rerank``; ``top`` 0 turns the re-ranking off."""

    top: int = 0
    epochs: int = 1
    steps_per_epoch: int | None = None
    image_size: int | None = None

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> RerankSettings:
        cfg = dict(cfg or {})
        unknown = sorted(set(cfg) - {"top", "epochs", "steps_per_epoch", "image_size"})
        if unknown:
            raise ConfigError(f"search.rerank: unknown setting(s) {unknown}")
        s = cls(**cfg)
        if s.top < 0 or s.epochs < 1 or (s.steps_per_epoch is not None and s.steps_per_epoch < 1):
            raise ConfigError(f"search.rerank: top must be >= 0, epochs and steps_per_epoch >= 1 (got {cfg})")
        return s

    @property
    def enabled(self) -> bool:
        return self.top > 0


def check_rerank(settings: RerankSettings, evaluator: str, rule: str) -> None:
    """Re-ranking retrains segmentation candidates and picks by their new Dice: it needs both."""
    if not settings.enabled:
        return
    if evaluator not in ("inherit", "proxy"):
        raise ConfigError(f"search.rerank needs a segmentation evaluator (inherit or proxy), not '{evaluator}'")
    if rule != "best_dice":
        raise ConfigError(f"search.rerank picks the best re-ranked Dice: it needs search.choose best_dice, not '{rule}'")


def search_records(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The strategy's own records (no re-ranking record): what the front and hypervolume are built on."""
    return [r for r in records if r.get("phase") != PHASE]


def finalists(pool: CandidatePool, top: int) -> list[Mapping[str, Any]]:
    """The ``top`` evaluated candidates within every budget with the highest search Dice
    (ties: fewer FLOPs first), best first."""
    records = search_records(pool.records())
    violation = pool.objectives.violation(records)
    scored = [r for r, v in zip(records, violation)
              if v <= 0 and r.get("dice_mean") is not None and not math.isnan(float(r["dice_mean"]))]
    return sorted(scored, key=lambda r: (-float(r["dice_mean"]), float(r["flops"])))[:top]


def rerank(pool: CandidatePool, evaluator: Callable[[Genotype], Mapping[str, float]], top: int,
           generation: int) -> list[dict[str, Any]]:
    """Train the finalists with ``evaluator``; their re-ranked records, in the search's order
    (``choose`` finds them by their phase)."""
    chosen = finalists(pool, top)
    if not chosen:
        return []
    pool.phase_evaluators[PHASE] = evaluator
    log.info("rerank: %d finalist(s) by search Dice %s", len(chosen),
             ", ".join(f"{r['key']} {float(r['dice_mean']):.3f}" for r in chosen))
    records = pool.evaluate([pool.genotype(r) for r in chosen], generation, PHASE)
    for before, after in zip(chosen, records):
        log.info("rerank: %s search Dice %.3f -> re-ranked Dice %.3f", before["key"], float(before["dice_mean"]),
                 float(after["dice_mean"]))
    return records
