import json
import os

import numpy as np
import pytest

from mednas.atomic import atomic_outputs
from mednas.provenance import audit, digest, format_tree, sidecar_of, write_records

DEVICE = {"device": "cpu"}


def _step(tmp_path, name, inputs, rule):
    out = tmp_path / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(name + "".join(i.read_text() for i in inputs if i.is_file()))
    write_records([out], rule=rule, inputs=inputs, params={"p": 1}, config={"seed": 3}, seed=3, device=DEVICE,
                  started="2026-01-01T00:00:00+00:00")
    return out


@pytest.fixture
def chain(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text("alpha")
    (raw / "b.txt").write_text("beta")
    first = _step(tmp_path, "first.txt", [raw / "a.txt", raw / "b.txt"], "first")
    second = _step(tmp_path, "second.txt", [first], "second")
    return tmp_path, raw, first, second


def test_sidecar_content(chain):
    _, raw, first, _ = chain
    rec = json.loads(sidecar_of(first).read_text())
    assert rec["rule"] == "first" and rec["seed"] == 3 and rec["params"] == {"p": 1}
    assert rec["sha256"] == digest(first)
    assert [i["sha256"] for i in rec["inputs"]] == [digest(raw / "a.txt"), digest(raw / "b.txt")]
    for key in ("code", "packages", "device", "started", "finished", "config"):
        assert key in rec
    assert rec["code"]["mednas_source_sha256"] and rec["packages"]["numpy"] == np.__version__


def test_audit_ok_then_detects_raw_change(chain):
    root, raw, _, second = chain
    tree = audit(second, root)
    assert tree.all_ok()
    lines = format_tree(tree)
    assert len(lines) == 4 and "raw input" in lines[-1]
    assert format_tree(tree, full=True) == lines  # two raw files: too few to fold
    (raw / "b.txt").write_text("betA")
    tree = audit(second, root)
    assert not tree.all_ok()
    assert any("b.txt" in line and "CHANGED" in line for line in format_tree(tree))


def test_audit_detects_changed_output_and_missing_record(chain):
    root, _, first, second = chain
    second.write_text("tampered")
    assert not audit(second, root).all_ok()
    sidecar_of(first).unlink()
    tree = audit(_step(root, "third.txt", [first], "third"), root)
    assert any("NO RECORD" in line for line in format_tree(tree))


def test_directory_output_manifest(tmp_path):
    raw = tmp_path / "resources" / "raw"
    raw.mkdir(parents=True)
    (raw / "x.nii.gz").write_bytes(b"123")
    write_records([raw], rule="make", inputs=[], params={}, config={}, seed=0, device=DEVICE, started="t")
    out = _step(tmp_path, "out.txt", [raw], "use")
    tree = audit(out, tmp_path)
    assert tree.all_ok() and "written by rule make" in format_tree(tree)[1]
    (raw / "x.nii.gz").write_bytes(b"124")
    assert not audit(out, tmp_path).all_ok()


def test_cli_audit_exit_codes(chain, capsys, monkeypatch):
    from mednas.cli import main

    root, raw, _, second = chain
    monkeypatch.chdir(root)
    assert main(["audit", os.path.relpath(second, root)]) == 0
    assert "0 problem(s)" in capsys.readouterr().out
    (raw / "a.txt").write_bytes(b"Alpha")
    assert main(["audit", os.path.relpath(second, root)]) == 1
    assert main(["audit", "results/nothing.txt"]) == 1


def test_atomic_outputs_all_or_nothing(tmp_path):
    targets = [tmp_path / "a.npz", tmp_path / "b.json"]
    with pytest.raises(RuntimeError):
        with atomic_outputs(targets) as (a, b):
            np.savez(a, x=np.arange(3))
            raise RuntimeError("crash before the second file")
    assert list(tmp_path.iterdir()) == []
    with atomic_outputs(targets) as (a, b):
        np.savez(a, x=np.arange(3))
        b.write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "b.json"]
    assert np.load(targets[0])["x"].tolist() == [0, 1, 2]


