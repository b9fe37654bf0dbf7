import numpy as np
import pytest
import torch

from mednas.data.acdc import ACDC_LABELS
from mednas.data.slices import SliceSet, load_slices
from mednas.models.cardiac_net import ArchSettings, build_subnet
from mednas.space.cardiac import Genotype
from mednas.train.augment import AugmentSettings, augment_batch
from mednas.train.loop import TrainSettings, fit
from mednas.train.loop import batch_indices, distillation_loss
from mednas.train.schedule import lr_factor, make_scheduler
from mednas.train.seeding import seed_everything
from mednas.train.validation import evaluate_volumes

G = Genotype(4, 3, 2, 0.2, "se", "concat", "relu", 0.5)
ARCH = ArchSettings(1, 4)


def _toy_slices(n_cases=3, depth=4, size=16, seed=0) -> SliceSet:
    """Bright discs labelled LV, ring labelled MYO: a task a tiny net can start learning."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images, labels, ids, idx = [], [], [], []
    for c in range(n_cases):
        for k in range(depth):
            r = np.hypot(yy - size / 2 - rng.integers(-2, 3), xx - size / 2 - rng.integers(-2, 3))
            lbl = np.where(r < 3, 3, np.where(r < 5, 2, 0)).astype(np.uint8)
            images.append((lbl == 3) * 1.0 + (lbl == 2) * 0.3 + rng.normal(0, 0.1, lbl.shape))
            labels.append(lbl)
            ids.append(f"case{c}")
            idx.append(k)
    n = len(images)
    return SliceSet(np.asarray(images, np.float32)[:, None], np.asarray(labels), np.asarray(ids), np.asarray(idx),
                    np.tile(np.float32([5, 1.5, 1.5]), (n, 1)), "mm", np.asarray(ids), ACDC_LABELS)


SETTINGS = TrainSettings(epochs=2, batch_size=4, lr=0.05, schedule="poly", amp=False)


def _run(tmp_path, name, fail_at_epoch=None):
    seed_everything(3)
    model = build_subnet(G, ARCH)
    data = _toy_slices()

    def validate(m):
        if fail_at_epoch is not None and len(calls) + 1 == fail_at_epoch:
            raise KeyboardInterrupt("killed")
        calls.append(1)
        m.eval()
        return evaluate_volumes(m, data, "cpu", 8)

    calls: list[int] = []
    rows = fit(model, data, SETTINGS, "cpu", seed=3, archs_per_step=lambda rng: [None], validate=validate,
               checkpoint=tmp_path / f"{name}.pt", fingerprint="fp", keep_best=True).rows
    return model, rows


def test_resume_after_kill_reproduces_an_uninterrupted_run(tmp_path):
    straight, rows_a = _run(tmp_path, "a")
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, "b", fail_at_epoch=2)  # dies during epoch 2, after epoch 1's checkpoint
    resumed, rows_b = _run(tmp_path, "b")
    assert [r["epoch"] for r in rows_b] == [1, 2]
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    assert rows_a[-1]["train_loss"] == rows_b[-1]["train_loss"]


def test_checkpoint_of_other_settings_is_ignored(tmp_path):
    _run(tmp_path, "c")
    seed_everything(3)
    data = _toy_slices()
    rows = fit(build_subnet(G, ARCH), data, SETTINGS, "cpu", 3, lambda rng: [None],
               lambda m: {"dice_mean": 0.0}, tmp_path / "c.pt", fingerprint="other").rows
    assert [r["epoch"] for r in rows] == [1, 2]  # started over instead of resuming


def test_corrupt_checkpoint_is_named_set_aside_and_training_starts_over(tmp_path, caplog):
    straight, rows_a = _run(tmp_path, "e")
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, "f", fail_at_epoch=2)
    ckpt = tmp_path / "f.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:100])  # truncated, as by a full disk or a kill mid-copy
    with caplog.at_level("WARNING", logger="mednas"):
        again, rows = _run(tmp_path, "f")
    assert str(ckpt) in caplog.text and "cannot be read" in caplog.text
    assert (tmp_path / "f.pt.corrupt").is_file()
    assert [r["epoch"] for r in rows] == [1, 2] and rows[-1]["train_loss"] == rows_a[-1]["train_loss"]
    for (name, a), b in zip(straight.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), name


def test_training_reduces_the_loss(tmp_path):
    seed_everything(0)
    data = _toy_slices(n_cases=4)
    settings = TrainSettings(epochs=6, batch_size=4, lr=0.05, schedule="constant", amp=False,
                             augment=AugmentSettings(flip=True, rotate_deg=0, scale=(1, 1), intensity=0))
    rows = fit(build_subnet(G, ARCH), data, settings, "cpu", 0, lambda rng: [None],
               lambda m: {}, tmp_path / "d.pt", "fp").rows
    assert rows[-1]["train_loss"] < 0.8 * rows[0]["train_loss"]


def test_flip_only_augmentation_is_an_exact_flip():
    x = torch.arange(2 * 16, dtype=torch.float32).reshape(2, 1, 4, 4)
    y = (x[:, 0] % 4).long()
    s = AugmentSettings(flip=True, rotate_deg=0, scale=(1.0, 1.0), intensity=0.0)
    ax, ay = augment_batch(x, y, s, torch.Generator().manual_seed(0))
    for i in range(2):
        candidates = [x[i], x[i].flip(-1), x[i].flip(-2), x[i].flip(-1).flip(-2)]
        assert any(torch.allclose(ax[i], c, atol=1e-5) for c in candidates)
        j = [k for k, c in enumerate(candidates) if torch.allclose(ax[i], c, atol=1e-5)][0]
        assert torch.equal(ay[i], [y[i], y[i].flip(-1), y[i].flip(-2), y[i].flip(-1).flip(-2)][j])


def test_augmentation_keeps_labels_valid_and_is_seeded():
    x = torch.randn(4, 1, 32, 32)
    y = torch.randint(0, 4, (4, 32, 32))
    a = augment_batch(x, y, AugmentSettings(), torch.Generator().manual_seed(5))
    b = augment_batch(x, y, AugmentSettings(), torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert set(a[1].unique().tolist()) <= {0, 1, 2, 3}


def test_schedules():
    for name, mid in (("constant", 1.0), ("poly", 0.5**0.9), ("cosine", 0.5)):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        sched = make_scheduler(opt, name, total_steps=10)
        for _ in range(5):
            opt.step()
            sched.step()
        assert opt.param_groups[0]["lr"] == pytest.approx(mid)
    with pytest.raises(ValueError, match="train.schedule"):
        make_scheduler(opt, "step", 10)


def test_slice_set_volumes(phantom_prepared):
    data = load_slices(phantom_prepared / "val.npz")
    vols = data.volumes()
    assert len(vols) == 2 and sum(r.stop - r.start for _, r, _ in vols) == len(data)
    assert all(sp[1] == pytest.approx(6.0, rel=0.05) for _, _, sp in vols)


def test_warmup_follows_the_real_number_of_steps():
    for total in (20, 400):
        f = lr_factor("poly", total, warmup=0.1)
        w = round(0.1 * total)
        rates = [f(s) for s in range(total)]
        # rises linearly to the base rate over exactly the first 10 % of the steps, then decays
        assert rates[0] == pytest.approx(1 / w) and rates[w - 1] == pytest.approx(1.0)
        assert all(a < b for a, b in zip(rates[:w - 1], rates[1:w]))
        assert all(a > b for a, b in zip(rates[w:-1], rates[w + 1:]))
        assert f(total) == pytest.approx(0.0)
    assert lr_factor("cosine", 100, 0.2)(60) == pytest.approx(0.5)  # halfway through the decay part
    with pytest.raises(ValueError, match="train.warmup"):
        lr_factor("poly", 10, warmup=1.0)


def test_schedule_spans_the_whole_budget_in_fit(tmp_path):
    """The scheduler's horizon is rounds x steps per round: the rate reaches zero at the last step."""
    data = _toy_slices()  # 12 slices: 3 batches of 4 per pass
    settings = TrainSettings(epochs=2, batch_size=4, lr=0.1, schedule="poly", warmup=0.25, amp=False,
                             steps_per_epoch=5)  # rounds longer than a pass
    rows = fit(build_subnet(G, ARCH), data, settings, "cpu", 0, lambda rng: [None], lambda m: {},
               tmp_path / "s.pt", "fp").rows
    assert [r["step"] for r in rows] == [5, 10]
    assert rows[0]["lr"] == pytest.approx(0.1 * lr_factor("poly", 10, 0.25)(5))
    assert rows[-1]["lr"] == pytest.approx(0.0)


