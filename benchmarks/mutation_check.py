"""Break the source on purpose, one known-bad edit at a time, and check that the tests notice.

Each mutation is an exact text replacement in one source file plus the test files that should
catch it. For every mutation the script copies the checkout (tracked and untracked, not ignored
files) to a scratch directory, applies the edit, runs those tests there (``-m "not slow"``,
stopping at the first failure) and records whether they failed. ``--revision REV`` mutates
an older revision's code and runs its tests (mutations may name that revision's wording as
alternatives), which gives the "before" tally of the same mutations.

    .venv/bin/python benchmarks/mutation_check.py                 # the checkout
    .venv/bin/python benchmarks/mutation_check.py --revision 3d32984 --json results/benchmarks/mutation_before.json

A mutation counts as caught only when its tests pass on the unmutated copy (else
``baseline-fail``) and fail on the mutated one; a run past ``--timeout`` is ``timeout``. A
mutation whose text no longer occurs in the source is ``stale`` (the list needs updating).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    alternatives: tuple[tuple[str, str], ...] = ()  # (old, new) in earlier revisions' wording


MUTATIONS = (
    Mutation("re-ranking ignored by the best_dice pick", "src/mednas/search/choose.py",
             "candidates = reranked or feasible", "candidates = feasible", ("tests/test_search.py",)),
    Mutation("a later rung promotes by search Dice, not the rung below", "src/mednas/search/rerank.py",
             "chosen = finalists(pool, top) if below is None else _best(below, top)",
             "chosen = finalists(pool, top)", ("tests/test_search.py",)),
    Mutation("report figures keep the lower rungs' records", "src/mednas/search/rerank.py",
             "(phase == PHASE or (phase.startswith(RUNG_PREFIX)", "(phase == PHASE or (False",
             ("tests/test_report.py",)),
    Mutation("feasible_init keeps over-budget draws", "src/mednas/search/strategies.py",
             "if pool.within_budgets(g):", "if True:", ("tests/test_search.py",)),
    Mutation("GA tournament picks the worse parent", "src/mednas/search/strategies.py",
             "a if position[a] <= position[b] else b", "a if position[a] >= position[b] else b",
             ("tests/test_search.py",)),
    Mutation("GA survival keeps the worst", "src/mednas/search/strategies.py",
             "pop = [merged[i] for i in survival_order(F, cv)[:s.population]]",
             "pop = [merged[i] for i in survival_order(F, cv)[-s.population:]]", ("tests/test_search.py",)),
    Mutation("SA acceptance inverted", "src/mednas/search/strategies.py",
             "delta < 0 or rng.random() < math.exp(-delta / max(temperature, 1e-12))",
             "delta > 0 or rng.random() < math.exp(delta / max(temperature, 1e-12))",
             ("tests/test_search.py",)),
    Mutation("SA counts every move as the new best", "src/mednas/search/strategies.py",
             "if feasible and dominates(F[1], F[2]):", "if True:", ("tests/test_search.py",),
             (("if feasible and np.all(F[1] <= F[2]) and np.any(F[1] < F[2]):", "if True:"),)),
    Mutation("NSGA-II ignores the budgets", "src/mednas/search/strategies.py",
             'infills.set("G", pool.objectives.constraints(records))', "pass", ("tests/test_search.py",)),
    Mutation("MOEA/D ignores the budgets", "src/mednas/search/strategies.py",
             "return F + penalty * cv[:, None]", "return F", ("tests/test_search.py",)),
    Mutation("violation is the largest excess, not the sum", "src/mednas/search/objectives.py",
             "np.clip(g, 0.0, None).sum(axis=1)", "np.clip(g, 0.0, None).max(axis=1)", ("tests/test_search.py",)),
    Mutation("per-patient score is the max, not the mean", "src/mednas/evaluate/testset.py",
             "return {p: float(np.mean(v)) for p, v in sorted(by_patient.items())}",
             "return {p: float(np.max(v)) for p, v in sorted(by_patient.items())}",
             ("tests/test_report.py", "tests/test_retrain.py")),
    Mutation("structure SD with ddof 0", "src/mednas/evaluate/testset.py",
             "float(np.std(vals, ddof=1))", "float(np.std(vals, ddof=0))",
             ("tests/test_report.py", "tests/test_retrain.py")),
    Mutation("latency overhead sign flipped", "src/mednas/cost/latency.py",
             "gaps = [net_ms[i + j] - blocks_only.predict(g, arch, name, image_size)",
             "gaps = [blocks_only.predict(g, arch, name, image_size) - net_ms[i + j]", ("tests/test_latency.py",)),
    Mutation("Dice without the factor 2", "src/mednas/metrics/segmentation.py",
             "return 2.0 * int((p & r).sum()) / total", "return int((p & r).sum()) / total", ("tests/test_metrics.py",)),
    Mutation("resized slices keep the old spacing", "src/mednas/data/slices.py",
             "return replace(self, image=image, label=label, spacing=spacing)",
             "return replace(self, image=image, label=label)", ("tests/test_preprocess.py", "tests/test_evaluate.py")),
    Mutation("concat input sliced from the leading channels", "src/mednas/models/dynamic.py",
             "return torch.cat([t.narrow(dim, g * size, length) for g in range(groups)], dim)",
             "return t.narrow(dim, 0, length * groups)", ("tests/test_models.py",)),
    Mutation("kernel cropped from the corner", "src/mednas/models/dynamic.py",
             "off = (self.max_kernel - k) // 2", "off = 0", ("tests/test_models.py",)),
    Mutation("no warmup", "src/mednas/train/schedule.py", "return (step + 1) / w", "return 1.0",
             ("tests/test_train.py",)),
    Mutation("the last round is kept, not the best", "src/mednas/train/loop.py",
             'if keep_best and metrics.get("dice_mean", float("-inf")) > best_dice:', "if keep_best:",
             ("tests/test_train.py", "tests/test_retrain.py")),
)


def copy_checkout(dst: Path, revision: str | None) -> None:
    """The tree of git ``revision``, or the checkout's tracked and untracked (not ignored) files."""
    if revision:
        archive = subprocess.run(["git", "archive", revision], cwd=REPO, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dst)], input=archive, check=True)
    else:
        files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                               capture_output=True).stdout.decode().split("\0")
        for rel in filter(None, files):
            if (REPO / rel).is_file():
                (dst / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / rel, dst / rel)
    # The virtual environment stays shared with the checkout (read-only use).
    if (REPO / ".venv").exists():
        os.symlink(REPO / ".venv", dst / ".venv")
    shared = REPO.parent / "shared"
    if shared.exists() and not (dst.parent / "shared").exists():
        os.symlink(shared, dst.parent / "shared")


