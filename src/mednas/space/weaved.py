"""MixSearch's weaved encoder-decoder space (seed 001, Sec. III-B/C, Tables I-II, Eqs. 6-7).

A network is a grid of feature maps ``X^{d,l}`` (depth ``d``: resolution 1/2^d; layer ``l``).
``X^{0,0}`` is the stem at full resolution. Every other map is the output of one of three cells
(Eq. 7): a Downsample cell on ``(X^{d,l-2}, X^{d-1,l-1})``, a Normal cell on
``(X^{d,l-4}, X^{d,l-2})`` or an Upsample cell on ``(X^{d,l-2}, X^{d+1,l-1})``. The text gives the
recurrence and the examples ``X^{2,8}``, ``X^{1,5}``, ``X^{1,7}``, ``X^{1,9}`` (Fig. 2 was lost):
from them, ``X^{d,l}`` exists where ``d + l`` is even, ``1 <= d <= D - 1``, ``d <= l`` (reachable from
the stem) and ``d + l <= L`` (it can still reach the last output ``X^{1,L-1}``); for the paper's
``D = 5, L = 8`` and ``D = 6, L = 10`` this is exactly the grid whose deepest map is
``X^{D-1,D-1}``. A branch whose inputs do not exist is absent; a missing second input of a
cell drops the edges from it. The deep-supervision outputs ``X^{0,l}`` come from ``X^{1,l}``
(``l = L-1, L-3, ...``), the last of them is the prediction.

A cell is a DAG of two inputs and ``M = 4`` intermediate maps; its 14 edges (2M + M(M-1)/2)
carry one operation each once discretised. Edges from the shallower input of a Downsample cell
take a down-op, edges from the deeper input of an Upsample cell an up-op, every other edge a
normal op (Table II). The genotype is the op of every edge of each cell type (cells of one
type share it, as DARTS's normal and reduction cells do) and the branch of every map.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mednas.errors import ConfigError

# Table I. "Att" is the attention mechanism of [35]; we read it as squeeze-and-excitation channel
# attention after the operation (the reference list lost its titles).
DOWN_OPS = ("avg_pool", "max_pool", "conv", "atrous_conv", "sep_conv", "att_conv")
UP_OPS = ("conv_t", "atrous_conv_t", "sep_conv_t", "att_conv_t")
NORMAL_OPS = ("identity", "att_identity", "conv", "atrous_conv", "sep_conv", "shuffle_conv")
OP_SETS = {"down": DOWN_OPS, "up": UP_OPS, "normal": NORMAL_OPS}
BRANCHES = ("down", "normal", "up")
STEPS = 4  # intermediate maps per cell (M)

Node = tuple[int, int]
STEM: Node = (0, 0)


def cell_edges(steps: int = STEPS) -> list[tuple[int, int]]:
    """``(source, target)`` of every edge of a cell, in genotype order. Sources: 0 the first
    (horizontal) input, 1 the second, ``2 + i`` intermediate map ``i``; targets ``0..steps-1``."""
    return [(src, j) for j in range(steps) for src in range(2 + j)]


def edge_kind(branch: str, source: int) -> str:
    """Which op set an edge of a ``branch`` cell draws from (Table II)."""
    if source == 1 and branch in ("down", "up"):
        return branch
    return "normal"


@dataclass(frozen=True)
class Grid:
    """The maps of a ``depth`` x ``layers`` weaved network and the inputs of each of their cells."""

    depth: int
    layers: int

    def __post_init__(self) -> None:
        if self.depth < 2:
            raise ConfigError(f"weaved space: depth {self.depth} must be at least 2 (full resolution and one below)")
        if self.layers < 2 or self.layers % 2:
            raise ConfigError(f"weaved space: layers {self.layers} must be an even number >= 2 (the last map is "
                              "X^{1,L-1})")

    def exists(self, node: Node) -> bool:
        d, l = node
        if node == STEM:
            return True
        return 1 <= d <= self.depth - 1 and d <= l and d + l <= self.layers and (d + l) % 2 == 0

    def nodes(self) -> list[Node]:
        """Every map but the stem, in an order that computes each after its inputs."""
        return [(d, l) for l in range(1, self.layers) for d in range(1, self.depth) if self.exists((d, l))]

    def inputs(self, node: Node) -> dict[str, tuple[Node | None, Node | None]]:
        """Branch -> (first input, second input) of ``node``'s cells; ``None`` where an input is missing."""
        d, l = node
        have = lambda n: n if self.exists(n) and n[1] >= 0 else None  # noqa: E731
        out: dict[str, tuple[Node | None, Node | None]] = {}
        if have((d - 1, l - 1)):
            out["down"] = (have((d, l - 2)), (d - 1, l - 1))
        if have((d, l - 2)):
            out["normal"] = ((d, l - 2), have((d, l - 4)))
        if have((d + 1, l - 1)):
            out["up"] = (have((d, l - 2)), (d + 1, l - 1))
        return out

    def outputs(self, count: int) -> list[Node]:
        """The maps the ``count`` deep-supervision heads read, the prediction's last."""
        heads = [(1, l) for l in range(self.layers - 1, 0, -2)][:max(1, count)]
        return heads[::-1]

    def needed(self, node_branches: Mapping[Node, Sequence[str]], outputs: Sequence[Node]) -> list[Node]:
        """The maps the outputs depend on once each map keeps ``node_branches[map]``, in compute order."""
        need: set[Node] = set()
        stack = list(outputs)
        while stack:
            n = stack.pop()
            if n in need or n == STEM:
                continue
            need.add(n)
            ins = self.inputs(n)
            stack.extend(i for b in node_branches[n] for i in ins[b] if i is not None)
        return [n for n in self.nodes() if n in need]


