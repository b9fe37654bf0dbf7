"""MixSearch's tables (seed 001): Table III (models retrained and tested on the search's own
domains) and Table VI (on domains no search saw), measured rows first, the paper's beside them.

Both tables are long: one row per model and target domain, so that measured and paper rows
share columns although their domains differ (the paper's ISIC / CVC / CHAOS-CT and ETIS / LiTS /
KiTS are not available offline; ours are Kvasir-SEG, CVC-ClinicDB and PH2). A measured row is the
mean over the model's replicates (config key ``seeds``): ``dice_sd_pct`` is the SD over test cases
(averaged over replicates), ``dice_sd_seeds_pct`` the sample SD over replicates.
"""

from __future__ import annotations

import csv
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mednas.errors import ConfigError, DataError
from mednas.models.registry import BASELINES

COLUMNS = ("rows", "method", "model", "search_data", "k", "mu", "dc", "ds", "target", "dice_pct", "jaccard_pct",
           "dice_sd_pct", "dice_sd_seeds_pct", "seeds", "dice_per_seed", "cases", "params_m", "gflops_at_size",
           "image_size", "search_minutes", "device", "reference")


def method_of(search: Mapping[str, Any]) -> str:
    """The paper's name for a search setting: MixSearch (k > 1), UnionSearch (several domains
    as they are), DedicatedSearch (one domain as it is)."""
    if int(search.get("k", 1)) > 1:
        return f"MixSearch (k={int(search['k'])})"
    return "UnionSearch" if len(search["sources"]) > 1 else "DedicatedSearch"


def measured_rows(summaries: Mapping[tuple[str, str], Mapping[int, Mapping[str, Any]]],
                  searches: Mapping[str, Mapping[str, Any]], costs: Mapping[str, Mapping[int, Mapping[str, Any]]],
                  domain_names: Mapping[str, str]) -> list[dict[str, Any]]:
    """One row per (model, target) of ``summaries`` (keyed by model and domain, then by replicate
    seed), the mean over replicates: baselines by their display name, searched models by their
    search setting (``dc`` / ``ds`` of the first replicate's genotype; ``search_minutes`` the mean
    per search of ``costs[model][seed]``)."""
    rows = []
    for (model, domain), by_seed in summaries.items():
        if not by_seed:
            raise DataError(f"{model} on {domain}: no replicate")
        seeds = sorted(by_seed)
        runs = [by_seed[k] for k in seeds]
        first = runs[0]
        if model in searches:
            search = searches[model]
            geno = first["spec"]["genotype"]
            missing = [k for k in seeds if k not in costs.get(model, {})]
            if missing:
                raise DataError(f"{model}: no search cost for replicate(s) {missing}")
            row = {"method": method_of(search), "search_data": "+".join(domain_names[d] for d in search["sources"]),
                   "k": int(search.get("k", 1)), "mu": search.get("mu", "") if int(search.get("k", 1)) > 1 else "",
                   "dc": "yes" if geno["doubling"] else "no", "ds": "yes" if geno["deep_supervision"] > 1 else "no",
                   "search_minutes": round(statistics.fmean(costs[model][k]["search_seconds"] for k in seeds) / 60, 2)}
        else:
            row = {"method": BASELINES[model][0] if model in BASELINES else model, "search_data": "", "k": "",
                   "mu": "", "dc": "yes", "ds": "no", "search_minutes": ""}
        dice = [100 * r["dice"] for r in runs]
        rows.append({"rows": "measured", "model": model, **row, "target": domain_names[domain],
                     "dice_pct": round(statistics.fmean(dice), 2),
                     "jaccard_pct": round(statistics.fmean(100 * r["jaccard"] for r in runs), 2),
                     "dice_sd_pct": round(statistics.fmean(100 * r["dice_std"] for r in runs), 2),
                     "dice_sd_seeds_pct": round(statistics.stdev(dice), 2) if len(dice) > 1 else "",
                     "seeds": " ".join(map(str, seeds)), "dice_per_seed": " ".join(f"{d:.2f}" for d in dice),
                     "cases": first["cases"],
                     "params_m": round(statistics.fmean(r["params"] for r in runs) / 1e6, 4),
                     "gflops_at_size": round(statistics.fmean(r["gflops"] for r in runs), 4),
                     "image_size": first["image_size"], "device": first["device"], "reference": "this pipeline"})
    return rows


