"""Pipeline stage of the search package: config sections and files in, search artifacts out."""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any


from mednas.atomic import atomic_outputs
from mednas.cost.candidate import CandidateCost, requested
from mednas.cost.latency import device_name, has_latency_table
from mednas.csvio import write_rows
from mednas.data.slices import SliceSet, load_slices
from mednas.errors import ConfigError
from mednas.metrics.segmentation import volume_diagonal
from mednas.models.registry import build_model, check_network_task, searched_spec
from mednas.provenance import sha256_file
from mednas.search.archive import ArchiveLog
from mednas.search.choose import check_rule, choose, ranking_warning
from mednas.search.objectives import Objectives
from mednas.search.pool import CandidatePool, archive_columns
from mednas.search.rerank import check_rerank, rerank_plan, rerank_rungs, rung_phase, search_records
from mednas.search.strategies import STRATEGIES, StrategySettings, run_strategy
from mednas.space.base import make_space
from mednas.train.loop import TrainSettings
from mednas.train.stages import fingerprint
from mednas.models.supernets import has_supernet, supernet_spaces

log = logging.getLogger("mednas")

EVALUATORS = ("inherit", "proxy", "zerocost")
# random genotypes whose costs bound a segmentation space's cost objectives (each is one build and one
# counted forward pass at the data's size, about 0.1-0.5 s on a CPU at 160 px)
SEGMENTATION_SCALE_SAMPLES = 50


def proxy_evaluator(train_cfg: Mapping, epochs: int, steps_per_epoch: int | None, image_size: int | None,
                    build: Callable[[Any], Any], train: SliceSet, val: SliceSet, device: str, seed: int, what: str):
    """Stand-alone training of each candidate's network ``build(genotype)`` for ``epochs`` x
    ``steps_per_epoch`` steps with the ``train`` settings, scored on validation; on ``image_size``
    copies of the slices if given."""
    from mednas.evaluate.proxy import ProxyEvaluator

    settings = TrainSettings.from_config(train_cfg, epochs=int(epochs), steps_per_epoch=steps_per_epoch)
    if image_size is not None:
        log.info("%s: candidates trained and scored on %d px copies of the %d px slices", what, int(image_size),
                 train.image.shape[-1])
        train, val = train.resized(int(image_size)), val.resized(int(image_size))
    return ProxyEvaluator(build, train, val, settings, device, seed)


def make_evaluator(kind: str, search_cfg: Mapping, train_cfg: Mapping, supernet_cfg: Mapping,
                   build: Callable[[Any], Any], train: SliceSet, val: SliceSet, supernet: str | None, device: str,
                   seed: int):
    """The candidate evaluator named by ``search.evaluator``; ``build(genotype)`` is a candidate's network
    (the inherit evaluator takes it from the supernet instead)."""
    if kind == "inherit":
        from mednas.evaluate.inherit import InheritEvaluator

        if not supernet:
            raise ConfigError("search.evaluator inherit needs the trained supernet (supernet.pt)")
        return InheritEvaluator(supernet, train, val, device, int(train_cfg.get("batch_size", 16)),
                                int(train_cfg.get("val_batch_size", 32)), int(supernet_cfg["bn_recal_batches"]), seed)
    if kind == "proxy":
        proxy = search_cfg.get("proxy") or {}
        return proxy_evaluator(train_cfg, int(proxy.get("epochs", 2)), proxy.get("steps_per_epoch"),
                               proxy.get("image_size"), build, train, val, device, seed, "proxy")
    if kind == "zerocost":
        from mednas.evaluate.zerocost import ZeroCostEvaluator, check_indicators

        zc = search_cfg.get("zerocost") or {}
        check_indicators(zc.get("indicators", ("jacob_cov", "synflow")))
        return ZeroCostEvaluator(build, train, int(zc.get("batch_size", 8)), device, seed)
    raise ConfigError(f"search.evaluator: unknown '{kind}'; choose from {list(EVALUATORS)}")


