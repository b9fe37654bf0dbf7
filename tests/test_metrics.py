import numpy as np
import pytest
from scipy.ndimage import binary_erosion
from scipy.spatial.distance import cdist

from mednas.metrics.classification import accuracy, auc
from mednas.metrics.segmentation import dice, hd95, per_structure, volume_diagonal

SPACING = (8.0, 1.5, 1.25)  # (slice, row, col) mm, as on ACDC


def _surface_points(mask, spacing):
    surface = mask & ~binary_erosion(mask, structure=np.ones((3,) * mask.ndim), border_value=0)
    return np.argwhere(surface) * np.asarray(spacing)


def _brute_hd95(a, b, spacing):
    """Symmetric HD95 from all pairwise surface distances: max of the two directed 95th percentiles."""
    pa, pb = _surface_points(a, spacing), _surface_points(b, spacing)
    d = cdist(pa, pb)
    return max(np.percentile(d.min(axis=1), 95), np.percentile(d.min(axis=0), 95))


def test_dice_by_hand():
    a = np.zeros((2, 4, 4), bool)
    b = a.copy()
    a[0, :2, :2] = True  # 4 voxels
    b[0, :2, :3] = True  # 6 voxels, 4 shared
    assert dice(a, b) == pytest.approx(2 * 4 / 10)
    assert dice(a, a) == 1.0


def test_hd95_single_voxels_anisotropic():
    a = np.zeros((4, 6, 6), bool)
    b = a.copy()
    a[0, 0, 0] = True
    b[2, 3, 1] = True
    expected = np.sqrt((2 * 8.0) ** 2 + (3 * 1.5) ** 2 + (1 * 1.25) ** 2)
    assert hd95(a, b, SPACING) == pytest.approx(expected, rel=1e-5)
    assert hd95(a, b, None) == pytest.approx(np.sqrt(4 + 9 + 1), rel=1e-5)  # voxels


def test_hd95_parallel_slabs_measures_slice_spacing():
    a = np.zeros((4, 8, 8), bool)
    b = a.copy()
    a[1] = True
    b[2] = True
    assert hd95(a, b, SPACING) == pytest.approx(8.0)
    assert hd95(a, a, SPACING) == 0.0


def test_hd95_percentile_ignores_a_few_outliers():
    a = np.zeros((1, 60, 60), bool)
    a[0, 10:50, 10:50] = True
    b = a.copy()
    b[0, 59, 59] = True  # one stray voxel far away
    sp = (1.0, 1.0, 1.0)
    hd100 = np.max(cdist(_surface_points(b, sp), _surface_points(a, sp)).min(axis=1))
    assert hd95(a, b, sp) < 0.2 * hd100


@pytest.mark.parametrize("seed", range(4))
def test_hd95_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    a = np.zeros((5, 20, 20), bool)
    b = a.copy()
    a[1:4, 4:14, 5:15] = True
    b[1:5, 6:16, 3:13] = True
    a[rng.integers(5), rng.integers(20), rng.integers(20)] = True
    assert hd95(a, b, SPACING) == pytest.approx(_brute_hd95(a, b, SPACING), rel=1e-4)


def test_empty_mask_conventions():
    empty = np.zeros((3, 5, 5), bool)
    one = empty.copy()
    one[1, 2, 2] = True
    assert dice(empty, empty) == 1.0 and hd95(empty, empty, SPACING) == 0.0
    assert dice(one, empty) == 0.0 and dice(empty, one) == 0.0
    diag = np.sqrt((2 * 8.0) ** 2 + (4 * 1.5) ** 2 + (4 * 1.25) ** 2)
    assert volume_diagonal((3, 5, 5), SPACING) == pytest.approx(diag)
    assert hd95(one, empty, SPACING) == pytest.approx(diag)
    assert hd95(empty, one, None) == pytest.approx(np.sqrt(4 + 16 + 16))


def test_per_structure():
    ref = np.zeros((2, 10, 10), np.uint8)
    ref[:, 2:5, 2:5] = 1
    ref[:, 6:9, 6:9] = 3
    pred = ref.copy()
    pred[:, 6:9, 6:9] = 0  # LV missed
    res = per_structure(pred, ref, SPACING, {1: "RV", 2: "MYO", 3: "LV"})
    assert res["RV"] == {"dice": 1.0, "hd95": 0.0}
    assert res["MYO"] == {"dice": 1.0, "hd95": 0.0}  # absent in both
    assert res["LV"]["dice"] == 0.0 and res["LV"]["hd95"] == pytest.approx(volume_diagonal(ref.shape, SPACING))


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differs"):
        dice(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="spacing"):
        hd95(np.ones((2, 2, 2), bool), np.ones((2, 2, 2), bool), (1.0, 1.0))


def test_accuracy_and_auc_by_hand():
    assert accuracy([0, 1, 1, 0], [0, 1, 0, 0]) == 0.75
    # 4 positive/negative pairs, 3 ranked correctly.
    assert auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert auc([0, 0, 1, 1], np.array([[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]])) == pytest.approx(0.75)
    probs = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4]])
    assert auc([0, 1, 2, 2], probs) == pytest.approx(1.0)
    flipped = probs[:, ::-1]
    # class 0 vs rest: scores 0.1,0.1,0.7,0.4 for labels 1,0,0,0 -> 0 of 3 pairs right... macro mean below 0.5
    assert auc([0, 1, 2, 2], flipped) < 0.5
