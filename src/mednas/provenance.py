"""Provenance sidecars (``<file>.prov.json``) and the audit that walks them.

A sidecar records what a step wrote (sha256), what it read (each input with its sha256),
its params, the config section it ran under, the code version, package versions, device,
seed and wall-clock times. A directory output records a manifest of its files. The audit
starts from one file, re-hashes it and every input recorded for it, follows the inputs'
own sidecars back to raw data, and fails on any mismatch or missing record.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import logging
import os
import platform
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from mednas.atomic import write_text_atomic
from mednas.errors import ProvenanceError
from mednas.experiments import experiment_configs
from mednas.orphan import OrphanGuard

SUFFIX = ".prov.json"
SCHEMA = 2  # 2: records carry their own hash and their inputs' record hashes
PACKAGES = ("mednas", "torch", "numpy", "scipy", "pandas", "nibabel", "monai", "snakemake", "pymoo", "PyYAML")
# Folders whose files must each carry a record; anything else without one is raw input.
RECORDED_ROOTS = ("results",)


def sidecar_of(path: str | os.PathLike) -> Path:
    """The sidecar path of ``path``."""
    p = Path(path)
    return p.with_name(p.name + SUFFIX)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _visible_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith(SUFFIX)
    )


def directory_manifest(folder: str | os.PathLike) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` (hidden files and sidecars excluded)."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in _visible_files(folder)}


def manifest_digest(manifest: Mapping[str, str]) -> str:
    """One sha256 standing for a whole directory manifest."""
    text = "\n".join(f"{k} {v}" for k, v in sorted(manifest.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def digest(path: str | os.PathLike) -> str:
    """sha256 of a file, or of a directory's manifest."""
    p = Path(path)
    return manifest_digest(directory_manifest(p)) if p.is_dir() else sha256_file(p)