def _pytest(work: Path, tests: list[str], timeout: int) -> tuple[str, float, str]:
    """``passed``, ``failed``, ``error`` or ``timeout``; seconds; the first failing test's line."""
    env = dict(os.environ, PYTHONPATH=str(work / "src"), PYTHONDONTWRITEBYTECODE="1")
    env.pop("MEDNAS_REQUIRE_SLURM", None)
    t0 = time.perf_counter()
    try:
        res = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not slow",
                              *tests], cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", float(timeout), ""
    seconds = round(time.perf_counter() - t0, 1)
    failed = [line for line in res.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    if res.returncode == 0:
        return "passed", seconds, ""
    if res.returncode == 1:
        return "failed", seconds, failed[0] if failed else ""
    # 2-5: interrupted, internal or usage error, nothing collected
    return "error", seconds, res.stdout[-500:]


def run_one(m: Mutation, revision: str | None, timeout: int, baseline: dict[tuple[str, ...], str]) -> dict:
    """Apply ``m`` to a copy and run its tests; ``baseline`` caches how those tests fare unmutated."""
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        work = Path(tmp) / "repo"
        work.mkdir()
        copy_checkout(work, revision)
        source = (work / m.path).read_text() if (work / m.path).is_file() else ""
        edit = next(((old, new) for old, new in ((m.old, m.new), *m.alternatives) if source.count(old) == 1), None)
        if edit is None:
            return {"name": m.name, "status": "stale", "detail": f"text not found exactly once in {m.path}"}
        tests = [t for t in m.tests if (work / t).exists()]
        if not tests:
            return {"name": m.name, "status": "missed", "detail": "no such test file in this revision"}
        # A mutation only counts as caught if the same tests pass on the unmutated code.
        if tuple(tests) not in baseline:
            outcome, _, detail = _pytest(work, tests, timeout)
            baseline[tuple(tests)] = outcome if outcome == "passed" else f"{outcome}: {detail}"
        if baseline[tuple(tests)] != "passed":
            return {"name": m.name, "status": "baseline-fail", "detail": baseline[tuple(tests)]}
        (work / m.path).write_text(source.replace(*edit))
        outcome, seconds, detail = _pytest(work, tests, timeout)
    status = {"passed": "missed", "failed": "caught"}.get(outcome, outcome)
    return {"name": m.name, "status": status, "seconds": seconds, "detail": detail}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--revision", help="git revision whose source and tests to mutate (default: the checkout)")
    ap.add_argument("--only", nargs="*", help="substrings of mutation names to run")
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--json", default="results/benchmarks/mutation_check.json")
    args = ap.parse_args(argv)
    todo = [m for m in MUTATIONS if not args.only or any(s.lower() in m.name.lower() for s in args.only)]
    results, baseline = [], {}
    for i, m in enumerate(todo, 1):
        r = run_one(m, args.revision, args.timeout, baseline)
        results.append(r)
        print(f"[{i}/{len(todo)}] {r['status']:7s} {m.name}  {r.get('detail', '')}", flush=True)
    caught = sum(r["status"] == "caught" for r in results)
    tried = sum(r["status"] in ("caught", "missed") for r in results)
    print(f"caught {caught} of {tried} mutations ({len(results) - tried} stale, timed out, errors or failing "
          f"unmutated); code and tests of {args.revision or 'the checkout'}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"revision": args.revision or "checkout", "caught": caught, "tried": tried,
                               "results": results}, indent=2))
    return 0 if caught == tried and tried == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
