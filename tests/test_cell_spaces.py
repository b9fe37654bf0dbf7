"""The DARTS and NSGA-Net macro spaces (MSTF-NAS Table X) as plug-ins: their genes, repairs and networks,
and the network registry that lets a space bring its own builder."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from mednas.errors import ConfigError
from mednas.models.registry import NETWORK_TASKS, NETWORKS, build_model, register_network, searched_spec
from mednas.space.base import make_space


@pytest.mark.parametrize("cfg, genes", [({"name": "darts", "blocks": 2, "channels": 8}, 32),
                                        ({"name": "nsganet", "blocks": 2, "nodes": 4, "channels": 8}, 2 * 7)])
def test_every_sampled_genotype_builds_a_classifier_for_odd_and_even_sides(cfg, genes):
    space = make_space(cfg)
    assert len(space.gene_names) == genes
    rng = random.Random(0)
    for _ in range(8):
        g = space.sample(rng)
        assert space.from_dict(g.to_dict()) == g and g.key().startswith(cfg["name"])
        for side, channels in ((28, 3), (27, 1)):
            net = build_model(searched_spec(space, g, channels, 5, side))
            assert net(torch.randn(2, channels, side, side)).shape == (2, 5)


def test_darts_cells_take_two_distinct_inputs_and_stride_only_from_the_cell_inputs():
    from mednas.models.darts_net import DartsNet
    from mednas.space.darts import GENE_NAMES, DartsGenotype

    space = make_space({"name": "darts", "blocks": 1, "channels": 4})
    genes = dict.fromkeys(GENE_NAMES, 0)
    genes |= {"normal_n1_in0": 2, "normal_n1_in1": 2}  # both edges of node 1 read node 0
    with pytest.raises(ValueError, match="normal_n1: both edges read state 2"):
        space.from_dict(genes)
    repaired = space.repair(space.from_variables(genes)).to_dict()
    # the repeat moves to the next state, cyclically among 0..2, and the edges are put in input order
    assert (repaired["normal_n1_in0"], repaired["normal_n1_in1"]) == (0, 2)
    # one network, one key: a node's two edges swapped give the same genotype after repair
    a = dict.fromkeys(GENE_NAMES, 0) | {"normal_n3_op0": 5, "normal_n3_in0": 4, "normal_n3_op1": 1, "normal_n3_in1": 2}
    b = a | {"normal_n3_op0": 1, "normal_n3_in0": 2, "normal_n3_op1": 5, "normal_n3_in1": 4}
    assert space.repair(space.from_variables(a)) == space.repair(space.from_variables(b))
    with pytest.raises(ValueError, match="normal_n3: edges not in order"):
        space.validate(space.from_variables(space.repair(space.from_variables(b)).to_dict() | {
            "normal_n3_op0": 5, "normal_n3_in0": 4, "normal_n3_op1": 1, "normal_n3_in1": 2}))
    assert space.repair(DartsGenotype((9,) * 32)).genes[0] == 6  # an op index clipped to the 7 ops
    genes = space.repair(space.from_variables(dict.fromkeys(GENE_NAMES, 3) | {"reduce_n3_in0": 4})).to_dict()
    net = DartsNet(space.from_dict(genes), 1, 2, 4, 1)
    reduce = net.cells[1]
    assert [op[0][1].stride for op in reduce.ops] == [(1, 1) if src >= 2 else (2, 2) for src in reduce.inputs]
    assert net(torch.randn(1, 1, 9, 9)).shape == (1, 2)
    with pytest.raises(ConfigError, match="unknown key"):
        make_space({"name": "darts", "nodes": 4})
    with pytest.raises(ConfigError, match=r"space.channels must be an integer, got 16.5"):
        make_space({"name": "darts", "channels": 16.5})


def test_darts_sampling_draws_every_pair_of_inputs_alike():
    from collections import Counter

    space, rng = make_space({"name": "darts"}), random.Random(0)
    pairs = Counter()
    for _ in range(3000):
        g = space.sample(rng).to_dict()
        pairs[(g["normal_n2_in0"], g["normal_n2_in1"])] += 1  # node 2: 6 pairs of 4 states
    assert sorted(pairs) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert max(pairs.values()) / min(pairs.values()) < 1.25  # an independent draw and repair gives 1.5 and more


def test_nsganet_phase_follows_nsga_nets_repairs():
    from mednas.models.nsganet_net import phase_graph

    # 4 nodes: 1 -> 3 and 2 -> 3 set; node 4 isolated; node 3 has no output; residual set
    feeds = {1: [], 2: [], 3: [1, 2], 4: []}
    assert phase_graph(feeds, True, 4) == {1: [0], 2: [0], 3: [1, 2], 5: [0, 3]}
    # a chain 1 -> 2 -> 4: node 3 is left out, the end of the chain feeds the output
    assert phase_graph({1: [], 2: [1], 3: [], 4: [2]}, False, 4) == {1: [0], 2: [1], 4: [2], 5: [4]}
    # no connection bit: node 1 alone (ours: NSGA-Net drops the phase)
    assert phase_graph({1: [], 2: [], 3: [], 4: []}, False, 4) == {1: [0], 5: [1]}


def test_nsganet_genes_decode_to_the_phase_bits():
    space = make_space({"name": "nsganet", "blocks": 1, "nodes": 4})
    names = space.gene_names
    assert names == ("b0_n2_from1", "b0_n3_from1", "b0_n3_from2", "b0_n4_from1", "b0_n4_from2", "b0_n4_from3",
                     "b0_res")
    g = space.from_dict(dict(zip(names, (0, 1, 1, 0, 0, 1, 1))))
    assert g.phase(0) == ({1: [], 2: [], 3: [1, 2], 4: [3]}, True) and g.key() == "nsganet4-0110011"
    with pytest.raises(ValueError, match="bits only"):
        space.validate(type(g)((2,) + g.genes[1:], 4))


def test_a_network_registered_elsewhere_builds_through_the_registry():
    @register_network("net-test-only", "classification")
    def build(spec, in_channels, num_classes):
        return nn.Conv2d(in_channels, num_classes, int(spec["kernel"]))

    try:
        net = build_model({"kind": "net-test-only", "kernel": 3, "in_channels": 2, "num_classes": 4})
        assert isinstance(net, nn.Conv2d) and net.kernel_size == (3, 3) and net.out_channels == 4
        with pytest.raises(ValueError, match="registered twice"):
            register_network("net-test-only", "classification")(build)
        with pytest.raises(ValueError, match="task must be one of"):
            register_network("net-test-only-2", "detection")
    finally:
        NETWORKS.pop("net-test-only")
        NETWORK_TASKS.pop("net-test-only")
    with pytest.raises(ConfigError, match="unknown kind 'net-test-only'"):
        build_model({"kind": "net-test-only", "in_channels": 2, "num_classes": 4})