def test_batches_stream_over_passes_without_repeats_within_a_pass():
    n, b = 10, 3  # 3 batches per pass, one slice left out of each pass
    passes = [torch.cat([batch_indices(p * 3 + i, n, b, seed=1) for i in range(3)]) for p in range(3)]
    for p in passes:
        assert len(set(p.tolist())) == 9
    assert not torch.equal(passes[0], passes[1])  # each pass is a new permutation
    assert torch.equal(batch_indices(4, n, b, 1), batch_indices(4, n, b, 1))


def test_best_round_is_kept_beside_the_last(tmp_path):
    """keep_best returns the weights of the round with the highest validation Dice, not the last."""
    data = _toy_slices()
    scores = iter([0.2, 0.9, 0.4])
    snapshots = []

    def validate(m):
        snapshots.append({k: v.clone() for k, v in m.state_dict().items()})
        return {"dice_mean": next(scores)}

    settings = TrainSettings(epochs=3, batch_size=4, lr=0.05, amp=False, steps_per_epoch=2)
    model = build_subnet(G, ARCH)
    result = fit(model, data, settings, "cpu", 0, lambda rng: [None], validate, tmp_path / "b.pt", "fp",
                 keep_best=True)
    assert result.best_epoch == 2
    assert all(torch.equal(result.best_state[k], snapshots[1][k]) for k in snapshots[1])
    assert not all(torch.equal(model.state_dict()[k], snapshots[1][k]) for k in snapshots[1])