def expand_inputs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Inputs as files, each once: a directory stands for every visible file below it (a rule
    may name a folder and files inside it, as `prepare` does for a user's data set)."""
    out: dict[str, Path] = {}
    for raw in paths:
        p = Path(raw)
        for f in _visible_files(p) if p.is_dir() else [p]:
            out.setdefault(os.path.abspath(f), f)
    return list(out.values())


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        res = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def code_version() -> dict[str, Any]:
    """Git commit and dirtiness of the checkout holding mednas, plus a hash of its sources.

    The source hash identifies the code that ran even outside git (a wheel install).
    """
    pkg = Path(__file__).resolve().parent
    sources = sorted(pkg.rglob("*.py"))
    h = hashlib.sha256()
    for src in sources:
        h.update(src.relative_to(pkg).as_posix().encode())
        h.update(src.read_bytes())
    commit = _git(["rev-parse", "HEAD"], pkg)
    status = _git(["status", "--porcelain", "--untracked-files=no"], pkg) if commit else None
    return {
        "git_commit": commit,
        "git_dirty": bool(status) if status is not None else None,
        "mednas_source_sha256": h.hexdigest(),
        "mednas_path": str(pkg),  # the package that actually ran
    }


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that shape results."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    out["python"] = platform.python_version()
    return out


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _jsonable(value: Any) -> Any:
    """Snakemake Namedlists and the like, as plain JSON values."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def record_digest(record: Mapping[str, Any]) -> str:
    """sha256 of a record's canonical JSON, its own ``record_sha256`` left out.

    Stored in the record and in every record that consumes its file: editing a record breaks
    its own hash, and rewriting that hash too breaks the hash its consumers hold.
    """
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _record_hash_of(path: Path) -> str | None:
    side = sidecar_of(path)
    if not side.is_file():
        return None
    return _load_record(side).get("record_sha256")


def write_records(
    outputs: Iterable[str | os.PathLike],
    *,
    rule: str,
    inputs: Iterable[str | os.PathLike],
    params: Mapping[str, Any],
    config: Mapping[str, Any],
    seed: int | None,
    device: Mapping[str, Any],
    started: str,
    finished: str | None = None,
) -> list[Path]:
    """Write a sidecar for each output; inputs are hashed now, as the step saw them."""
    input_records = []
    for p in expand_inputs(inputs):
        entry = {"path": os.fspath(p), "sha256": sha256_file(p)}
        rec_hash = _record_hash_of(Path(p))
        if rec_hash is not None:
            entry["record_sha256"] = rec_hash
        input_records.append(entry)
    common = {
        "schema": SCHEMA,
        "rule": rule,
        "inputs": input_records,
        "params": _jsonable(params),
        "config": _jsonable(config),
        "code": code_version(),
        "packages": package_versions(),
        "device": _jsonable(device),
        "seed": seed,
        "host": platform.node(),
        "started": started,
        "finished": finished or _now(),
    }
    written = []
    for out in outputs:
        out = Path(out)
        if not out.exists():
            raise ProvenanceError(f"cannot record {out}: the step did not write it")
        record = {"path": os.fspath(out), **common}
        if out.is_dir():
            record["files"] = directory_manifest(out)
            record["sha256"] = manifest_digest(record["files"])
        else:
            record["sha256"] = sha256_file(out)
        record["record_sha256"] = record_digest(record)
        side = sidecar_of(out)
        write_text_atomic(side, json.dumps(record, indent=1, sort_keys=True) + "\n")
        written.append(side)
    return written


@contextlib.contextmanager
def snakemake_step(
    smk: Any, *, config_keys: Iterable[str], seed: int | None, device: Mapping[str, Any]
) -> Iterator[None]:
    """Record provenance for a Snakemake script step when its block succeeds.

    Every output not itself a sidecar gets one; outputs ending in ``.prov.json`` are the
    sidecars the rule declares so that Snakemake tracks (and cleans) them.
    """
    started = _now()
    OrphanGuard().start()  # a job whose Snakemake was killed stops instead of publishing outputs
    try:
        yield
    except Exception as exc:
        # Snakemake shows the traceback on the console; the rule's log file gets the reason too.
        logging.getLogger("mednas").error("rule %s failed: %s", smk.rule, exc)
        raise
    outputs = [o for o in smk.output if not str(o).endswith(SUFFIX)]
    params = {k: v for k, v in smk.params.items()}
    # the job's own experiment's settings, where the config holds several (mednas.experiments)
    exp_config = experiment_configs(smk.config)[smk.wildcards.exp] if "exp" in smk.wildcards.keys() else smk.config
    config = {k: exp_config.get(k) for k in config_keys}
    write_records(outputs, rule=smk.rule, inputs=list(smk.input), params=params, config=config,
                  seed=seed, device=device, started=started)


@dataclass
class AuditNode:
    """One file in the lineage tree."""

    path: str
    ok: bool
    status: str
    rule: str | None = None
    children: list[AuditNode] = field(default_factory=list)

    def all_ok(self) -> bool:
        return self.ok and all(c.all_ok() for c in self.children)


def _under_recorded_root(path: Path, root: Path) -> bool:
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return bool(rel.parts) and rel.parts[0] in RECORDED_ROOTS


def _enclosing_directory_record(path: Path) -> tuple[Path, dict] | None:
    for parent in path.parents:
        if not parent.name:
            break
        side = sidecar_of(parent)
        if side.is_file():
            return parent, json.loads(side.read_text())
    return None


def _load_record(side: Path) -> dict:
    try:
        return json.loads(side.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ProvenanceError(f"unreadable provenance record {side}: {exc}") from exc


def audit(path: str | os.PathLike, root: str | os.PathLike = ".", expected: str | None = None,
          _seen: dict[str, AuditNode] | None = None, expected_record: str | None = None) -> AuditNode:
    """Check ``path`` and everything it was made from; relative paths resolve against ``root``.

    ``expected`` / ``expected_record``: the file's and its record's hashes as a consumer recorded them.
    """
    seen = {} if _seen is None else _seen
    root = Path(root)
    shown = os.fspath(path)
    p = Path(path) if Path(path).is_absolute() else root / path
    key = f"{p.resolve()}|{expected}|{expected_record}"
    if key in seen:
        prior = seen[key]
        return AuditNode(shown, prior.ok, "(checked above)", prior.rule)
    if not p.exists():
        node = AuditNode(shown, False, "MISSING")
        seen[key] = node
        return node
    actual = digest(p)
    if expected is not None and actual != expected:
        node = AuditNode(shown, False, "CHANGED since it was used (sha256 differs from the consumer's record)")
        seen[key] = node
        return node
    side = sidecar_of(p)
    if side.is_file():
        try:
            rec = _load_record(side)
        except ProvenanceError as exc:
            node = AuditNode(shown, False, str(exc))
            seen[key] = node
            return node
        problem = None
        if rec.get("record_sha256") is None:
            problem = (f"RECORD WITHOUT ITS OWN HASH ({side.name}: written before schema {SCHEMA} or stripped; "
                       "rerun its rule)")
        elif record_digest(rec) != rec["record_sha256"]:
            problem = f"RECORD ALTERED ({side.name} no longer matches its own hash)"
        elif expected_record is not None and rec["record_sha256"] != expected_record:
            problem = f"RECORD REPLACED since it was used ({side.name} differs from the one its consumer saw)"
        elif rec.get("sha256") != actual:
            problem = "CHANGED since it was written (sha256 differs from its record)"
        if problem:
            node = AuditNode(shown, False, problem, rec.get("rule"))
            seen[key] = node
            return node
        node = AuditNode(shown, True, f"ok  rule {rec.get('rule')}, {rec.get('finished')}", rec.get("rule"))
        seen[key] = node
        node.children = [audit(i["path"], root, i["sha256"], seen, i.get("record_sha256"))
                         for i in rec.get("inputs", [])]
        return node
    enclosing = _enclosing_directory_record(p)
    if enclosing is not None:
        folder, rec = enclosing
        rel = p.resolve().relative_to(folder.resolve()).as_posix()
        listed = rec.get("files", {}).get(rel)
        if listed is None:
            node = AuditNode(shown, False, f"NOT LISTED in the record of {folder}", rec.get("rule"))
        elif listed != actual:
            node = AuditNode(shown, False, f"CHANGED since rule {rec.get('rule')} wrote it", rec.get("rule"))
        else:
            node = AuditNode(shown, True, f"ok  written by rule {rec.get('rule')} into {folder}", rec.get("rule"))
        seen[key] = node
        return node
    if _under_recorded_root(p, root) or expected is None:
        node = AuditNode(shown, False, f"NO RECORD ({side.name} missing)")
    else:
        node = AuditNode(shown, True, "ok  raw input")
    seen[key] = node
    return node


def _fold_leaves(children: list[AuditNode], min_run: int = 4) -> list[AuditNode]:
    """Replace each run of >= ``min_run`` healthy leaves with one summary node."""
    out: list[AuditNode] = []
    run: list[AuditNode] = []

    def flush() -> None:
        if len(run) >= min_run:
            common = os.path.commonpath([r.path for r in run])
            out.append(AuditNode(f"{common}/ ({len(run)} files)", True, run[0].status, run[0].rule))
        else:
            out.extend(run)
        run.clear()

    for child in children:
        foldable = child.ok and not child.children
        if run and not (foldable and child.status == run[0].status):
            flush()
        if foldable:
            run.append(child)
        else:
            out.append(child)
    flush()
    return out


def format_tree(node: AuditNode, prefix: str = "", last: bool = True, top: bool = True,
                full: bool = False) -> list[str]:
    """The lineage tree as text lines; unless ``full``, runs of healthy sibling files are folded."""
    mark = "" if top else ("└─ " if last else "├─ ")
    lines = [f"{prefix}{mark}{node.path}  [{node.status}]"]
    child_prefix = prefix if top else prefix + ("   " if last else "│  ")
    children = node.children if full else _fold_leaves(node.children)
    for i, child in enumerate(children):
        lines += format_tree(child, child_prefix, i == len(children) - 1, top=False, full=full)
    return lines