def check_segmentation_search(space_cfg: Mapping, search_cfg: Mapping):
    """Before any job: the space builds segmentation networks, and what the search asks of it (a
    supernet for the inherit evaluator, latency for an objective, a budget or the surrogate's
    spread) it has. Errors name the config key and the space. Returns the space."""
    from mednas.space.base import SegmentationSpace

    space = make_space(space_cfg)
    check_network_task(space.name, "segmentation")
    if not isinstance(space, SegmentationSpace):
        raise ConfigError(f"space.name: space '{space.name}' has no largest() genotype, which a segmentation search "
                          "needs (mednas.space.base.SegmentationSpace)")
    if not has_supernet(space) and search_cfg.get("evaluator", "inherit") == "inherit":
        raise ConfigError(f"search.evaluator: inherit needs a weight-sharing supernet, which space '{space.name}' "
                          f"has not (spaces with one: {supernet_spaces()}); it takes proxy or zerocost")
    if not has_latency_table(space):
        budgets = search_cfg.get("budgets") or {}
        spread = (search_cfg.get("surrogate") or {}).get("spread")
        asked = (["search.objectives"] if "latency" in (search_cfg.get("objectives") or ()) else []) + \
                (["search.budgets.latency_ms"] if budgets.get("latency_ms") is not None else []) + \
                (["search.surrogate.spread"] if spread == "latency_ms" else [])
        if asked:
            raise ConfigError(f"{' and '.join(asked)}: latency needs the latency look-up table, which only the cardiac "
                              f"space has; space '{space.name}' is searched on dice, hd95, params and flops")
    return space


def hd95_scale(val: SliceSet) -> float:
    """HD95's worst case: the largest validation volume's diagonal."""
    return max(volume_diagonal((rows.stop - rows.start, *val.label.shape[1:]), spacing)
               for _, rows, spacing in val.volumes())