def test_distillation_loss_is_minimal_at_the_teacher():
    teacher = torch.randn(2, 4, 5, 5)
    student = torch.randn(2, 4, 5, 5, requires_grad=True)
    at_teacher = distillation_loss(teacher, teacher)
    assert distillation_loss(student, teacher) > at_teacher
    distillation_loss(student, teacher).backward()
    # gradient of soft cross-entropy w.r.t. logits: softmax(student) - softmax(teacher), per pixel
    expected = (torch.softmax(student, 1) - torch.softmax(teacher, 1)) / (2 * 5 * 5)
    assert torch.allclose(student.grad, expected, atol=1e-6)


def test_adamw_is_a_setting_and_unknown_optimisers_are_errors(tmp_path):
    settings = TrainSettings(epochs=1, batch_size=4, lr=0.01, optimizer="adamw", amp=False, steps_per_epoch=2)
    fit(build_subnet(G, ARCH), _toy_slices(), settings, "cpu", 0, lambda rng: [None], lambda m: {},
        tmp_path / "a.pt", "fp")
    with pytest.raises(ValueError, match="train.optimizer"):
        TrainSettings(epochs=1, optimizer="lamb")


def test_precision_per_device():
    from mednas.train.precision import precision_for

    cpu = precision_for("cpu", amp=True, cpu_bf16=True, channels_last=True)
    conv = torch.nn.Conv2d(1, 2, 3)
    with cpu.autocast():
        assert conv(torch.randn(1, 1, 8, 8)).dtype == torch.bfloat16
    assert not cpu.scaled and cpu.input(torch.randn(2, 3, 4, 4)).is_contiguous(memory_format=torch.channels_last)
    fp32 = precision_for("cpu", amp=True, cpu_bf16=False, channels_last=False)
    with fp32.autocast():
        assert conv(torch.randn(1, 1, 8, 8)).dtype == torch.float32
    cuda = precision_for("cuda:0", amp=True, cpu_bf16=True, channels_last=False)
    assert cuda.dtype is torch.float16 and cuda.scaled  # float16 needs the gradient scaler
    assert precision_for("cuda", amp=False, cpu_bf16=True, channels_last=False).dtype is None