def node_name(node: Node) -> str:
    return f"{node[0]},{node[1]}"


def parse_node(name: str) -> Node:
    try:
        d, l = (int(v) for v in str(name).split(","))
    except ValueError as err:
        raise ConfigError(f"weaved genotype: map name {name!r} is not 'depth,layer'") from err
    return d, l


@dataclass(frozen=True)
class WeavedGenotype:
    """A discrete weaved network: grid, widths, each cell type's edge ops and the branches each
    map keeps (one after argmax pruning; several are summed, as Eq. 7 without the weights)."""

    depth: int
    layers: int
    channels: int
    doubling: bool
    deep_supervision: int
    cells: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    nodes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def grid(self) -> Grid:
        return Grid(self.depth, self.layers)

    def node_branch(self) -> dict[Node, tuple[str, ...]]:
        return {parse_node(k): tuple(v) for k, v in self.nodes.items()}

    def branches_used(self) -> set[str]:
        return {b for v in self.nodes.values() for b in v}

    def to_dict(self) -> dict[str, Any]:
        return {"depth": self.depth, "layers": self.layers, "channels": self.channels, "doubling": self.doubling,
                "deep_supervision": self.deep_supervision, "cells": {k: list(v) for k, v in self.cells.items()},
                "nodes": {k: list(v) for k, v in self.nodes.items()}}

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WeavedGenotype:
        """Read and check a genotype (a file written by the search, or a hand-made one)."""
        need = {"depth", "layers", "channels", "doubling", "deep_supervision", "cells", "nodes"}
        missing = sorted(need - set(d))
        if missing:
            raise ConfigError(f"weaved genotype: missing key(s) {missing}")
        g = cls(int(d["depth"]), int(d["layers"]), int(d["channels"]), bool(d["doubling"]),
                int(d["deep_supervision"]), {k: tuple(v) for k, v in d["cells"].items()},
                {str(k): (str(v),) if isinstance(v, str) else tuple(str(b) for b in v) for k, v in d["nodes"].items()})
        g.check()
        return g

    def check(self) -> None:
        """Every map has a branch it can have; every edge of every used cell type a valid op."""
        grid = self.grid
        if self.channels < 1 or self.deep_supervision < 1:
            raise ConfigError("weaved genotype: channels and deep_supervision must be >= 1")
        names = {node_name(n) for n in grid.nodes()}
        if set(self.nodes) != names:
            raise ConfigError(f"weaved genotype: maps {sorted(self.nodes)} are not the grid's {sorted(names)} "
                              f"(depth {self.depth}, layers {self.layers})")
        for name, branches in self.nodes.items():
            allowed = grid.inputs(parse_node(name))
            if not branches:
                raise ConfigError(f"weaved genotype: map {name} keeps no branch")
            for branch in branches:
                if branch not in allowed:
                    raise ConfigError(f"weaved genotype: map {name} has no {branch!r} branch (it can take "
                                      f"{sorted(allowed)})")
        edges = cell_edges()
        for branch in self.branches_used():
            ops = self.cells.get(branch)
            if ops is None or len(ops) != len(edges):
                raise ConfigError(f"weaved genotype: cell {branch!r} needs {len(edges)} edge ops, got "
                                  f"{None if ops is None else len(ops)}")
            for (src, _), op in zip(edges, ops):
                allowed_ops = OP_SETS[edge_kind(branch, src)]
                if op not in allowed_ops:
                    raise ConfigError(f"weaved genotype: cell {branch!r}: op {op!r} is not one of {allowed_ops}")


def sample_genotype(rng: random.Random, depth: int, layers: int, channels: int, doubling: bool = True,
                    deep_supervision: int = 1, op_sets: Mapping[str, Sequence[str]] | None = None) -> WeavedGenotype:
    """A random genotype (uniform ops and branches): tests, and random-architecture baselines."""
    sets = {k: tuple(v) for k, v in (op_sets or OP_SETS).items()}
    grid = Grid(depth, layers)
    cells = {b: tuple(rng.choice(sets[edge_kind(b, src)]) for src, _ in cell_edges()) for b in BRANCHES}
    nodes = {node_name(n): (rng.choice(sorted(grid.inputs(n))),) for n in grid.nodes()}
    return WeavedGenotype(depth, layers, channels, doubling, deep_supervision, cells, nodes)


def iter_edges(branch: str) -> Iterator[tuple[int, int, str]]:
    """``(source, target, op set)`` of a ``branch`` cell's edges."""
    for src, dst in cell_edges():
        yield src, dst, edge_kind(branch, src)
