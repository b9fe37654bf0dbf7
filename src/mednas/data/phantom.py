"""Synthetic cardiac cine-MRI phantom written in the official ACDC layout.

Each patient gets a short-axis stack at end-diastole and end-systole with labels 1 RV,
2 MYO, 3 LV, an ``Info.cfg`` and the voxel spacing in the NIfTI header. Anatomy is drawn
in millimetres (so it is independent of the pixel grid) and then rendered with the
things that make real segmentation hard: partial-volume blur, a smooth bias field,
per-patient contrast, papillary muscles inside the blood pool, slice misregistration and
Rician noise. Everything is a function of ``(seed, patient index)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from mednas.atomic import atomic_output

GROUPS = ("NOR", "DCM", "HCM", "MINF", "RV")


@dataclass(frozen=True)
class HeartShape:
    """Geometry of one patient's heart at end-diastole (lengths in mm)."""

    lv_radius: float  # endocardial radius at the base
    wall: float  # mean myocardial thickness
    wall_variation: float  # relative amplitude of the thickness variation around the ring
    wall_phase: float  # angle of the thickest wall
    ellipticity: float  # minor / major axis ratio of the LV
    orientation: float  # rotation of the heart in the image plane
    rv_scale: float  # RV size relative to the LV epicardium
    rv_angle: float  # direction of the RV from the LV centre
    rv_extent: float  # fraction of the base-apex length the RV covers
    lv_ef: float  # fraction by which the LV radius shrinks at end-systole
    rv_ef: float
    infarct_angle: float | None  # MINF: thinned wall segment


def _sample_shape(rng: np.random.Generator, group: str) -> HeartShape:
    lv_radius = rng.uniform(20.0, 27.0)
    wall = rng.uniform(6.5, 10.0)
    lv_ef = rng.uniform(0.28, 0.38)
    rv_scale = rng.uniform(0.95, 1.2)
    rv_ef = rng.uniform(0.25, 0.35)
    if group == "DCM":  # dilated, thin, poorly contracting
        lv_radius *= 1.3
        wall *= 0.75
        lv_ef *= 0.4
    elif group == "HCM":  # thick walls, small cavity, hyperdynamic
        lv_radius *= 0.8
        wall *= 1.6
        lv_ef *= 1.25
    elif group == "MINF":
        lv_radius *= 1.1
        lv_ef *= 0.6
    elif group == "RV":  # abnormal right ventricle
        rv_scale *= 1.35
        rv_ef *= 0.5
    return HeartShape(
        lv_radius=lv_radius,
        wall=wall,
        wall_variation=rng.uniform(0.1, 0.3),
        wall_phase=rng.uniform(0, 2 * np.pi),
        ellipticity=rng.uniform(0.85, 1.0),
        orientation=rng.uniform(-0.4, 0.4),
        rv_scale=rv_scale,
        rv_angle=np.pi + rng.uniform(-0.35, 0.35),
        rv_extent=rng.uniform(0.7, 0.85),
        lv_ef=lv_ef,
        rv_ef=rv_ef,
        infarct_angle=rng.uniform(0, 2 * np.pi) if group == "MINF" else None,
    )


def _angle_gap(a: np.ndarray, b: float) -> np.ndarray:
    return np.abs(np.angle(np.exp(1j * (a - b))))