def run_search(strategy: str, search_cfg: Mapping, space_cfg: Mapping, arch_cfg: Mapping, train_cfg: Mapping,
               supernet_cfg: Mapping, seed: int, device: str, train_path: str, val_path: str, lut_path: str | None,
               supernet_path: str | None, work_dir: str, outputs: Mapping[str, str]) -> dict[str, Any]:
    """Search with ``strategy``; write archive, pareto, hypervolume, chosen and cost files together.

    ``lut_path`` is the latency table of a space that has one (the cardiac space), else None.

    ``outputs`` maps archive, pareto, hypervolume, chosen, cost to paths. The live archive log
    lives in ``work_dir`` until every output is written, so a killed run resumes from it.
    """
    t0 = time.perf_counter()
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown search strategy '{strategy}'; choose from {sorted(STRATEGIES)}")
    kind = search_cfg.get("evaluator", "inherit")
    rule = check_rule(search_cfg.get("choose", "knee"), kind)
    settings = StrategySettings.from_config({**search_cfg, "seed": int(search_cfg.get("seed", seed))})
    rungs = rerank_plan(search_cfg.get("rerank"))
    check_rerank(rungs, kind, rule)
    space = check_segmentation_search(space_cfg, search_cfg)
    train, val = load_slices(train_path), load_slices(val_path)
    in_ch, n_cls = train.labels.in_channels, train.labels.num_classes
    image_size = int(train.image.shape[-1])
    dev_name = device_name(device)

    def spec_of(g) -> dict[str, Any]:
        return searched_spec(space, g, in_ch, n_cls, image_size, arch_cfg)

    def build(g):
        return build_model(spec_of(g))

    if has_latency_table(space):
        if lut_path is None:
            raise ConfigError(f"search: space '{space.name}' is costed by the latency look-up table; no lut.csv given")
        cost = CandidateCost.from_files(arch_cfg, in_ch, n_cls, image_size, lut_path, dev_name)
        cost_bounds = cost.scales(space)
    else:
        cost = NetworkCost(spec_of, in_ch, image_size)
        cost_bounds = cost_scales(space, cost, seed, SEGMENTATION_SCALE_SAMPLES, include=[space.largest()])
    objectives = Objectives.from_config(search_cfg, {**cost_bounds, "hd95_mean": hd95_scale(val)})
    evaluator = make_evaluator(kind, search_cfg, train_cfg, supernet_cfg, build, train, val,
                               supernet_path if kind == "inherit" else None, device, seed)
    inputs = [train_path, val_path] + ([lut_path] if lut_path else []) + ([supernet_path] if kind == "inherit" else [])
    # the fixed network settings (arch) and the supernet built with them matter to a space whose specs
    # read them (the cardiac one); other spaces' archives do not depend on them (recorded empty)
    uses_arch = "arch" in spec_of(space.largest())
    fp = fingerprint(strategy, dict(search_cfg), dict(space_cfg), dict(arch_cfg) if uses_arch else {},
                     dict(train_cfg), dict(supernet_cfg) if uses_arch else {}, seed, dev_name,
                     [sha256_file(p) for p in inputs])
    archive = ArchiveLog(Path(work_dir) / "archive.csv",
                         archive_columns(space.gene_names, evaluator.metrics, cost.columns), fp)
    pool = CandidatePool(space, evaluator, cost, objectives, archive,
                         settings.budget, skip_over_budget=bool(search_cfg.get("skip_over_budget", False)))
    log.info("search %s: evaluator %s, objectives %s, budgets %s, %d candidates (%d x %d) on %s", strategy, kind,
             list(objectives.names), dict(objectives.budgets), settings.budget, settings.population,
             settings.generations, dev_name)
    info = run_strategy(strategy, pool, settings)
    rerank_seconds = 0.0
    phases = [rung_phase(i, len(rungs)) for i in range(len(rungs))]
    rung_evaluators, rung_records = [], []
    if rungs:
        t_rerank = time.perf_counter()
        rung_evaluators = [proxy_evaluator(train_cfg, r.epochs, r.steps_per_epoch, r.image_size, build, train, val,
                                           device, seed, phase) for r, phase in zip(rungs, phases)]
        rung_records = rerank_rungs(pool, list(zip(rungs, rung_evaluators)), settings.generations)
        rerank_seconds = time.perf_counter() - t_rerank
    chosen = choose(pool, rule)
    if rungs and not rung_records[-1]:  # nothing within the budgets scored: choose fell back on search Dice; say so
        chosen["rerank_warning"] = "search.rerank trained no finalist on its last rung; the pick is by search Dice"
        log.warning("search %s: %s", strategy, chosen["rerank_warning"])
    records = search_records(pool.records())
    front, F = pool.front(records)
    pareto = [{**r, **dict(zip(objectives.labels, map(float, row)))} for r, row in zip(front, F)]
    wall = time.perf_counter() - t0
    # From the supernet's metadata (checked by the inherit evaluator): its training time, and the
    # input size candidates are scored at (smaller under supernet.image_size); costs (params,
    # FLOPs, latency) are at the data's size, the one the chosen network is deployed at.
    meta = evaluator.meta if kind == "inherit" else {}
    cost = search_cost(pool, kind, strategy, device, dev_name, wall, float(meta.get("train_seconds", 0.0)),
                       str(meta.get("device", device)))
    proxy_size = (search_cfg.get("proxy") or {}).get("image_size") if kind == "proxy" else None
    cost["score_image_size"] = int(meta.get("image_size", proxy_size or image_size))
    cost["skipped_over_budget"] = pool.skipped  # candidates over a budget, costed but not evaluated
    cost["cost_image_size"] = image_size
    if rungs:  # included in search_seconds; the time of re-ranked records replayed is not
        per_rung = [{"phase": ph, "top": r.top, "steps": ev.settings.total_steps(len(ev.train)),
                     "image_size": int(ev.train.image.shape[-1]), "trained": len(done),
                     "evaluation_seconds": round(sum(x["eval_seconds"] for x in done), 3)}
                    for ph, r, ev, done in zip(phases, rungs, rung_evaluators, rung_records)]
        cost["rerank"] = {"top": rungs[-1].top, "finalists": len(chosen.get("rerank", {}).get("finalists", [])),
                          "seconds_this_run": round(rerank_seconds, 3),
                          "evaluation_seconds": round(sum(x["evaluation_seconds"] for x in per_rung), 3),
                          "rungs": per_rung}
    if "final_val_dice" in meta:
        warning = ranking_warning(float(chosen["record"]["dice_mean"]), float(meta["final_val_dice"]))
        if warning:
            log.warning("search %s: %s", strategy, warning)
            chosen["warning"] = warning
    elif kind == "inherit":
        log.info("search %s: %s predates the ranking check (no final_val_dice in its metadata)", strategy,
                 supernet_path)
    # the network to retrain, data channels and classes included: the retrain rule needs no space
    chosen["spec"] = spec_of(space.from_dict(chosen["genotype"]))
    chosen |= {"strategy": strategy, "evaluator": kind, "objectives_used": list(objectives.names),
               "budgets": dict(objectives.budgets), "strategy_info": info, "scales": objectives.scales}
    write_search_outputs(outputs, pool, archive, pareto, chosen, cost, work_dir)
    log.info("search %s done: %d candidates (%d evaluated now, %d from an earlier run), front %d, chosen %s, "
             "%.0f s", strategy, len(records), pool.computed, pool.replayed, len(front), chosen["key"], wall)
    return {"chosen": chosen, "cost": cost}


