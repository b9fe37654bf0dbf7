"""A final re-ranking of a search's best candidates at higher training fidelities.

A short proxy (CardiacNAS Algorithm 1: every candidate trained for a few steps) is noisy, and
early in training narrow networks score level with wider ones that win once trained to the
end. After the strategy has spent its budget, its best candidates go up one or more rungs of
successive halving (Jamieson and Talwalkar 2016; Hyperband, Li et al. 2018): on each rung the
``top`` best of the rung below (the first rung: the candidates within every budget with the
highest search Dice) are trained again from freshly initialised weights for a longer budget
(rounds, steps, image size), and the final pick is the best of the last rung by its validation
Dice. Every rung seeds a candidate as the search's proxy does (``genotype_seed``): a rung re-runs
the same initialisation for longer rather than drawing another, so its noise is correlated with
the rung below; what changes between rungs is the budget.

``search.rerank`` is one rung (a mapping) or several (a list, cheapest first, each keeping no
more candidates than the one below). The last rung's records sit in the archive under phase
``rerank`` (key ``<key>@rerank``), earlier rungs' under ``rung1``, ``rung2``, ... so an
interrupted re-ranking resumes like the search; they take no part in the front, the
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

PHASE = "rerank"  # the last rung: what the final pick is chosen from
RUNG_PREFIX = "rung"  # earlier rungs: rung1, rung2, ...


@dataclass(frozen=True)
class RerankSettings:
    """One rung of ``search.rerank``; ``top`` 0 turns the re-ranking off."""

    top: int = 0
    epochs: int = 1
    steps_per_epoch: int | None = None
    image_size: int | None = None

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None, where: str = "search.rerank") -> RerankSettings:
        cfg = dict(cfg or {})
        unknown = sorted(set(cfg) - {"top", "epochs", "steps_per_epoch", "image_size"})
        if unknown:
            raise ConfigError(f"{where}: unknown setting(s) {unknown}")
        s = cls(**cfg)
        if s.top < 0 or s.epochs < 1 or (s.steps_per_epoch is not None and s.steps_per_epoch < 1):
            raise ConfigError(f"{where}: top must be >= 0, epochs and steps_per_epoch >= 1 (got {cfg})")
        return s

    @property
    def enabled(self) -> bool:
        return self.top > 0


def rerank_plan(cfg: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None) -> list[RerankSettings]:
    """The rungs of ``search.rerank``, cheapest first: none where it is absent or its ``top`` is 0."""
    if cfg is None or isinstance(cfg, Mapping):
        one = RerankSettings.from_config(cfg)
        return [one] if one.enabled else []
    if isinstance(cfg, (str, bytes)) or not isinstance(cfg, Sequence):
        raise ConfigError(f"search.rerank: a mapping (one rung) or a list of mappings (rungs), not {cfg!r}")
    rungs = []
    for i, entry in enumerate(cfg):
        if not isinstance(entry, Mapping):
            raise ConfigError(f"search.rerank[{i}]: a mapping of top, epochs, steps_per_epoch, image_size, "
                              f"not {entry!r}")
        rung = RerankSettings.from_config(entry, f"search.rerank[{i}]")
        if not rung.enabled:
            raise ConfigError(f"search.rerank[{i}]: top must be >= 1 in a list of rungs (got {rung.top})")
        if rungs and rung.top > rungs[-1].top:
            raise ConfigError(f"search.rerank[{i}]: top {rung.top} is more than the rung below keeps "
                              f"({rungs[-1].top}); each rung promotes some of the one below")
        rungs.append(rung)
    return rungs


def rung_phase(index: int, count: int) -> str:
    """The archive phase of rung ``index`` (0-based) of ``count``: the last is ``rerank``."""
    return PHASE if index == count - 1 else f"{RUNG_PREFIX}{index + 1}"


def is_rerank_phase(phase: Any) -> bool:
    """Whether an archive record's ``phase`` is a re-ranking rung's (not one of the strategy's own)."""
    return isinstance(phase, str) and (phase == PHASE or (phase.startswith(RUNG_PREFIX)
                                                          and phase[len(RUNG_PREFIX):].isdigit()))


def check_rerank(rungs: Sequence[RerankSettings], evaluator: str, rule: str) -> None:
    """Re-ranking retrains segmentation candidates and picks by their new Dice: it needs both."""
    if not rungs:
        return
    if evaluator not in ("inherit", "proxy"):
        raise ConfigError(f"search.rerank needs a segmentation evaluator (inherit or proxy), not '{evaluator}'")
    if rule != "best_dice":
        raise ConfigError(f"search.rerank picks the best re-ranked Dice: it needs search.choose best_dice, not '{rule}'")


def search_records(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The strategy's own records (no re-ranking record): what the front and hypervolume are built on."""
    return [r for r in records if not is_rerank_phase(r.get("phase"))]


def _best(records: Sequence[Mapping[str, Any]], top: int) -> list[Mapping[str, Any]]:
    """The ``top`` records with the highest Dice (ties: fewer FLOPs first), best first; unscored ones left out."""
    scored = [r for r in records if r.get("dice_mean") is not None and not math.isnan(float(r["dice_mean"]))]
    return sorted(scored, key=lambda r: (-float(r["dice_mean"]), float(r["flops"])))[:top]


def finalists(pool: CandidatePool, top: int) -> list[Mapping[str, Any]]:
    """The ``top`` evaluated candidates within every budget with the highest search Dice
    (ties: fewer FLOPs first), best first."""
    records = search_records(pool.records())
    violation = pool.objectives.violation(records)
    return _best([r for r, v in zip(records, violation) if v <= 0], top)


def rerank(pool: CandidatePool, evaluator: Callable[[Genotype], Mapping[str, float]], top: int,
           generation: int, phase: str = PHASE,
           below: Sequence[Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Train the ``top`` best of ``below`` (default: of the search's candidates within the budgets)
    with ``evaluator`` under ``phase``; their records, best of ``below`` first (``choose`` finds the
    last rung's by its phase)."""
    chosen = finalists(pool, top) if below is None else _best(below, top)
    if not chosen:
        return []
    pool.phase_evaluators[phase] = evaluator
    log.info("%s: %d finalist(s) by the Dice below %s", phase, len(chosen),
             ", ".join(f"{r['key']} {float(r['dice_mean']):.3f}" for r in chosen))
    records = pool.evaluate([pool.genotype(r) for r in chosen], generation, phase)
    for before, after in zip(chosen, records):
        log.info("%s: %s Dice %.3f -> %.3f", phase, before["key"], float(before["dice_mean"]),
                 float(after["dice_mean"]))
    return records


def rerank_rungs(pool: CandidatePool, rungs: Sequence[tuple[RerankSettings, Callable[[Genotype], Mapping[str, float]]]],
                 generation: int) -> list[list[dict[str, Any]]]:
    """Successive halving over ``rungs`` (settings and evaluator each, cheapest first): each rung
    trains the ``top`` best of the rung below. Every rung's records, in order."""
    out: list[list[dict[str, Any]]] = []
    for i, (settings, evaluator) in enumerate(rungs):
        out.append(rerank(pool, evaluator, settings.top, generation, rung_phase(i, len(rungs)),
                          out[-1] if out else None))
    return out
