"""Weight sharing is a plug-in: a supernet family registered for a space gives it supernet
training, the supernet file and the inherit evaluator, with no change to those callers."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mednas.errors import ConfigError, DataError
from mednas.models.supernets import SUPERNETS, SupernetFamily, has_supernet, supernet_spaces
from mednas.space.base import make_space

SMALL = {"name": "unet_widths", "bases": [4, 8], "depths": [1, 3]}
TRAIN = {"batch_size": 4, "lr": 0.01, "val_batch_size": 16, "optimizer": "adamw", "schedule": "constant",
         "warmup": 0.0, "augment": {"flip": False, "rotate_deg": 0, "scale": [1.0, 1.0], "intensity": 0.0}}
SUPERNET = {"epochs": 1, "steps_per_epoch": 3, "sandwich_random": 1, "bn_recal_batches": 1, "distill": True}


class WidthNet(nn.Module):
    """A toy supernet over the unet_widths space's ``base`` gene: one 3x3 convolution of ``base``
    of the widest's filters, then a 1x1 head over them."""

    def __init__(self, in_channels: int, num_classes: int, widest: int):
        super().__init__()
        self.conv, self.head = nn.Conv2d(in_channels, widest, 3, padding=1), nn.Conv2d(widest, num_classes, 1)

    def forward(self, x, g):
        h = F.relu(F.conv2d(x, self.conv.weight[:g.base], self.conv.bias[:g.base], padding=1))
        return F.conv2d(h, self.head.weight[:, :g.base], self.head.bias)


def _family(calls: list) -> SupernetFamily:
    from mednas.space.unet_widths import UNetWidthsSpace

    def sandwich(space, rng: random.Random, n: int):
        step = [space.largest(), space.from_dict({"base": space.bases[0], "depth": space.depths[0]}),
                *(space.sample(rng) for _ in range(n))]
        calls.append([g.key() for g in step])
        return step

    return SupernetFamily(
        settings=lambda cfg, in_ch, n_cls: (in_ch, n_cls), build=lambda space, s: WidthNet(*s, space.bases[1]),
        sandwich=sandwich, reference=lambda space: space.largest(),
        describe=lambda space, s: {"bases": list(space.bases), "depths": list(space.depths), "channels": list(s)},
        rebuild=lambda r: (UNetWidthsSpace(tuple(r["bases"]), tuple(r["depths"])), tuple(r["channels"])),
        channels=lambda s: tuple(s))


def test_a_registered_family_gives_another_space_supernet_training_and_inherited_scores(
        phantom_prepared, tmp_path, monkeypatch):
    from mednas.data.slices import load_slices
    from mednas.evaluate.inherit import InheritEvaluator
    from mednas.search.stages import check_segmentation_search
    from mednas.train.stages import run_train_supernet
    from mednas.train.supernet import load_supernet

    space = make_space(SMALL)
    assert "cardiac" in supernet_spaces() and not has_supernet(space)
    with pytest.raises(ConfigError, match="inherit needs a weight-sharing supernet"):
        check_segmentation_search(SMALL, {"evaluator": "inherit"})
    calls: list = []
    monkeypatch.setitem(SUPERNETS, "unet_widths", _family(calls))
    assert has_supernet(space)
    check_segmentation_search(SMALL, {"evaluator": "inherit"})  # the search takes it now
    out = tmp_path / "supernet.pt"
    rows = run_train_supernet(str(phantom_prepared / "train.npz"), str(phantom_prepared / "val.npz"), SMALL, {},
                              TRAIN, SUPERNET, 0, "cpu", str(tmp_path / "ck" / "ck.pt"), str(out),
                              str(tmp_path / "curve.csv"))
    assert len(calls) == 3 and all(step[0] == "unet-b8-d3" for step in calls)  # the family's sandwich, each step
    assert rows[-1]["val_genotype"] == "unet-b8-d3" and 0 <= rows[-1]["val_dice_mean"] <= 1
    model, loaded, channels, meta = load_supernet(out)
    assert isinstance(model, WidthNet) and loaded.bases == (4, 8) and channels == (1, 4)
    assert meta["steps"] == 3
    train, val = (load_slices(phantom_prepared / f"{k}.npz") for k in ("train", "val"))
    inherit = InheritEvaluator(out, train, val, "cpu", 4, 16, 1, 0)
    g = space.from_dict({"base": 6, "depth": 2})
    first = inherit(g)
    assert inherit(g) == first and 0 <= first["dice_mean"] <= 1


def test_a_supernet_file_without_its_space_name_is_refused(tmp_path):
    from mednas.train.supernet import load_supernet

    old = tmp_path / "old.pt"
    torch.save({"state_dict": {}, "space": {}, "arch": {}, "meta": {}}, old)
    with pytest.raises(DataError, match=r"old.pt: a supernet file without its space's name.*retrain"):
        load_supernet(old)
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}, "space_name": "unet_widths", "family": {}, "meta": {}}, other)
    with pytest.raises(ConfigError, match=r"other.pt: space_name: space 'unet_widths' has no weight-sharing supernet"):
        load_supernet(other)


def test_a_family_is_registered_once():
    from mednas.models.supernets import register_supernet

    supernet_spaces()
    with pytest.raises(ValueError, match="registered twice"):
        register_supernet("cardiac", SUPERNETS["cardiac"])