def write_search_outputs(outputs: Mapping[str, str], pool: CandidatePool, archive: ArchiveLog,
                         pareto: list[dict[str, Any]], chosen: Mapping[str, Any], cost: Mapping[str, Any],
                         work_dir: str) -> None:
    """Archive, pareto, hypervolume, chosen and cost files together (atomically), then drop the live log."""
    paths = [outputs[k] for k in ("archive", "pareto", "hypervolume", "chosen", "cost")]
    with atomic_outputs(paths) as (t_archive, t_pareto, t_hv, t_chosen, t_cost):
        write_rows(t_archive, pool.records(), archive.columns)
        write_rows(t_pareto, pareto, [*archive.columns, *pool.objectives.labels])
        write_rows(t_hv, pool.history, ["generation", "candidates", "front_size", "hypervolume"])
        t_chosen.write_text(json.dumps(chosen, indent=1) + "\n")
        t_cost.write_text(json.dumps(cost, indent=1) + "\n")
    shutil.rmtree(work_dir, ignore_errors=True)


def search_cost(pool: CandidatePool, kind: str, strategy: str, device: str, dev_name: str, wall: float,
                supernet_seconds: float, supernet_device: str | None = None) -> dict[str, Any]:
    """Wall time, candidate counts and the search cost as the papers define it: the whole supernet
    training for a search that inherits its weights (however many searches share it), plus the
    search itself (candidate evaluation included: proxy training for a proxy search); no retraining."""
    records = pool.records()
    searched = search_records(records)  # re-ranked finalists are no extra candidates
    eval_seconds = sum(r["eval_seconds"] for r in records)
    search_eval_seconds = sum(r["eval_seconds"] for r in searched)
    replayed_seconds = sum(r["eval_seconds"] for r in records if r["key"] in pool.replayed_keys)
    search_seconds = wall + replayed_seconds
    supernet_counted = supernet_seconds if kind == "inherit" else 0.0
    device_hours = (search_seconds + supernet_counted) / 3600
    # GPU hours only when every counted part ran on a GPU (the supernet may have run elsewhere)
    devices = [device] + ([supernet_device or device] if supernet_counted else [])
    on_gpu = all(d.startswith("cuda") for d in devices)
    return {
        "strategy": strategy, "evaluator": kind, "device": device, "device_name": dev_name,
        "candidates": len(searched), "budget": pool.budget, "evaluated_this_run": pool.computed,
        "from_earlier_run": pool.replayed, "repeat_proposals": pool.repeats,
        "evaluation_seconds": round(eval_seconds, 3),
        "candidates_per_minute": round(60 * len(searched) / search_eval_seconds, 3) if search_eval_seconds else None,
        "wall_seconds": round(wall, 3), "search_seconds": round(search_seconds, 3),
        "supernet_seconds": round(supernet_counted, 3),
        "device_hours": device_hours, "gpu_hours": device_hours if on_gpu else None,
        "supernet_device": (supernet_device or device) if supernet_counted else None,
        "note": "search_seconds = this run's wall time + evaluation time of candidates taken from an "
                "interrupted run; device_hours (the search cost) = search_seconds + the whole supernet "
                "training (inherit evaluator), retraining not included",
    }



