"""The paper's figures from this run's files: Pareto front, design-factor correlations, curves, overlays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mednas.search.pareto import non_dominated

ARCHIVE_METRICS = ("dice_mean", "hd95_mean", "params", "flops", "latency_ms")
# The first column after the genes in archive.csv (mednas.search.pool.archive_columns): an evaluator's
# metric (per-structure Dice / HD95, or a zero-cost indicator) or, where it has none, a cost.
METRIC_PREFIXES = ("dice_", "hd95_")
# Overlay colours of labels 1, 2, 3, ... (RGB, named for the legend); more labels cycle.
PALETTE = (("red", (0.90, 0.20, 0.20)), ("green", (0.20, 0.80, 0.20)), ("blue", (0.25, 0.45, 1.00)),
           ("yellow", (0.95, 0.85, 0.10)), ("magenta", (0.85, 0.25, 0.85)), ("cyan", (0.10, 0.85, 0.85)),
           ("orange", (1.00, 0.55, 0.10)), ("purple", (0.50, 0.25, 0.75)))


def label_colour(value: int) -> tuple[str, tuple[float, float, float]]:
    """Name and RGB of label ``value``'s overlay colour (value >= 1)."""
    return PALETTE[(value - 1) % len(PALETTE)]


def dice_label(structures: Sequence[str]) -> str:
    """Axis label of a mean validation Dice over a data set's structures."""
    if len(structures) == 1:
        return f"validation Dice ({structures[0]})"
    return f"validation Dice (mean of {', '.join(structures)})"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def pareto_mask(cost: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Points not dominated when lower cost and higher quality are better."""
    keep = np.zeros(len(cost), dtype=bool)
    keep[non_dominated(np.column_stack([cost, -np.asarray(quality, float)]))] = True
    return keep


def plot_pareto(path: str | Path, archives: Mapping[str, pd.DataFrame], models: Mapping[str, Mapping[str, Any]],
                distance_unit: str, structures: Sequence[str]) -> None:
    """Validation Dice against GFLOPs: every candidate of each search, its front, and the retrained models."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for i, (strategy, df) in enumerate(archives.items()):
        colour = f"C{i}"
        df = df[df["dice_mean"].notna()]  # candidates over a budget that were not evaluated
        g, d = df["flops"].to_numpy() / 1e9, df["dice_mean"].to_numpy()
        ax.scatter(g, d, s=10, alpha=0.35, color=colour, label=f"{strategy}: candidates (search scores)")
        m = pareto_mask(g, d)
        order = np.argsort(g[m])
        ax.step(g[m][order], d[m][order], where="post", color=colour, lw=1.2,
                label=f"{strategy}: front in Dice and GFLOPs")
    for name, s in models.items():
        marker = "*" if name.startswith("nas-") else "s"
        ax.scatter([s["gflops"]], [s["final_val"]["dice_mean"]], marker=marker, s=150 if marker == "*" else 70,
                   edgecolor="k", color="gold" if marker == "*" else "lightgrey", zorder=5)
        ax.annotate(name, (s["gflops"], s["final_val"]["dice_mean"]), textcoords="offset points", xytext=(6, 4),
                    fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("GFLOPs per image (2 x MACs, configured input size)")
    ax.set_ylabel(dice_label(structures))
    ax.set_title("Search archive and fronts; retrained models (star: searched, square: baseline)", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)


def gene_columns(archive: pd.DataFrame) -> list[str]:
    """The space's genes in an archive: the columns between ``key`` and the evaluator's first metric
    (any space's archive is laid out so, see ``archive_columns``)."""
    from mednas.evaluate.zerocost import INDICATORS
    from mednas.search.pool import COST_METRICS

    cols = list(archive.columns)
    genes = []
    for c in cols[cols.index("key") + 1:]:
        if c.startswith(METRIC_PREFIXES) or c in INDICATORS or c in COST_METRICS:
            break
        genes.append(c)
    return genes


def design_factor_table(archive: pd.DataFrame) -> pd.DataFrame:
    """Genes (numeric as they are, categorical one-hot) and metrics of every distinct candidate."""
    df = archive.drop_duplicates("key")
    genes = gene_columns(df)
    numeric = [g for g in genes if pd.api.types.is_numeric_dtype(df[g])]
    cols = {g: df[g].astype(float) for g in numeric}
    for gene in (g for g in genes if g not in numeric):
        for value in sorted(df[gene].astype(str).unique()):
            cols[f"{gene}={value}"] = (df[gene].astype(str) == value).astype(float)
    for metric in ARCHIVE_METRICS:
        if metric in df:
            cols[metric] = df[metric].astype(float)
    return pd.DataFrame(cols)


def design_factor_correlation(archive: pd.DataFrame) -> pd.DataFrame:
    """Spearman correlation of design factors and metrics over the archive (constant columns dropped)."""
    table = design_factor_table(archive)
    table = table.loc[:, table.nunique() > 1]
    return table.corr(method="spearman")


def plot_correlation(path: str | Path, corr: pd.DataFrame, candidates: int) -> None:
    """Heatmap of :func:`design_factor_correlation`, values written in the cells."""
    plt = _plt()
    n = len(corr)
    fig, ax = plt.subplots(figsize=(0.45 * n + 3, 0.45 * n + 2))
    im = ax.imshow(corr.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(n), corr.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(n), corr.index, fontsize=7)
    for i in range(n):
        for j in range(n):
            v = corr.iat[i, j]
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=5)
    fig.colorbar(im, ax=ax, shrink=0.7, label="Spearman rho")
    ax.set_title(f"Design factors and metrics over {candidates} searched candidates", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)


def plot_curves(path: str | Path, curves: Mapping[str, pd.DataFrame], distance_unit: str,
                structures: Sequence[str]) -> None:
    """Validation Dice and HD95 per retraining epoch, one line per model."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, df in curves.items():
        style = "-" if name.startswith("nas-") else "--"
        axes[0].plot(df["epoch"], df["val_dice_mean"], style, marker="o", ms=3, label=name)
        axes[1].plot(df["epoch"], df["val_hd95_mean"], style, marker="o", ms=3, label=name)
    axes[0].set_ylabel(dice_label(structures))
    axes[1].set_ylabel(f"validation HD95 ({distance_unit})")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)


def overlay_slices(label: np.ndarray, patients: Sequence[str], count: int) -> list[int]:
    """Indices of ``count`` test slices to show: in each of the first patients, its most labelled slice."""
    chosen, seen = [], []
    for p in patients:
        if p not in seen:
            seen.append(p)
    for p in seen[:count]:
        rows = np.flatnonzero(np.asarray(patients) == p)
        chosen.append(int(rows[np.argmax((label[rows] > 0).reshape(len(rows), -1).sum(1))]))
    return chosen


def _overlay(image: np.ndarray, label: np.ndarray) -> np.ndarray:
    """``image`` (C, H, W) as RGB (three channels) or grey (the first), ``label`` blended over it."""
    channels = image if image.shape[0] == 3 else image[:1]
    lo, hi = np.percentile(channels, (1, 99))
    scaled = np.clip((channels - lo) / max(hi - lo, 1e-6), 0, 1)
    rgb = np.moveaxis(scaled, 0, -1) if scaled.shape[0] == 3 else np.repeat(scaled[0][..., None], 3, axis=-1)
    for value in range(1, int(label.max()) + 1):
        mask = label == value
        colour = label_colour(value)[1]
        rgb[mask] = 0.5 * rgb[mask] + 0.5 * np.asarray(colour)
    return rgb


def plot_overlays(path: str | Path, images: np.ndarray, labels: np.ndarray, predictions: Mapping[str, np.ndarray],
                  titles: Sequence[str], structures: Mapping[int, str]) -> None:
    """Rows: test slices (``images`` (N, C, H, W): one channel in grey, three as RGB); columns: the
    reference labels, then each model's prediction, coloured by label value."""
    plt = _plt()
    cols = ["reference", *predictions]
    fig, axes = plt.subplots(len(images), len(cols), figsize=(2.2 * len(cols), 2.3 * len(images)), squeeze=False)
    for i in range(len(images)):
        for j, name in enumerate(cols):
            lab = labels[i] if name == "reference" else predictions[name][i]
            axes[i, j].imshow(_overlay(images[i], lab))
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
            if i == 0:
                axes[i, j].set_title(name, fontsize=8)
        axes[i, 0].set_ylabel(titles[i], fontsize=7)
    legend = ", ".join(f"{n}: {label_colour(k)[0]}" for k, n in structures.items())
    fig.suptitle(f"Test slices ({legend})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)


def plot_subsets(path: str | Path, tables: Mapping[str, Sequence[Mapping[str, Any]]], key: str,
                 paper: Sequence[Mapping[str, Any]], title: str) -> None:
    """An ablation over subsets (Tables IX, X): per data set, each row's test ACC and AUC (mean over
    seeds, error bar one SD where there are several seeds); the paper's 12-subset averages as grey
    dashed lines."""
    plt = _plt()
    measured = {next(r["dataset"] for r in rows if r["source"] == "measured"):
                [r for r in rows if r["source"] == "measured"] for rows in tables.values()}
    datasets = list(measured)
    names = [r[key] for r in next(iter(measured.values()))]
    fig, axes = plt.subplots(1, 2, figsize=(4 + 1.6 * len(datasets) * max(1, len(names)) / 3, 4), sharex=True)
    width = 0.8 / max(1, len(names))
    x = np.arange(len(datasets))
    for ax, metric in zip(axes, ("acc", "auc")):
        for i, name in enumerate(names):
            rows = [next(r for r in measured[d] if r[key] == name) for d in datasets]
            mean = [float(r[metric]) for r in rows]
            # one seed has no SD: NaN draws no error bar (a 0 would draw one)
            sd = [float(r[f"{metric}_sd"]) if r.get(f"{metric}_sd") not in (None, "") else np.nan for r in rows]
            ax.bar(x + (i - (len(names) - 1) / 2) * width, mean, width, yerr=sd, capsize=3, color=f"C{i}", label=name)
        dashes = [(5, 2), (1, 1), (3, 1, 1, 1), (6, 1, 1, 1, 1, 1), (2, 2)]
        for j, r in enumerate(paper):  # the paper names its rows its own way: grey lines, told apart by dashes
            ax.axhline(float(r[metric]), color="grey", lw=0.9, dashes=dashes[j % len(dashes)],
                       label=f"paper, 12-subset mean: {r[key]}")
        ax.set_xticks(x, datasets, fontsize=8)
        ax.set_ylabel(f"test {metric.upper()}")
        ax.set_ylim(0, 1)
    axes[0].legend(fontsize=6, loc="lower left")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)