def test_tree_folds_healthy_runs_but_never_a_problem(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    files = []
    for i in range(10):
        f = raw / f"f{i}.txt"
        f.write_text(str(i))
        files.append(f)
    out = _step(tmp_path, "out.txt", files, "use")
    folded = format_tree(audit(out, tmp_path))
    assert len(folded) == 2 and "(10 files)" in folded[1]
    assert len(format_tree(audit(out, tmp_path), full=True)) == 11
    files[5].write_text("changed")
    lines = format_tree(audit(out, tmp_path))
    assert len(lines) == 4  # f0-f4 folded, f5 shown with its problem, f6-f9 folded
    assert "(5 files)" in lines[1] and "f5.txt" in lines[2] and "CHANGED" in lines[2] and "(4 files)" in lines[3]


def test_orphan_guard_recognises_snakemake_and_not_its_scripts():
    from mednas.orphan import is_snakemake

    assert is_snakemake(["/x/.venv/bin/python", "/x/.venv/bin/snakemake", "--cores", "2"])
    assert is_snakemake(["snakemake", "-n"]) and is_snakemake(["python3", "-m", "snakemake", "--cores", "1"])
    assert not is_snakemake(["/x/.venv/bin/python", "/w/.snakemake/scripts/tmpab.retrain.py"])
    assert not is_snakemake(["/bin/sh", "-c", "snakemake --cores 2"])


@pytest.mark.parametrize("inherited", ["default", "ignored"])
def test_orphan_guard_interrupts_the_main_thread_when_the_watched_process_ends(inherited):
    """Also where SIGINT came in ignored, as for a job of `nohup snakemake ... &` (a background job
    of a non-interactive shell): there `interrupt_main` alone does nothing."""
    import signal
    import subprocess
    import sys
    import time

    import psutil

    from mednas.orphan import OrphanGuard

    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler if inherited == "default" else signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    guard = OrphanGuard(psutil.Process(child.pid), poll_seconds=0.05, grace_seconds=30).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            for _ in range(200):
                time.sleep(0.05)
    finally:
        guard.stop()  # else the guard ends this process after its grace period, as it should in a job
        signal.signal(signal.SIGINT, before)
    child.wait()
    assert guard.orphaned.is_set()


def test_rule_scripts_run_this_checkouts_code_ahead_of_another_install(tmp_path, monkeypatch):
    """Another mednas earlier on the path (an editable install of another checkout) must not be
    what a rule script imports, and the record names the package that ran."""
    from workflow_util import REPO, snakemake, write_config

    decoy = tmp_path / "other_checkout"
    (decoy / "mednas").mkdir(parents=True)
    (decoy / "mednas" / "__init__.py").write_text("raise ImportError('the decoy mednas was imported')\n")
    monkeypatch.setenv("PYTHONPATH", str(decoy))
    work = tmp_path / "run"
    work.mkdir()
    cfg = write_config(work)
    res = snakemake(work, "results/mini/config.yaml", "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-2000:]
    rec = json.loads((work / "results/mini/config.yaml.prov.json").read_text())
    assert rec["code"]["mednas_path"] == str(REPO / "src" / "mednas")


def _edit_record(path, change, rehash=False):
    from mednas.provenance import record_digest

    side = sidecar_of(path)
    rec = json.loads(side.read_text())
    change(rec)
    if rehash:
        rec["record_sha256"] = record_digest(rec)
    side.write_text(json.dumps(rec, indent=1, sort_keys=True))


@pytest.mark.parametrize("field,value", [("seed", 4), ("params", {"p": 2}), ("code", {"git_commit": "0" * 40})])
def test_audit_detects_an_edited_record(chain, field, value):
    root, _, first, second = chain
    _edit_record(first, lambda rec: rec.__setitem__(field, value))
    lines = format_tree(audit(second, root))
    assert any("first.txt" in line and "RECORD ALTERED" in line for line in lines), lines


def test_audit_detects_a_record_rewritten_with_a_fresh_hash(chain):
    root, _, first, second = chain
    _edit_record(first, lambda rec: rec["params"].__setitem__("p", 99), rehash=True)
    assert audit(first, root).all_ok()  # alone, a forged record looks whole ...
    lines = format_tree(audit(second, root))  # ... but its consumer saw another one
    assert any("first.txt" in line and "RECORD REPLACED" in line for line in lines), lines


def test_a_flipped_input_hash_blames_the_record_not_the_input(chain):
    root, _, first, second = chain
    _edit_record(second, lambda rec: rec["inputs"][0].__setitem__("sha256", "f" * 64))
    tree = audit(second, root)
    assert not tree.ok and "RECORD ALTERED" in tree.status and "second.txt" in tree.path


def test_record_without_its_own_hash_is_reported(chain):
    root, _, first, _ = chain
    _edit_record(first, lambda rec: rec.pop("record_sha256"))
    tree = audit(first, root)
    assert not tree.ok and "WITHOUT ITS OWN HASH" in tree.status


def test_a_file_named_with_its_folder_is_hashed_and_recorded_once(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text("alpha")
    (raw / "b.txt").write_text("beta")
    out = _step(tmp_path, "out.txt", [raw, raw / "a.txt"], "use")
    rec = json.loads(sidecar_of(out).read_text())
    assert [os.path.basename(i["path"]) for i in rec["inputs"]] == ["a.txt", "b.txt"]


def test_audit_of_files_inside_a_directory_output_and_of_an_unreadable_record(tmp_path):
    """The three audit branches a consumer's hash does not reach: a file of a directory output changed
    since the rule wrote it, a file the rule never wrote there, and a sidecar that is not JSON."""
    raw = tmp_path / "resources" / "raw"
    raw.mkdir(parents=True)
    (raw / "x.nii.gz").write_bytes(b"123")
    write_records([raw], rule="make", inputs=[], params={}, config={}, seed=0, device=DEVICE, started="t")
    assert audit(raw / "x.nii.gz", tmp_path).status.startswith("ok  written by rule make")
    (raw / "x.nii.gz").write_bytes(b"124")
    node = audit(raw / "x.nii.gz", tmp_path)
    assert not node.ok and node.status == "CHANGED since rule make wrote it"
    (raw / "extra.nii.gz").write_bytes(b"9")
    node = audit(raw / "extra.nii.gz", tmp_path)
    assert not node.ok and node.status.startswith("NOT LISTED in the record of")
    out = _step(tmp_path, "out.txt", [], "use")
    sidecar_of(out).write_text("{ not json")
    node = audit(out, tmp_path)
    assert not node.ok and node.status.startswith("unreadable provenance record")
    assert node.rule is None
