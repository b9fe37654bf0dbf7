"""MixSearch's two-stage differentiable search (seed 001, Algorithm 1, Eq. 8).

The composited data is split in halves: network weights ``w`` learn on one (SGD with cosine
annealing), the architecture weights ``alpha`` (cells, Eq. 6) and ``beta`` (branches, Eq. 7) on
the other (Adam), after ``warmup_epochs`` of weight training alone. As in first-order DARTS,
``w*`` of Eq. 8 is approximated by the current weights after one step. Algorithm 1 updates
``beta`` and then ``alpha`` with the new ``beta`` (lines 12-13); we update both from one
architecture batch and gradient (one forward-backward instead of two), a difference of one step
of size ``arch_lr`` per step. Stage 0 searches a shallow grid with every candidate op; stage 1
keeps the better half of each op set by the mean softmax weight stage 0 gave it and searches a
deeper grid; the last stage's most probable op per edge and branch per map is the genotype.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from mednas.data.mixing import CompositeSampler
from mednas.errors import ConfigError
from mednas.models.weaved_net import KEEP_BRANCHES, WeavedSupernet, halve
from mednas.space.weaved import OP_SETS, Grid, WeavedGenotype, node_name
from mednas.train.checkpoint import load_checkpoint, save_checkpoint
from mednas.train.losses import head_loss, make_soft_loss

log = logging.getLogger("mednas")


@dataclass(frozen=True)
class BilevelSettings:
    """Config section ``mixsearch.search`` (defaults: the paper's values where it gives them)."""

    stages: tuple[tuple[int, int], ...] = ((5, 8), (6, 10))  # (D_s, L_s) per stage: the paper's
    channels: int = 16  # the paper does not state its widths (our choice)
    doubling: bool = True  # channel doubling per depth (DC)
    deep_supervision: int = 3  # heads X^{0,L-1}, X^{0,L-3}, ... (DS); 1: the last alone
    epochs: int = 80  # per stage
    warmup_epochs: int = 10
    steps_per_epoch: int | None = None  # None: one pass over the weight half
    batch_size: int = 12
    w_lr: float = 0.025
    w_lr_min: float = 0.001  # DARTS's floor of the cosine (not stated in the paper)
    w_momentum: float = 0.9  # DARTS's (not stated in the paper)
    w_weight_decay: float = 3e-4  # DARTS's (not stated in the paper)
    arch_lr: float = 2e-4
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 1e-3
    grad_clip: float = 5.0  # DARTS's (not stated in the paper)
    image_size: int | None = None  # None: the prepared size
    keep_branches: str = "argmax"  # the discrete network: each map's most probable branch, or all of them

    def __post_init__(self) -> None:
        if not self.stages:
            raise ConfigError("mixsearch.search.stages: at least one (depth, layers) stage")
        for d, l in self.stages:
            Grid(int(d), int(l))
        if self.keep_branches not in KEEP_BRANCHES:
            raise ConfigError(f"mixsearch.search.keep_branches: {self.keep_branches!r} is not one of {KEEP_BRANCHES}")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise ConfigError(f"mixsearch.search: warmup_epochs {self.warmup_epochs} must lie in 0..epochs-1 "
                              f"({self.epochs - 1}): the architecture must get some steps")

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> BilevelSettings:
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ConfigError(f"mixsearch.search: unknown key(s) {unknown}; known: {sorted(known)}")
        kw = dict(cfg)
        if "stages" in kw:
            kw["stages"] = tuple(tuple(int(v) for v in s) for s in kw["stages"])
        if "arch_betas" in kw:
            kw["arch_betas"] = tuple(float(v) for v in kw["arch_betas"])
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchResult:
    genotype: WeavedGenotype
    rows: list[dict[str, Any]]
    op_sets: list[dict[str, tuple[str, ...]]]  # the op sets each stage searched
    op_scores: list[dict[str, dict[str, float]]]  # each stage's mean softmax weight per op
    alpha: dict[str, list[float]]  # the last stage's softmax weights per edge ("branch:edge")
    beta: dict[str, dict[str, float]]  # ... and per map over its branches
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def soft_label_loss() -> Callable[[torch.Tensor | list[torch.Tensor], torch.Tensor], torch.Tensor]:
    """Dice + cross-entropy on soft (mixed one-hot) labels, averaged over deep-supervision heads."""
    return functools.partial(head_loss, make_soft_loss())


def _arch_state(model: WeavedSupernet) -> tuple[dict[str, list[float]], dict[str, dict[str, float]]]:
    with torch.no_grad():
        alpha = {k: [round(v, 6) for v in torch.softmax(p, 0).tolist()] for k, p in model.alpha.items()}
        beta = {node_name(n): dict(zip(model.branches[n], [round(v, 6) for v in w.tolist()]))
                for n, w in model.branch_weights().items()}
    return alpha, beta


def bilevel_step(model: WeavedSupernet, w_opt: torch.optim.Optimizer, a_opt: torch.optim.Optimizer,
                 loss_fn: Callable, w_batch: tuple[torch.Tensor, torch.Tensor],
                 a_batch: tuple[torch.Tensor, torch.Tensor] | None, grad_clip: float) -> tuple[float, float | None]:
    """One step of Algorithm 1: the network weights on a batch of the weight half (line 7 / 11),
    then, unless warming up (``a_batch`` None), alpha and beta on a batch of the architecture
    half at the updated weights (lines 12-13, first order). Returns both losses."""
    w_opt.zero_grad(set_to_none=True)
    a_opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(w_batch[0]), w_batch[1])
    loss.backward()
    nn.utils.clip_grad_norm_(model.weight_parameters(), grad_clip)
    w_opt.step()
    w_loss = float(loss.detach())
    if a_batch is None:
        return w_loss, None
    w_opt.zero_grad(set_to_none=True)
    a_opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(a_batch[0]), a_batch[1])
    loss.backward()
    a_opt.step()
    return w_loss, float(loss.detach())


