import itertools
import json

import pytest

from mednas.cost.latency import (NA, LatencyError, LatencySettings, LatencyTable, block_keys, device_name,
                                 filter_grid, measure_lut, overhead_key)
from mednas.errors import ConfigError
from mednas.models.cardiac_net import ArchSettings
from mednas.space.cardiac import CardiacSpace, Genotype
from workflow_util import mednas, snakemake, write_config

ARCH = ArchSettings(1, 4)
G = Genotype(10, 3, 2, 0.2, "se", "concat", "elu", 0.5)
DEV = "cpu:test-cpu"


def _rows(latency_of, filters=(8, 12), device=DEV, image_size=64):
    rows = []
    keys = block_keys(G, ARCH) + [overhead_key(G)]
    for key, f in itertools.product(keys, filters):
        rows.append({"device": device, "image_size": image_size, "batch": 1, "threads": 1,
                     **dict(zip(("block", "stage", "kernel", "attention", "fusion", "activation"), key)),
                     "filters": f, "latency_ms": latency_of(key, f)})
    return rows


def test_prediction_is_the_sum_of_entries():
    # Entries depend on block and filters in a known way; 10 filters lies halfway between 8 and 12.
    value = lambda key, f: {"encoder": 1.0, "bottleneck": 2.0, "decoder": 3.0, "head": 0.5, "overhead": 0.25}[key[0]] * f
    table = LatencyTable(_rows(value))
    keys = block_keys(G, ARCH)
    assert [k[0] for k in keys] == ["encoder", "encoder", "bottleneck", "decoder", "decoder", "head"]
    expected = (2 * 1.0 + 2.0 + 2 * 3.0 + 0.5 + 0.25) * 10
    assert table.predict(G, ARCH, DEV, 64) == pytest.approx(expected)
    assert table.block_latency(keys[0], 11) == pytest.approx(11.0)


def test_candidate_cost_computes_only_the_columns_asked_for(monkeypatch):
    import mednas.cost.candidate as candidate

    cost = candidate.CandidateCost(ARCH, 64, LatencyTable(_rows(lambda key, f: 1.0)), DEV)
    full = cost(G)
    assert set(full) == {"params", "flops", "latency_ms"} and full["flops"] > 0
    monkeypatch.setattr(candidate, "genotype_cost", lambda *a: pytest.fail("FLOPs counted though not asked for"))
    assert cost(G, ["latency_ms", "params"]) == {"params": full["params"], "latency_ms": full["latency_ms"]}
    with pytest.raises(ConfigError, match=r"cost column\(s\) \['hd95'\] are not computed here"):
        cost(G, ["hd95"])


def test_block_keys_follow_the_genotype():
    keys = block_keys(Genotype(10, 5, 3, 0.2, "self", "wsum", "tanh", 0.5), ArchSettings(1, 4, attention_at=("bottleneck",)))
    assert ("encoder", "2", "5", NA, NA, "tanh") in keys  # no encoder attention configured
    assert ("bottleneck", "3", NA, "self", NA, "tanh") in keys
    assert ("decoder", "0", "5", NA, "wsum", "tanh") in keys


def test_unknown_device_missing_entry_and_range_are_errors():
    table = LatencyTable(_rows(lambda key, f: 1.0))
    with pytest.raises(LatencyError, match="measured on 'cpu:test-cpu', not on 'cuda:H100'"):
        table.predict(G, ARCH, "cuda:H100")
    with pytest.raises(LatencyError, match="measured at 64 px, not 96 px"):
        table.predict(G, ARCH, DEV, 96)
    other = Genotype(10, 5, 2, 0.2, "se", "concat", "elu", 0.5)  # kernel 5 was never measured
    with pytest.raises(LatencyError, match="no look-up table entry for block block encoder, stage 0, kernel 5"):
        table.predict(other, ARCH, DEV)
    with pytest.raises(LatencyError, match="at 14 filters \\(measured 8..12\\)"):
        table.predict(Genotype(14, 3, 2, 0.2, "se", "concat", "elu", 0.5), ARCH, DEV)
    with pytest.raises(LatencyError, match="one device"):
        LatencyTable(_rows(lambda key, f: 1.0) + _rows(lambda key, f: 1.0, device="cpu:other"))
    with pytest.raises(LatencyError, match="empty"):
        LatencyTable([])


def test_filter_grid_keeps_both_bounds():
    assert filter_grid((32, 127), 5) == [32, 56, 80, 103, 127]
    assert filter_grid((8, 16), 9) == list(range(8, 17))
    assert filter_grid((8, 8), 5) == [8]


