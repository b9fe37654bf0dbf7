"""Weaved encoder-decoder networks (MixSearch): the continuous supernet and its discrete networks.

One class serves both. In the supernet every edge is a mixed operation (Eq. 6, softmax of the
cell type's ``alpha``) and every map the ``softmax(beta)``-weighted sum of its branches (Eq. 7);
a discrete network has one op per edge and one branch per map, and builds only the maps its
outputs need. In training mode a network with deep supervision returns one logit map per head
(the last is the prediction); in eval mode the prediction alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mednas.models.weaved_ops import make_op
from mednas.space.weaved import (BRANCHES, OP_SETS, STEM, STEPS, Grid, Node, WeavedGenotype, cell_edges, iter_edges,
                                 node_name)

EDGES = cell_edges()


KEEP_BRANCHES = ("argmax", "all")


def _proj(c_in: int, c_out: int, affine: bool) -> nn.Module:
    return nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, 1, bias=False),
                         nn.BatchNorm2d(c_out, affine=affine))


class MixedOp(nn.Module):
    """The candidate ops of one edge; with weights, their weighted sum (Eq. 6), else the one op."""

    def __init__(self, names: Sequence[str], kind: str, c: int, affine: bool) -> None:
        super().__init__()
        self.ops = nn.ModuleList(make_op(n, kind, c, affine) for n in names)

    def forward(self, x: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
        if w is None:
            return self.ops[0](x)
        return sum(wi * op(x) for wi, op in zip(w, self.ops))


class Cell(nn.Module):
    """A Downsample, Normal or Upsample cell: two inputs, ``STEPS`` intermediate maps, their
    concatenation projected back to ``c`` channels (so that the branches of a map can be summed)."""

    def __init__(self, branch: str, c_in: tuple[int | None, int | None], c: int,
                 ops: Mapping[str, Sequence[str]] | Sequence[Sequence[str]], affine: bool) -> None:
        super().__init__()
        self.branch = branch
        self.pre = nn.ModuleList(_proj(ci, c, affine) if ci is not None else nn.Identity() for ci in c_in)
        self.present = tuple(ci is not None for ci in c_in)
        self.edges = nn.ModuleList()
        self.sources: list[tuple[int, int]] = []
        for e, (src, dst, kind) in enumerate(iter_edges(branch)):
            names = ops[kind] if isinstance(ops, Mapping) else ops[e]
            self.edges.append(MixedOp(names, kind, c, affine) if src >= 2 or self.present[src] else nn.Identity())
            self.sources.append((src, dst))
        self.post = nn.Sequential(nn.Conv2d(STEPS * c, c, 1, bias=False), nn.BatchNorm2d(c, affine=affine))

    def forward(self, s0: torch.Tensor | None, s1: torch.Tensor | None,
                weights: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        states: list[torch.Tensor | None] = [p(s) if s is not None else None for p, s in zip(self.pre, (s0, s1))]
        z: list[torch.Tensor] = []
        for j in range(STEPS):
            acc = None
            for e, (src, dst) in enumerate(self.sources):
                if dst != j or states[src] is None:
                    continue
                out = self.edges[e](states[src], None if weights is None else weights[e])
                acc = out if acc is None else acc + out
            z.append(acc)
            states.append(acc)
        return self.post(torch.cat(z, 1))


class WeavedNet(nn.Module):
    """A weaved network on ``grid``: ``cell_ops`` per branch (per edge, its candidate op names)
    and ``node_branches`` per map (its candidate branches). One op and one branch everywhere makes
    a discrete network; more make the supernet, whose ``alpha`` / ``beta`` weigh them."""

    def __init__(self, grid: Grid, channels: int, doubling: bool, in_channels: int, num_classes: int,
                 deep_supervision: int, cell_ops: Mapping[str, Sequence[Sequence[str]]],
                 node_branches: Mapping[Node, Sequence[str]], affine: bool = True, prune: bool = False) -> None:
        super().__init__()
        self.grid, self.heads = grid, grid.outputs(deep_supervision)
        self.width = {d: channels * (2 ** max(d - 1, 0) if doubling else 1) for d in range(grid.depth)}
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels, affine=affine))
        self.node_branches = {n: tuple(b) for n, b in node_branches.items()}
        # a discrete network (prune) builds only the maps its heads need; the supernet every map
        self.order = grid.needed(self.node_branches, self.heads) if prune else grid.nodes()
        self.inputs = {node: grid.inputs(node) for node in self.order}  # read on every forward pass
        self.cells = nn.ModuleDict()
        for node in self.order:
            for branch in self.node_branches[node]:
                c_in = tuple(self.width[i[0]] if i is not None else None for i in self.inputs[node][branch])
                self.cells[f"{node_name(node)}:{branch}"] = Cell(branch, c_in, self.width[node[0]],
                                                                  cell_ops[branch], affine)
        self.head = nn.ModuleList(nn.Conv2d(self.width[1], num_classes, 1) for _ in self.heads)

    def forward(self, x: torch.Tensor, alpha: Mapping[str, Sequence[torch.Tensor]] | None = None,
                beta: Mapping[Node, torch.Tensor] | None = None) -> torch.Tensor | list[torch.Tensor]:
        maps: dict[Node, torch.Tensor] = {STEM: self.stem(x)}
        for node in self.order:
            inputs = self.inputs[node]
            out = None
            branches = self.node_branches[node]
            for k, branch in enumerate(branches):
                s0, s1 = (maps[i] if i is not None else None for i in inputs[branch])
                y = self.cells[f"{node_name(node)}:{branch}"](s0, s1, None if alpha is None else alpha[branch])
                if beta is not None and len(branches) > 1:
                    y = beta[node][k] * y
                out = y if out is None else out + y
            maps[node] = out
        size = x.shape[-2:]
        # 1x1 conv then upsampling: the paper's upsampling then 1x1 conv, in the cheaper order (both linear)
        logits = [F.interpolate(h(maps[n]), size=size, mode="bilinear", align_corners=False)
                  for h, n in zip(self.head, self.heads)]
        return logits if self.training and len(logits) > 1 else logits[-1]


def build_weaved(genotype: WeavedGenotype, in_channels: int, num_classes: int) -> WeavedNet:
    """The discrete network of ``genotype``."""
    genotype.check()
    ops = {b: [[op] for op in genotype.cells[b]] for b in genotype.branches_used()}
    return WeavedNet(genotype.grid, genotype.channels, genotype.doubling, in_channels, num_classes,
                     genotype.deep_supervision, ops, genotype.node_branch(), affine=True, prune=True)


class WeavedSupernet(nn.Module):
    """The continuous relaxation: a :class:`WeavedNet` with every candidate plus ``alpha`` (one
    row per edge of each cell type, over that edge's op set) and ``beta`` (per map, over its branches)."""

    def __init__(self, grid: Grid, channels: int, doubling: bool, in_channels: int, num_classes: int,
                 deep_supervision: int, op_sets: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__()
        self.op_sets = {k: tuple(v) for k, v in (op_sets or OP_SETS).items()}
        branches = {n: tuple(sorted(grid.inputs(n), key=BRANCHES.index)) for n in grid.nodes()}
        ops = {b: [self.op_sets[kind] for _, _, kind in iter_edges(b)] for b in BRANCHES}
        self.net = WeavedNet(grid, channels, doubling, in_channels, num_classes, deep_supervision, ops, branches,
                             affine=False)
        self.grid, self.channels, self.doubling, self.deep_supervision = grid, channels, doubling, deep_supervision
        # DARTS initialises architecture weights at 1e-3 x N(0, 1): near-uniform mixtures
        self.alpha = nn.ParameterDict({
            f"{b}:{e}": nn.Parameter(1e-3 * torch.randn(len(self.op_sets[kind])))
            for b in BRANCHES for e, (_, _, kind) in enumerate(iter_edges(b))})
        self.beta = nn.ParameterDict({node_name(n): nn.Parameter(1e-3 * torch.randn(len(b)))
                                      for n, b in branches.items() if len(b) > 1})
        self.branches = branches

    def arch_parameters(self) -> dict[str, list[nn.Parameter]]:
        return {"alpha": list(self.alpha.values()), "beta": list(self.beta.values())}

    def weight_parameters(self) -> list[nn.Parameter]:
        return list(self.net.parameters())

    def cell_weights(self) -> dict[str, list[torch.Tensor]]:
        """Softmax of each edge's alpha, per branch (Eq. 6)."""
        return {b: [F.softmax(self.alpha[f"{b}:{e}"], 0) for e in range(len(EDGES))] for b in BRANCHES}

    def branch_weights(self) -> dict[Node, torch.Tensor]:
        """Softmax of each map's beta (Eq. 7)."""
        return {n: F.softmax(self.beta[node_name(n)], 0) for n, b in self.branches.items() if len(b) > 1}

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        return self.net(x, self.cell_weights(), self.branch_weights())

    def genotype(self, keep_branches: str = "argmax") -> WeavedGenotype:
        """Discretise: each edge keeps its most probable op; each map its most probable branch
        (``argmax``) or every branch it has (``all``: the network-level weights only reported,
        the paper's Table IV network with all three fusion directions)."""
        if keep_branches not in KEEP_BRANCHES:
            raise ValueError(f"keep_branches: {keep_branches!r} is not one of {KEEP_BRANCHES}")
        with torch.no_grad():
            cells = {b: tuple(self.op_sets[kind][int(self.alpha[f"{b}:{e}"].argmax())]
                              for e, (_, _, kind) in enumerate(iter_edges(b))) for b in BRANCHES}
            nodes = {node_name(n): (b if keep_branches == "all" or len(b) == 1
                                    else (b[int(self.beta[node_name(n)].argmax())],))
                     for n, b in self.branches.items()}
        used = {b for v in nodes.values() for b in v}
        return WeavedGenotype(self.grid.depth, self.grid.layers, self.channels, self.doubling,
                              self.deep_supervision, {b: c for b, c in cells.items() if b in used}, nodes)

    def op_scores(self) -> dict[str, dict[str, float]]:
        """Per op set, each op's mean softmax weight over every edge that offers it: what the
        paper's halving between stages ranks (Algorithm 1, lines 18-20)."""
        sums: dict[str, dict[str, list[float]]] = {k: {o: [] for o in ops} for k, ops in self.op_sets.items()}
        with torch.no_grad():
            for b in BRANCHES:
                for e, (_, _, kind) in enumerate(iter_edges(b)):
                    for o, w in zip(self.op_sets[kind], F.softmax(self.alpha[f"{b}:{e}"], 0).tolist()):
                        sums[kind][o].append(w)
        return {k: {o: sum(v) / len(v) for o, v in ops.items()} for k, ops in sums.items()}


def halve(op_sets: Mapping[str, Sequence[str]], scores: Mapping[str, Mapping[str, float]]) -> dict[str, tuple[str, ...]]:
    """Each op set's better half by score (Algorithm 1, lines 18-20), in the set's own order."""
    out = {}
    for kind, ops in op_sets.items():
        keep = max(1, (len(ops) + 1) // 2)
        best = sorted(ops, key=lambda o: -scores[kind][o])[:keep]
        out[kind] = tuple(o for o in ops if o in best)
    return out