def bilevel_search(weight_data: CompositeSampler, arch_data: CompositeSampler, in_channels: int, num_classes: int,
                   settings: BilevelSettings, device: str, seed: int, checkpoint: str | Path | None = None,
                   fingerprint: str = "", op_sets: Mapping[str, Sequence[str]] | None = None) -> SearchResult:
    """Algorithm 1 on the two halves; resumable from ``checkpoint`` (written after every epoch)."""
    sets = [{k: tuple(v) for k, v in (op_sets or OP_SETS).items()}]
    rows: list[dict[str, Any]] = []
    scores: list[dict[str, dict[str, float]]] = []
    stage, epoch0, state, seconds = 0, 1, None, 0.0
    if checkpoint is not None:
        state = load_checkpoint(checkpoint, fingerprint)
    if state is not None:
        sets, rows, scores = state["op_sets"], state["rows"], state["op_scores"]
        stage, epoch0, seconds = state["stage"], state["epoch"] + 1, state["seconds"]
        weight_data.set_state(state["weight_rng"])
        arch_data.set_state(state["arch_rng"])
        log.info("mixsearch: resuming stage %d after epoch %d", stage, state["epoch"])
    steps = settings.steps_per_epoch or max(1, len(weight_data) // settings.batch_size)

    def save(stage: int, epoch: int, **training: Any) -> None:
        """The search's state after ``epoch`` of ``stage`` (0: before its first), with the stage's
        network and optimisers where it has them."""
        if checkpoint is not None:
            save_checkpoint(checkpoint, {"fingerprint": fingerprint, "stage": stage, "epoch": epoch,
                                         "seconds": seconds, "op_sets": sets, "rows": rows, "op_scores": scores,
                                         "weight_rng": weight_data.state(), "arch_rng": arch_data.state(),
                                         **training})

    loss_fn = soft_label_loss()
    model = None
    while stage < len(settings.stages):
        depth, layers = settings.stages[stage]
        # every stage's initial weights follow from the seed alone, so that a resumed run builds the same
        torch.manual_seed(seed * 1000 + stage)
        model = WeavedSupernet(Grid(depth, layers), settings.channels, settings.doubling, in_channels, num_classes,
                               settings.deep_supervision, sets[stage]).to(device)
        w_opt = torch.optim.SGD(model.weight_parameters(), settings.w_lr, momentum=settings.w_momentum,
                                weight_decay=settings.w_weight_decay)
        w_sched = torch.optim.lr_scheduler.CosineAnnealingLR(w_opt, settings.epochs * steps, settings.w_lr_min)
        arch = model.arch_parameters()
        a_opt = torch.optim.Adam(arch["alpha"] + arch["beta"], settings.arch_lr, betas=settings.arch_betas,
                                 weight_decay=settings.arch_weight_decay)
        if state is not None and state["stage"] == stage and "model" in state:
            model.load_state_dict(state["model"])
            w_opt.load_state_dict(state["w_opt"])
            w_sched.load_state_dict(state["w_sched"])
            a_opt.load_state_dict(state["a_opt"])
            torch.set_rng_state(state["torch_rng"])
        else:
            epoch0 = 1
        log.info("mixsearch stage %d: grid D=%d L=%d, %d maps, ops %s", stage, depth, layers, len(model.grid.nodes()),
                 {k: list(v) for k, v in sets[stage].items()})
        for epoch in range(epoch0, settings.epochs + 1):
            t0 = time.perf_counter()
            model.train()
            w_losses, a_losses = [], []
            search_arch = epoch > settings.warmup_epochs
            desc = f"stage {stage} epoch {epoch}/{settings.epochs}{'' if search_arch else ' (warm-up)'}"
            for _ in tqdm(range(steps), desc=desc, disable=None, mininterval=10):
                w_batch = tuple(t.to(device) for t in weight_data.batch(settings.batch_size))
                a_batch = tuple(t.to(device) for t in arch_data.batch(settings.batch_size)) if search_arch else None
                w_loss, a_loss = bilevel_step(model, w_opt, a_opt, loss_fn, w_batch, a_batch, settings.grad_clip)
                w_sched.step()
                w_losses.append(w_loss)
                if a_loss is not None:
                    a_losses.append(a_loss)
            seconds += time.perf_counter() - t0
            with torch.no_grad():
                ent = [float(-(w * w.clamp_min(1e-12).log()).sum()) for ws in model.cell_weights().values() for w in ws]
            rows.append({"stage": stage, "depth": depth, "layers": layers, "epoch": epoch, "arch_search": search_arch,
                         "weight_loss": sum(w_losses) / len(w_losses),
                         "arch_loss": sum(a_losses) / len(a_losses) if a_losses else float("nan"),
                         "alpha_entropy": sum(ent) / len(ent), "lr": w_sched.get_last_lr()[0],
                         "seconds": round(time.perf_counter() - t0, 3)})
            log.info("stage %d epoch %d: weight loss %.4f, arch loss %.4f, mean alpha entropy %.4f (%.1f s)",
                     stage, epoch, rows[-1]["weight_loss"], rows[-1]["arch_loss"], rows[-1]["alpha_entropy"],
                     rows[-1]["seconds"])
            save(stage, epoch, model=model.state_dict(), w_opt=w_opt.state_dict(), w_sched=w_sched.state_dict(),
                 a_opt=a_opt.state_dict(), torch_rng=torch.get_rng_state())
        scores.append(model.op_scores())
        if stage + 1 < len(settings.stages):
            sets.append(halve(sets[stage], scores[stage]))
        stage, epoch0, state = stage + 1, 1, None
        if stage < len(settings.stages):  # the next stage starts from the halved op sets, not this stage's epochs
            save(stage, 0)
    assert model is not None
    alpha, beta = _arch_state(model)
    return SearchResult(model.genotype(settings.keep_branches), rows, sets, scores, alpha, beta, seconds)