def test_bf16_channels_last_training_runs_and_returns_a_contiguous_model(tmp_path):
    settings = TrainSettings(epochs=1, batch_size=4, lr=0.01, amp=False, cpu_bf16=True, channels_last=True,
                             steps_per_epoch=2)
    model = build_subnet(G, ARCH)
    rows = fit(model, _toy_slices(), settings, "cpu", 0, lambda rng: [None], lambda m: {}, tmp_path / "p.pt",
               "fp").rows
    assert np.isfinite(rows[0]["train_loss"])
    assert all(p.is_contiguous() for p in model.parameters())  # extraction and saving expect this layout


@pytest.mark.parametrize("native", [True, False])
def test_cpu_bf16_auto_follows_the_cpus_native_bf16(monkeypatch, native, tmp_path):
    """auto: bf16 only where the CPU has native bf16 (2x faster there, 10x slower on AVX2-only CPUs)."""
    from mednas.train import precision

    monkeypatch.setattr(precision.torch.cpu, "_is_avx512_bf16_supported", lambda: native)
    monkeypatch.setattr(precision.torch.cpu, "_is_amx_tile_supported", lambda: False)
    cpu = precision.precision_for("cpu", amp=True, cpu_bf16="auto", channels_last=True)
    assert cpu.dtype is (torch.bfloat16 if native else None)
    assert cpu.name == ("cpu-bf16-cl" if native else "cpu-fp32-cl")
    # CUDA keeps float16 AMP whatever the CPU can do
    assert precision.precision_for("cuda", amp=True, cpu_bf16="auto", channels_last=False).name == "cuda-fp16"
    settings = TrainSettings(epochs=1, batch_size=4, lr=0.01, amp=False, cpu_bf16="auto", steps_per_epoch=1)
    rows = fit(build_subnet(G, ARCH), _toy_slices(), settings, "cpu", 0, lambda rng: [None], lambda m: {},
               tmp_path / "a.pt", "fp").rows
    assert rows[0]["precision"] == ("cpu-bf16" if native else "cpu-fp32")  # the curve records what ran


def test_cpu_bf16_rejects_anything_but_true_false_auto():
    with pytest.raises(ValueError, match="train.cpu_bf16"):
        TrainSettings(epochs=1, cpu_bf16="yes")


def test_round_log_names_no_validation_where_none_ran(tmp_path, caplog):
    # a search proxy validates once after training: its rounds must not log "val dice nan"
    seed_everything(3)
    with caplog.at_level("INFO", logger="mednas"):
        fit(build_subnet(G, ARCH), _toy_slices(), SETTINGS, "cpu", 3, lambda rng: [None], lambda m: {},
            tmp_path / "none.pt", fingerprint="fp")
    rounds = [r.getMessage() for r in caplog.records if r.getMessage().startswith("round ")]
    assert len(rounds) == 2 and not any("nan" in m or "val" in m for m in rounds), rounds
    caplog.clear()
    with caplog.at_level("INFO", logger="mednas"):
        fit(build_subnet(G, ARCH), _toy_slices(), SETTINGS, "cpu", 3, lambda rng: [None],
            lambda m: {"dice_mean": 0.25, "hd95_mean": 3.0}, tmp_path / "some.pt", fingerprint="fp")
    assert any("val dice 0.2500, val hd95 3.00" in r.getMessage() for r in caplog.records)
