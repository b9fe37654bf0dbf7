import numpy as np
import pytest
from scipy.ndimage import binary_dilation

from mednas.data.acdc import load_acdc, parse_info_cfg
from mednas.data.phantom import make_patient, write_phantom


def test_deterministic_by_seed():
    a, b, c = make_patient(3, seed=11), make_patient(3, seed=11), make_patient(3, seed=12)
    assert np.array_equal(a["frames"]["ED"][0], b["frames"]["ED"][0])
    assert np.array_equal(a["frames"]["ES"][1], b["frames"]["ES"][1])
    assert a["frames"]["ED"][0].shape != c["frames"]["ED"][0].shape or not np.array_equal(
        a["frames"]["ED"][0], c["frames"]["ED"][0]
    )


def test_written_in_official_layout(phantom_dir):
    patients = sorted(p.name for p in phantom_dir.iterdir())
    assert patients == ["patient001", "patient002", "patient003", "patient004"]
    for pid in patients:
        info = parse_info_cfg(phantom_dir / pid / "Info.cfg")
        assert set(info) == {"ED", "ES", "Group", "Height", "Weight", "NbFrame"}
        assert info["Group"] in {"NOR", "DCM", "HCM", "MINF", "RV"}
        for frame in (int(info["ED"]), int(info["ES"])):
            assert (phantom_dir / pid / f"{pid}_frame{frame:02d}.nii.gz").is_file()
            assert (phantom_dir / pid / f"{pid}_frame{frame:02d}_gt.nii.gz").is_file()


def test_spacing_in_header_is_anisotropic_and_realistic(phantom_dir):
    for vol in load_acdc(phantom_dir):
        thickness, row, col = vol.spacing
        assert 1.2 <= row <= 1.8 and row == pytest.approx(col)
        assert 5.0 <= thickness <= 10.0


def test_anatomy(phantom_dir):
    vols = {v.case_id: v for v in load_acdc(phantom_dir)}
    for pid in ("patient001", "patient002", "patient003", "patient004"):
        ed, es = vols[f"{pid}_ED"], vols[f"{pid}_ES"]
        assert set(np.unique(ed.label)) == {0, 1, 2, 3}
        # Contraction: both blood pools are smaller at end-systole.
        assert (es.label == 3).sum() < 0.85 * (ed.label == 3).sum()
        assert (es.label == 1).sum() < 0.9 * (ed.label == 1).sum()
        # The cavity shrinks from base to apex.
        lv_area = (ed.label == 3).sum(axis=(1, 2))
        n = len(lv_area)
        assert lv_area[: n // 3].mean() > 2 * lv_area[-(n // 3):].mean()
        # The myocardium encloses the LV cavity: its one-pixel rim is LV or MYO, never RV or background.
        lv = ed.label == 3
        rim = binary_dilation(lv, structure=np.ones((1, 3, 3))) & ~lv
        assert set(np.unique(ed.label[rim])) <= {2, 3}
        # Blood is brighter than myocardium.
        assert ed.image[0][ed.label == 3].mean() > 1.5 * ed.image[0][ed.label == 2].mean()


def test_segmentation_is_not_trivial(phantom_dir):
    # A single intensity threshold cannot tell the LV from the RV pool, nor the
    # myocardium from the tissue around it.
    for vol in load_acdc(phantom_dir)[:4]:
        img, lbl = vol.image[0], vol.label
        best_lv = 0.0
        for thr in np.percentile(img, np.linspace(80, 99.9, 40)):
            pred = img > thr
            best_lv = max(best_lv, 2 * (pred & (lbl == 3)).sum() / (pred.sum() + (lbl == 3).sum()))
        assert best_lv < 0.9
        myo = img[lbl == 2]
        body_tissue = img[(lbl == 0) & (img > np.percentile(myo, 5)) & (img < np.percentile(myo, 95))]
        assert body_tissue.size > 2 * myo.size


def test_failure_leaves_no_folder(tmp_path, monkeypatch):
    import mednas.data.phantom as ph

    calls = {"n": 0}
    real = ph.make_patient

    def flaky(index, seed):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(index, seed)

    monkeypatch.setattr(ph, "make_patient", flaky)
    with pytest.raises(RuntimeError):
        write_phantom(tmp_path / "raw", 3, seed=0)
    assert list(tmp_path.iterdir()) == []


def test_cli_phantom(tmp_path):
    from mednas.cli import main

    assert main(["phantom", str(tmp_path / "p"), "--patients", "2", "--seed", "3"]) == 0
    assert len(load_acdc(tmp_path / "p")) == 4