def test_measured_table_covers_the_whole_space():
    space = CardiacSpace(filters=(4, 7), kernels=(1, 3), layers=(2, 3), attentions=("se", "self"),
                         fusions=("add", "concat"), activations=("relu",))
    settings = LatencySettings(rounds=1, warmup=0, repeats=1, filter_points=2, overhead_genotypes=1)
    rows = measure_lut(space, ARCH, 32, settings, "cpu")
    assert all(r["latency_ms"] > 0 for r in rows if r["block"] != "overhead")
    table = LatencyTable(rows)
    entry = {(tuple(str(r[k]) for k in ("block", "stage", "kernel", "attention", "fusion", "activation")),
              r["filters"]): r["latency_ms"] for r in rows}
    for f, k, layers, att, fusion in itertools.product((4, 5, 6, 7), (1, 3), (2, 3), ("se", "self"), ("add", "concat")):
        g = Genotype(f, k, layers, 0.1, att, fusion, "relu", 0.5)
        # every block (and the overhead) is in the table; between 4 and 7 filters, linear interpolation
        want = sum(entry[(key, 4)] + (f - 4) / 3 * (entry[(key, 7)] - entry[(key, 4)])
                   for key in block_keys(g, ARCH) + [overhead_key(g)])
        assert table.predict(g, ARCH, device_name("cpu"), 32) == pytest.approx(want)
    assert {r["filters"] for r in rows} == {4, 7}


@pytest.mark.slow
def test_measure_latency_rule(tmp_path):
    cfg = write_config(
        tmp_path, device="cpu",
        preprocess={"image_size": 32},
        space={"filters": [4, 6], "kernels": [1, 3], "layers": [2, 2], "attentions": ["se"],
               "fusions": ["add"], "activations": ["relu", "elu"]},
        latency={"rounds": 2, "warmup": 1, "repeats": 1, "filter_points": 2, "overhead_genotypes": 1,
                 "check_genotypes": 5},
    )
    res = snakemake(tmp_path, "results/mini/latency/lut.csv", "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-3000:]
    out = tmp_path / "results" / "mini" / "latency"
    summary = json.loads((out / "lut_check.json").read_text())
    import csv

    from scipy.stats import kendalltau

    with open(out / "lut_check.csv", newline="") as fh:
        check = list(csv.DictReader(fh))
    assert summary["genotypes"] == len(check) == 5
    pred, meas = ([float(r[c]) for r in check] for c in ("predicted_ms", "measured_ms"))
    assert summary["lut_kendall_tau"] == pytest.approx(kendalltau(pred, meas).statistic)
    assert (out / "lut_check.png").read_bytes()[:4] == b"\x89PNG"
    table = LatencyTable.read_csv(out / "lut.csv")
    assert table.device == device_name("cpu") and table.image_size == 32
    assert mednas(tmp_path, "audit", "results/mini/latency/lut_check.csv").returncode == 0


def test_measurement_with_fake_timers_predicts_every_network_exactly(monkeypatch):
    """Blocks cost a known linear function of filters and networks that sum plus a known overhead per
    stage count and attention: the table must recover both (MAPE 0, Kendall tau 1 on the check networks)."""
    from mednas.cost import latency as lat

    def block_ms(key, f):
        return 0.05 * (sum(map(ord, "".join(key))) % 7) + 0.003 * f

    def overhead_ms(g):
        return 0.5 * g.layers + (0.4 if g.attention == "self" else 0.1)

    def network_ms(g, arch, image_size, settings, device):
        return sum(block_ms(k, g.filters) for k in block_keys(g, arch)) + overhead_ms(g)

    monkeypatch.setattr(lat, "_timer", lambda fn, warmup, repeats, cuda: fn())
    monkeypatch.setattr(lat, "_block_runners", lambda net, g, size, batch, device:
                        {k: (lambda k=k: block_ms(k, g.filters)) for k in block_keys(g, net.arch)})
    monkeypatch.setattr(lat, "_time_network", network_ms)
    space = CardiacSpace(filters=(4, 8), kernels=(1, 3), layers=(2, 3), activations=("relu",), fusions=("add",))
    settings = LatencySettings(rounds=1, warmup=0, repeats=1, filter_points=3, overhead_genotypes=2, check_genotypes=8)
    measured = lat.measure(space, ARCH, 32, settings, "cpu")
    table = LatencyTable(measured.rows)
    for layers, att in itertools.product((2, 3), space.attentions):
        g = Genotype(6, 3, layers, 0.1, att, "add", "relu", 1.0)
        assert table.block_latency(overhead_key(g), 6) == pytest.approx(overhead_ms(g), abs=1e-4)
    rows, summary = lat.check_rows(table, measured.check, ARCH, 32)
    assert len(rows) == 8 and summary["lut_mape_percent"] == pytest.approx(0.0, abs=1e-3)
    assert summary["lut_kendall_tau"] == pytest.approx(1.0)