class NetworkCost:
    """Params and FLOPs of a spec's network at the data's input size (one image): the cost of any
    space's genotype where no look-up table prices it (classifiers, segmentation spaces but cardiac)."""

    columns = ("params", "flops")

    def __init__(self, spec_of, in_channels: int, image_size: int):
        self.spec_of, self.shape = spec_of, (1, in_channels, image_size, image_size)

    def __call__(self, g, columns: Collection[str] | None = None) -> dict[str, float]:
        from mednas.cost.complexity import count_flops, count_params

        want = requested(columns, self.columns)
        net = build_model(self.spec_of(g))
        out = {"params": count_params(net)}
        if "flops" in want:
            out["flops"] = count_flops(net, self.shape)
        return {k: out[k] for k in want}


CLASSIFICATION_EVALUATORS = ("zerocost", "kfold")
COST_SCALE_SAMPLES = 500


def cost_scales(space, cost: NetworkCost, seed: int, n: int = COST_SCALE_SAMPLES,
                include: Sequence[Any] = ()) -> dict[str, float]:
    """Normalisers of params and FLOPs: the largest of ``n`` seeded random networks of the space and
    the genotypes in ``include`` (a space's costliest network is no simple corner of it: where few
    convolutions shrink the image, the head over the flattened features dominates), recorded in chosen.json."""
    import random

    rng = random.Random(seed)
    costs = [cost(g) for g in include] + [cost(space.sample(rng)) for _ in range(n)]
    return {k: float(max(c[k] for c in costs)) for k in NetworkCost.columns}