def paper_rows(path: str | Path) -> list[dict[str, Any]]:
    """The paper's rows (config/paper/mixsearch_table*.csv), each marked ``rows=paper``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"paper table {path} not found")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    need = {"rows", "method", "target", "dice_pct", "jaccard_pct", "params_m"}
    if not rows or not need <= set(rows[0]):
        raise DataError(f"{path}: needs columns {sorted(need)}")
    bad = [r for r in rows if r["rows"] != "paper"]
    if bad:
        raise DataError(f"{path}: every row must be marked rows=paper ({len(bad)} are not)")
    return rows


def write_table(path: str | Path, measured: Sequence[Mapping[str, Any]], paper: Sequence[Mapping[str, Any]]) -> None:
    """Measured rows, then the paper's, in :data:`COLUMNS` (a column a row lacks stays empty)."""
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="raise")
        writer.writeheader()
        for r in [*measured, *paper]:
            writer.writerow({c: r.get(c, "") for c in COLUMNS})


def plot_dice(path: str | Path, rows: Sequence[Mapping[str, Any]], title: str) -> None:
    """Grouped bars: test Dice of every measured model per target domain."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    targets = list(dict.fromkeys(r["target"] for r in rows))
    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, ax = plt.subplots(figsize=(3.2 + 1.1 * len(targets) * max(1, len(models)) / 3, 3.6))
    width = 0.8 / max(1, len(models))
    for i, m in enumerate(models):
        vals = [next((r["dice_pct"] for r in rows if r["model"] == m and r["target"] == t), float("nan"))
                for t in targets]
        ax.bar([j + i * width for j in range(len(targets))], vals, width, label=m)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(targets))], targets)
    ax.set_ylabel("test Dice (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_beta(path: str | Path, betas: Mapping[str, Mapping[str, Mapping[str, float]]],
              genotypes: Mapping[str, Mapping[str, Any]]) -> None:
    """The network-level weights of every search (the paper's Fig. 7): each map of the last
    stage's grid at (layer, depth), its colour mixing red (down), green (normal) and blue (up) by
    softmax(beta), its letters the branches the discrete network keeps; maps the discrete network
    prunes (no head needs them) are drawn faded."""
    from mednas.space.weaved import Grid, node_name
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(betas)
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.0), squeeze=False)
    for ax, name in zip(axes[0], names):
        geno = genotypes[name]
        grid = Grid(int(geno["depth"]), int(geno["layers"]))
        chosen = {tuple(int(v) for v in k.split(",")): [b] if isinstance(b, str) else b
                  for k, b in geno["nodes"].items()}
        used = {node_name(n) for n in grid.needed(chosen, grid.outputs(int(geno["deep_supervision"])))}
        for node, kept in geno["nodes"].items():
            d, l = (int(v) for v in node.split(","))
            kept = [kept] if isinstance(kept, str) else kept
            p = betas[name].get(node, {kept[0]: 1.0})
            colour = (p.get("down", 0.0), p.get("normal", 0.0), p.get("up", 0.0))
            ax.scatter([l], [-d], s=260, color=colour, edgecolors="black", linewidths=0.5,
                       alpha=1.0 if node in used else 0.25)
            ax.annotate("".join(b[0].upper() for b in kept), (l, -d), ha="center", va="center", fontsize=7,
                        color="white")
        ax.scatter([0], [0], s=260, color="grey", edgecolors="black", linewidths=0.5)
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("layer l")
        ax.set_ylabel("depth d")
        ax.set_xticks(range(0, int(geno["layers"])))
        ax.set_yticks([-d for d in range(int(geno["depth"]))], [str(d) for d in range(int(geno["depth"]))])
    fig.suptitle("softmax(beta) per map (red: down, green: normal, blue: up; grey: near uniform); letters: the "
                 "branches kept; faded: pruned", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