def _slice_masks(
    yy: np.ndarray, xx: np.ndarray, shape: HeartShape, t: float, systole: bool, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """LV blood, myocardium, RV blood, papillary-muscle and epicardial-fat masks of one slice.

    ``t`` runs from 0 at the base to 1 at the apex; ``yy``/``xx`` are mm from the LV centre.
    """
    c, s = np.cos(shape.orientation), np.sin(shape.orientation)
    u, v = c * xx + s * yy, -s * xx + c * yy
    r = np.hypot(u, v / shape.ellipticity)
    theta = np.arctan2(v, u)

    # Cavity closes towards the apex; the last part of the stack is apical myocardium only.
    taper = np.sqrt(np.clip(1.0 - (t / 0.88) ** 2, 0.0, 1.0))
    endo = shape.lv_radius * taper
    wall = shape.wall * (1.0 + shape.wall_variation * np.cos(theta - shape.wall_phase)) * (1.0 - 0.3 * t)
    if shape.infarct_angle is not None:
        wall = wall * (1.0 - 0.45 * (_angle_gap(theta, shape.infarct_angle) < 0.6))
    if systole:
        # The wall thickens as the cavity shrinks: myocardial area is roughly conserved.
        endo_s = endo * (1.0 - shape.lv_ef)
        epi_sq = (endo + wall) ** 2 - endo**2 + endo_s**2
        epi = np.sqrt(epi_sq)
        endo = endo_s
    else:
        epi = endo + wall
    lv = r <= endo
    myo = (r <= epi) & ~lv

    # Papillary muscles: two dark blobs against the wall, labelled as LV cavity (ACDC convention).
    papillary = np.zeros_like(lv)
    if endo > 8.0 and t < 0.7:
        for ang in (shape.wall_phase + 0.9, shape.wall_phase - 0.9):
            cu, cv = 0.72 * endo * np.cos(ang), 0.72 * endo * np.sin(ang) * shape.ellipticity
            papillary |= np.hypot(u - cu, v - cv) <= 0.18 * endo + rng.uniform(0.0, 1.0)
        papillary &= lv

    rv = np.zeros_like(lv)
    if t <= shape.rv_extent:
        rv_taper = np.sqrt(max(0.0, 1.0 - (t / shape.rv_extent) ** 1.5))
        epi_mean = float(shape.lv_radius * taper + shape.wall)
        size = shape.rv_scale * rv_taper * (1.0 - (shape.rv_ef if systole else 0.0))
        a, b = 1.45 * epi_mean * size + 4.0, 0.75 * epi_mean * size + 2.0
        cx, cy = np.cos(shape.rv_angle) * 0.9 * epi_mean, np.sin(shape.rv_angle) * 0.9 * epi_mean
        du, dv = u - cx, v - cy
        ca, sa = np.cos(shape.rv_angle), np.sin(shape.rv_angle)
        along, across = ca * du + sa * dv, -sa * du + ca * dv
        rv_ellipse = (along / b) ** 2 + (across / a) ** 2 <= 1.0
        # 2.5 mm of free wall between the septum and the RV blood pool.
        rv = rv_ellipse & (r > epi + 2.5)
    # Epicardial fat covers part of the outer wall, away from the RV: a partial cue only.
    fat_arc = (r > epi + 0.5) & (r <= epi + 3.0) & (_angle_gap(theta, shape.rv_angle + np.pi) < 1.8) & ~rv
    return lv, myo, rv, papillary, fat_arc


def _render(
    lv: np.ndarray, myo: np.ndarray, rv: np.ndarray, papillary: np.ndarray, body: np.ndarray, lungs: np.ndarray,
    fat: np.ndarray, tones: dict[str, float],
) -> np.ndarray:
    img = np.full(lv.shape, tones["air"], dtype=np.float64)
    img[body] = tones["tissue"]
    img[fat] = tones["fat"]
    img[lungs] = tones["lung"]
    img[myo] = tones["myo"]
    img[rv] = tones["rv"]
    img[lv] = tones["lv"]
    img[papillary] = tones["myo"]
    return img


def make_patient(index: int, seed: int) -> dict:
    """Generate one patient: ED and ES volumes (``(slices, rows, cols)``), labels and metadata."""
    rng = np.random.default_rng([seed, index])
    group = GROUPS[int(rng.integers(len(GROUPS)))]
    shape = _sample_shape(rng, group)
    inplane = float(np.round(rng.uniform(1.2, 1.8), 3))
    thickness = float(np.round(rng.uniform(5.0, 10.0), 1))
    heart_length = rng.uniform(85.0, 105.0)
    n_slices = int(np.clip(round(heart_length / thickness) + 1, 6, 18))
    fov = rng.uniform(300.0, 360.0)
    rows = int(round(fov / inplane))
    cols = int(round(fov * rng.uniform(0.8, 1.0) / inplane))
    centre = np.array([rows, cols]) * inplane / 2 + rng.normal(0, 8.0, size=2)
    tones = {
        "air": 0.02, "lung": rng.uniform(0.04, 0.1), "tissue": rng.uniform(0.22, 0.32),
        "fat": rng.uniform(0.55, 0.7), "myo": rng.uniform(0.2, 0.3),
        "rv": rng.uniform(0.7, 0.85), "lv": rng.uniform(0.8, 0.95),
    }
    noise = rng.uniform(0.03, 0.06)
    gamma = rng.uniform(0.75, 1.35)
    scale = rng.uniform(300.0, 1200.0)
    blur_mm = rng.uniform(0.8, 1.6)
    bias = rng.normal(0, 0.25, size=5)
    # Breath-hold differences: each slice is shifted a little in plane.
    shifts = rng.normal(0, 1.5, size=(n_slices, 2))

    yy_mm = (np.arange(rows) + 0.5)[:, None] * inplane
    xx_mm = (np.arange(cols) + 0.5)[None, :] * inplane
    ny, nx = (yy_mm - rows * inplane / 2) / (rows * inplane / 2), (xx_mm - cols * inplane / 2) / (cols * inplane / 2)
    body = (ny / 0.85) ** 2 + (nx / 0.95) ** 2 <= 1.0
    fat = body & ((ny / 0.85) ** 2 + (nx / 0.95) ** 2 > 0.86)
    lungs = body & ((((ny - 0.05) / 0.55) ** 2 + ((nx - 0.55) / 0.3) ** 2 <= 1.0)
                    | (((ny + 0.05) / 0.55) ** 2 + ((nx + 0.6) / 0.28) ** 2 <= 1.0))
    bias_field = np.exp(bias[0] * ny + bias[1] * nx + bias[2] * ny * nx + bias[3] * ny**2 + bias[4] * nx**2)

    es_frame = int(rng.integers(9, 16))
    frames = {}
    for phase, systole in (("ED", False), ("ES", True)):
        phase_rng = np.random.default_rng([seed, index, int(systole)])
        image = np.empty((n_slices, rows, cols), dtype=np.float64)
        label = np.zeros((n_slices, rows, cols), dtype=np.uint8)
        for k in range(n_slices):
            t = k / (n_slices - 1)
            dy, dx = centre + shifts[k]
            lv, myo, rv, pap, fat_arc = _slice_masks(yy_mm - dy, xx_mm - dx, shape, t, systole, phase_rng)
            lungs_k = lungs & ~(lv | myo | rv | fat_arc)
            clean = _render(lv, myo, rv, pap, body, lungs_k, fat | fat_arc, tones)
            clean = gaussian_filter(clean, sigma=blur_mm / inplane) * bias_field
            clean = np.clip(clean, 0, None) ** gamma
            slice_gain = phase_rng.uniform(0.92, 1.08)
            n1, n2 = phase_rng.normal(0, noise, size=(2, rows, cols))
            image[k] = np.sqrt((clean * slice_gain + n1) ** 2 + n2**2)  # Rician magnitude noise
            label[k][rv] = 1
            label[k][myo] = 2
            label[k][lv] = 3
        frames[phase] = (np.clip(image * scale, 0, 32767).astype(np.int16), label)
    info = {
        "ED": 1, "ES": es_frame, "Group": group,
        "Height": float(np.round(rng.uniform(150, 195), 1)),
        "NbFrame": int(rng.integers(max(es_frame + 5, 25), 36)),
        "Weight": float(np.round(rng.uniform(50, 110), 1)),
    }
    return {"frames": frames, "spacing": (thickness, inplane, inplane), "info": info}


def _write_nifti(path: Path, array: np.ndarray, spacing: tuple[float, float, float]) -> None:
    import nibabel as nib

    thickness, row_mm, col_mm = spacing
    data = np.moveaxis(array, 0, 2)  # (slices, rows, cols) -> NIfTI (x, y, z)
    img = nib.Nifti1Image(data, affine=np.diag([row_mm, col_mm, thickness, 1.0]))
    img.header.set_zooms((row_mm, col_mm, thickness))
    img.header.set_xyzt_units("mm")
    nib.save(img, str(path))


def write_phantom(out_dir: str | Path, n_patients: int, seed: int) -> list[str]:
    """Write ``n_patients`` phantom patients in the official ACDC layout into ``out_dir``.

    The folder appears complete or not at all. Returns the patient ids.
    """
    if n_patients < 1:
        raise ValueError(f"n_patients must be at least 1, got {n_patients}")
    out_dir = Path(out_dir)
    ids = []
    with atomic_output(out_dir) as tmp:
        tmp.mkdir(parents=True)
        for i in range(n_patients):
            pid = f"patient{i + 1:03d}"
            patient = make_patient(i, seed)
            pdir = tmp / pid
            pdir.mkdir()
            info = patient["info"]
            for phase, (image, label) in patient["frames"].items():
                stem = f"{pid}_frame{info[phase]:02d}"
                _write_nifti(pdir / f"{stem}.nii.gz", image, patient["spacing"])
                _write_nifti(pdir / f"{stem}_gt.nii.gz", label, patient["spacing"])
            (pdir / "Info.cfg").write_text("".join(f"{k}: {v}\n" for k, v in info.items()))
            ids.append(pid)
    return ids