def run_classification_search(strategy: str, search_cfg: Mapping, space_cfg: Mapping, dataset_cfg: Mapping,
                              seed: int, device: str, work_dir: str, outputs: Mapping[str, str]) -> dict[str, Any]:
    """A search on a classification data set; outputs as :func:`run_search` (search cost = this
    run's time: no supernet). Evaluators: ``zerocost`` (MSTF-NAS: the indicators on one fixed
    training batch with cross-entropy, objectives Eq. 5) or ``kfold`` (the hybrid MOEA/D + SA
    paper: cross-validated training on the training split; ``kfold.sa_epochs`` gives the annealing
    phase its own, longer training)."""
    from mednas.data.medmnist import load_medmnist, subset_file
    from mednas.evaluate.zerocost import IndicatorEvaluator, check_indicators, fixed_arrays
    from mednas.models.registry import build_model
    from mednas.space.base import make_space
    from mednas.train.tasks import classification_task_loss

    t0 = time.perf_counter()
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown search strategy '{strategy}'; choose from {sorted(STRATEGIES)}")
    kind = search_cfg.get("evaluator", "zerocost")
    if kind not in CLASSIFICATION_EVALUATORS:
        raise ConfigError(f"search.evaluator: a classification search takes {list(CLASSIFICATION_EVALUATORS)}, "
                          f"not '{kind}'")
    rule = check_rule(search_cfg.get("choose", "indicator_sum" if kind == "zerocost" else "closest_to_ideal"), kind)
    settings = StrategySettings.from_config({**search_cfg, "seed": int(search_cfg.get("seed", seed))})
    size = int(dataset_cfg.get("size", 28))
    info, splits = load_medmnist(dataset_cfg["path"], dataset_cfg["flag"], size)
    space = make_space(space_cfg)

    def spec_of(g):
        return searched_spec(space, g, info.in_channels, info.num_classes, size)

    def build(g):
        return build_model(spec_of(g))

    cost = NetworkCost(spec_of, info.in_channels, size)
    phases = {}
    if kind == "zerocost":
        zc = search_cfg.get("zerocost") or {}
        # only the pair the objectives use: the six cost ~10x the pair (grasp's double backward)
        pair = check_indicators(zc.get("indicators", ("jacob_cov", "synflow")))
        x, y = fixed_arrays(splits["train"].images, splits["train"].labels, int(zc.get("batch_size", 64)), seed,
                            device)
        evaluator = IndicatorEvaluator(build, classification_task_loss, x, y, device, seed, pair)
        scales: dict[str, float] = {}
    else:
        from mednas.evaluate.kfold import KFoldEvaluator
        from mednas.train.classify import ClassifySettings

        kf = search_cfg.get("kfold") or {}
        tr = splits["train"]

        def kfold(epochs: int) -> KFoldEvaluator:
            fold_settings = ClassifySettings(epochs=epochs, batch_size=int(kf.get("batch_size", 16)), optimizer="adam",
                                             lr=float(kf.get("lr", 1e-3)))
            return KFoldEvaluator(build, tr.images, tr.labels, fold_settings, int(kf.get("folds", 3)), device, seed,
                                  str(kf.get("metric", "accuracy")))

        evaluator = kfold(int(kf.get("epochs", 10)))
        if kf.get("sa_epochs"):
            phases["sa"] = kfold(int(kf["sa_epochs"]))
        scales = cost_scales(space, cost, seed)
    objectives = Objectives.from_config(search_cfg, scales)
    data_file = subset_file(dataset_cfg["path"], dataset_cfg["flag"], size)
    fp = fingerprint(strategy, dict(search_cfg), dict(space_cfg), dict(dataset_cfg), seed, device_name(device),
                     sha256_file(data_file))
    archive = ArchiveLog(Path(work_dir) / "archive.csv",
                         archive_columns(space.gene_names, evaluator.metrics, NetworkCost.columns), fp)
    pool = CandidatePool(space, evaluator, cost, objectives, archive, settings.budget, phase_evaluators=phases)
    log.info("search %s on %s: evaluator %s, objectives %s, %d candidates (%d x %d)", strategy, info.flag, kind,
             list(objectives.names), settings.budget, settings.population, settings.generations)
    strategy_info = run_strategy(strategy, pool, settings)
    chosen = choose(pool, rule)
    records = pool.records()
    front, F = pool.front(records)
    pareto = [{**r, **dict(zip(objectives.labels, map(float, row)))} for r, row in zip(front, F)]
    wall = time.perf_counter() - t0
    cost = search_cost(pool, kind, strategy, device, device_name(device), wall, 0.0)
    chosen |= {"strategy": strategy, "evaluator": kind, "objectives_used": list(objectives.names),
               "budgets": dict(objectives.budgets), "strategy_info": strategy_info, "space": space_cfg,
               "spec": spec_of(pool.genotype(chosen["record"])), "population": len(pool.population or []),
               "scales": objectives.scales}
    write_search_outputs(outputs, pool, archive, pareto, chosen, cost, work_dir)
    log.info("search %s done: %d candidates (%d evaluated now, %d from an earlier run), chosen %s, %.0f s", strategy,
             len(records), pool.computed, pool.replayed, chosen["key"], wall)
    return {"chosen": chosen, "cost": cost}


# -- MixSearch (seed 001): the differentiable search on a composite of domains --
def split_halves(data: SliceSet, seed: int) -> tuple[SliceSet, SliceSet]:
    """A domain's training slices in two seeded halves: network weights learn on the first, the
    architecture on the second (MixSearch Sec. III-C3, 50 % / 50 %)."""
    import numpy as np

    if len(data) < 2:
        raise ConfigError(f"a domain with {len(data)} training slice(s) cannot be split into weight and architecture halves")
    order = np.random.default_rng(seed).permutation(len(data))
    half = len(data) // 2
    return data.take(np.sort(order[:half])), data.take(np.sort(order[half:]))


def run_mix_search(name: str, train_paths: Mapping[str, str], search: Mapping[str, Any], mix_fraction: float,
                   search_cfg: Mapping[str, Any], seed: int, device: str, checkpoint: str,
                   outputs: Mapping[str, str]) -> dict[str, Any]:
    """One DedicatedSearch / UnionSearch / MixSearch run: the bilevel search on the composite of
    ``search['sources']`` (their training slices), mixed with ``k`` and ``mu``; writes
    ``genotype`` (the discrete network), ``arch`` (alpha, beta, op scores per stage), ``curve``
    and ``cost`` together."""
    from mednas.data.mixing import CompositeSampler, MixSettings
    from mednas.search.differentiable import BilevelSettings, bilevel_search

    settings = BilevelSettings.from_config(search_cfg)
    mixing = MixSettings(k=int(search.get("k", 1)), mu=float(search.get("mu", 1.0)), mix_fraction=float(mix_fraction))
    sources = list(search["sources"])
    weight_half, arch_half = [], []
    for i, src in enumerate(sources):
        data = load_slices(train_paths[src])
        if settings.image_size is not None:
            data = data.resized(int(settings.image_size))
        a, b = split_halves(data, seed + i)
        weight_half.append(a)
        arch_half.append(b)
    labels = weight_half[0].labels
    fp = fingerprint(name, dict(search), mix_fraction, settings.to_dict(), seed,
                     [sha256_file(train_paths[s]) for s in sources])
    Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
    log.info("mixsearch %s: sources %s, k=%d, mu=%g, %d + %d slices (weights / architecture), %s", name, sources,
             mixing.k, mixing.mu, sum(map(len, weight_half)), sum(map(len, arch_half)), device)
    wall = time.perf_counter()
    result = bilevel_search(CompositeSampler(weight_half, mixing, seed), CompositeSampler(arch_half, mixing, seed + 1),
                            labels.in_channels, labels.num_classes, settings, device, seed, checkpoint, fp)
    cost = {"search": name, "sources": sources, "k": mixing.k, "mu": mixing.mu, "mix_fraction": mixing.mix_fraction,
            "seed": seed, "device": device, "device_name": device_name(device),
            "search_seconds": round(result.seconds, 3), "wall_seconds": round(time.perf_counter() - wall, 3),
            "epochs_run": len(result.rows), "settings": settings.to_dict()}
    genotype = {"search": name, "sources": sources, "k": mixing.k, "mu": mixing.mu, "seed": seed,
                "key": result.genotype.key(), "genotype": result.genotype.to_dict()}
    arch = {"op_sets": [{k: list(v) for k, v in s.items()} for s in result.op_sets], "op_scores": result.op_scores,
            "alpha": result.alpha, "beta": result.beta}
    with atomic_outputs([outputs["genotype"], outputs["arch"], outputs["curve"], outputs["cost"]]) as (tg, ta, tc, tk):
        tg.write_text(json.dumps(genotype, indent=1) + "\n")
        ta.write_text(json.dumps(arch, indent=1) + "\n")
        write_rows(tc, result.rows)
        tk.write_text(json.dumps(cost, indent=1) + "\n")
    shutil.rmtree(Path(checkpoint).parent, ignore_errors=True)
    log.info("mixsearch %s: genotype %s (maps by branch %s) in %.1f min", name, result.genotype.key(),
             {b: sum(b in v for v in result.genotype.nodes.values()) for b in ("down", "normal", "up")}, result.seconds / 60)
    return genotype
