"""Integrity check of a data set in nnU-Net v2 raw layout (``mednas check-data``).

Like nnU-Net's ``--verify_dataset_integrity``, but it reports every problem at once, each
naming the file at fault, instead of stopping at the first. It never raises for bad data: the
readers' :class:`~mednas.errors.DataError` becomes a :class:`Problem`. Each case's files are
read once.

Problem kinds (see :data:`KINDS`): a problem with the folder itself or ``dataset.json`` stops the
check, since nothing else can be judged without the labels, channels and file ending; so does a
missing ``imagesTr`` or ``labelsTr``. Everything else is collected.

Duplicate case ids: two case ids (from ``imagesTr`` or ``labelsTr``) that differ only in letter
case, e.g. ``Case1`` and ``case1``. On a case-insensitive file system (macOS, Windows defaults)
their files overwrite each other when the data set is copied there, silently losing a case.
Two files with the *same* case id and channel cannot exist in one folder, and files with another
ending (``x_0000.nii`` in a ``.nii.gz`` set) are ignored by the loader and reported as
``unexpected_file`` instead.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mednas.data.nnunet_raw import (
    CHANNEL_SUFFIX,
    ENDINGS,
    channel_files,
    image_files,
    patient_of,
    read_dataset_json,
    read_splits_json,
)
from mednas.data.splits import SPLITS
from mednas.data.volume import LabelSet, read_image
from mednas.errors import DataError

KINDS: dict[str, str] = {
    "folder_missing": "the data set folder, imagesTr or labelsTr does not exist",
    "dataset_json_missing": "dataset.json does not exist",
    "dataset_json_invalid": "dataset.json is not valid JSON, not an object, or otherwise rejected by the loader",
    "bad_labels": "labels missing, not consecutive from 0, a value used twice, or a region",
    "bad_channel_names": "channel_names missing, empty, or keys not 0..n-1",
    "bad_file_ending": "file_ending is not one of .nii.gz, .nii, .png",
    "no_cases": "imagesTr holds no image named <case>_<CCCC><file_ending>",
    "unexpected_file": "a file in imagesTr / labelsTr that the loader ignores (wrong ending or name)",
    "duplicate_case_id": "case ids that differ only in letter case",
    "image_without_label": "a case's image has no label file",
    "label_without_image": "a label file has no image",
    "missing_channel": "a case lacks one of its channel files",
    "channel_count": "channels in the files differ from channel_names, or a channel file beyond them",
    "unreadable": "an image or label file cannot be read (corrupt, wrong format, not 2-D/3-D)",
    "non_finite": "an image or label holds NaN or infinite values",
    "channel_shape_mismatch": "the channel files of a case differ in shape",
    "shape_mismatch": "image and label shapes differ",
    "spacing_mismatch": "image and label spacings differ (NIfTI, rtol 1e-3; unless spacing_known is false)",
    "bad_spacing": "an image's voxel spacing is not positive",
    "label_channels": "a label map has more than one channel (e.g. a colour PNG)",
    "label_not_integer": "a label map holds non-integer values",
    "undeclared_label": "label values not among those declared in dataset.json",
    "num_training": "numTraining in dataset.json differs from the number of cases found",
    "splits_invalid": "splits.json is not valid JSON or lacks lists train / val / test",
    "split_unknown_patient": "splits.json names a patient that has no case",
    "split_duplicate_patient": "splits.json names a patient twice (within or across splits)",
}

LISTED = 10  # names listed in one message before "and N more": a report line stays readable


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a data set: the file at fault, a kind from :data:`KINDS`, and why."""

    path: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def format_report(problems: Sequence[Problem]) -> str:
    """One line per problem, its kind in brackets (for grep)."""
    return "\n".join(f"{p}  [{p.kind}]" for p in problems)


def _problem(path: Path, kind: str, message: str) -> Problem:
    """A problem at ``path``."""
    return Problem(str(path), kind, message)


def _from_error(path: Path, kind: str, exc: Exception) -> Problem:
    """A problem from a reader's error, whose message names ``path`` (``"<path>: why"`` or
    ``"cannot read NIfTI <path>: why"``): the report line starts with the path, so it is not repeated."""
    text, message = str(path), str(exc)
    if message.startswith(text + ": "):
        message = message[len(text) + 2:]
    return Problem(text, kind, message.replace(text, path.name))


def _listing(items: Iterable[object]) -> str:
    """Comma-separated, at most LISTED items."""
    items = [str(i) for i in items]
    more = f" and {len(items) - LISTED} more" if len(items) > LISTED else ""
    return ", ".join(items[:LISTED]) + more


# --- dataset.json -------------------------------------------------------------------------


def _check_channel_names(channels: object) -> str | None:
    """Why ``channel_names`` is unusable, or None (same rules as the loader)."""
    if not isinstance(channels, dict) or not channels:
        return "key 'channel_names' is missing or empty (nnU-Net v2: e.g. {\"0\": \"MRI\"})"
    try:
        keys = sorted(int(k) for k in channels)
    except ValueError:
        return f"'channel_names' keys must be channel numbers 0, 1, ..., found {list(channels)}"
    if keys != list(range(len(keys))):
        return f"'channel_names' keys must be 0..{len(keys) - 1}, found {list(channels)}"
    return None


def _check_meta(root: Path) -> tuple[dict | None, list[Problem]]:
    """The loader's view of ``dataset.json``, or None with the problems that make it unusable.

    Labels, channel names and file ending are checked separately first so that all their
    problems are reported, each with its own kind; ``read_dataset_json`` then has the last word.
    """
    path = root / "dataset.json"
    if not root.is_dir():
        return None, [Problem(str(root), "folder_missing", "data set folder not found")]
    if not path.is_file():
        return None, [_problem(path, "dataset_json_missing", "dataset.json is missing (required in the nnU-Net "
                                                             "raw layout)")]
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:  # ValueError: JSONDecodeError and UnicodeDecodeError
        return None, [_problem(path, "dataset_json_invalid", f"not valid JSON ({exc})")]
    if not isinstance(raw, dict):
        return None, [_problem(path, "dataset_json_invalid", "expected a JSON object")]
    problems = []
    labels = raw.get("labels")
    if not isinstance(labels, dict) or not labels:
        problems.append(_problem(path, "bad_labels", "key 'labels' is missing or empty"))
    else:
        try:
            LabelSet.from_mapping(labels, ["any"], str(path))
        except DataError as exc:
            problems.append(_from_error(path, "bad_labels", exc))
    why = _check_channel_names(raw.get("channel_names"))
    if why:
        problems.append(_problem(path, "bad_channel_names", why))
    ending = raw.get("file_ending", ".nii.gz")
    if ending not in ENDINGS:
        problems.append(_problem(path, "bad_file_ending", f"file_ending {ending!r} is not supported (use one of "
                                                          f"{', '.join(ENDINGS)})"))
    if problems:
        return None, problems
    try:
        return read_dataset_json(root), []
    except DataError as exc:  # a rule of the loader's that the checks above do not know
        return None, [_from_error(path, "dataset_json_invalid", exc)]


# --- files and their pairing --------------------------------------------------------------


def _label_files(root: Path, ending: str) -> dict[str, Path]:
    """``labelsTr`` as case id -> file."""
    return {p.name[: -len(ending)]: p for p in sorted((root / "labelsTr").iterdir()) if p.name.endswith(ending)}


def _unexpected_files(root: Path, ending: str) -> list[Problem]:
    """Files the loader skips without a word: a wrong ending, or an image without ``_CCCC``."""
    problems = []
    for folder, pattern in (("imagesTr", f"<case>_<CCCC>{ending}"), ("labelsTr", f"<case>{ending}")):
        for p in sorted((root / folder).iterdir()):
            if p.name.startswith("."):  # .DS_Store and the like: harmless and everywhere
                continue
            ok = p.name.endswith(ending) and (folder == "labelsTr" or CHANNEL_SUFFIX.match(p.name[: -len(ending)]))
            if not ok:
                problems.append(_problem(p, "unexpected_file", f"ignored by the loader: not named {pattern}"))
    return problems


def _duplicate_case_ids(images: dict[str, dict[int, Path]], labels: dict[str, Path]) -> list[Problem]:
    """Case ids that differ only in letter case (they collide on case-insensitive file systems)."""
    groups: dict[str, list[str]] = defaultdict(list)
    for case_id in sorted(set(images) | set(labels)):
        groups[case_id.casefold()].append(case_id)
    problems = []
    for ids in groups.values():
        files = [images[i][min(images[i])] if i in images else labels[i] for i in ids]
        for case_id, f in zip(ids[1:], files[1:]):
            problems.append(_problem(f, "duplicate_case_id",
                                     f"case id {case_id} differs only in letter case from {ids[0]} ({files[0]}): "
                                     "they collide on a case-insensitive file system"))
    return problems


def _pairing(root: Path, ending: str, images: dict[str, dict[int, Path]], labels: dict[str, Path],
             n_files: int) -> list[Problem]:
    """Images without labels, labels without images, missing and surplus channel files."""
    problems = []
    for case_id, chans in sorted(images.items()):
        first = chans[min(chans)]
        if case_id not in labels:
            problems.append(_problem(first, "image_without_label",
                                     f"no label file {root / 'labelsTr' / f'{case_id}{ending}'}"))
        for c in range(n_files):
            if c not in chans:
                missing = root / "imagesTr" / f"{case_id}_{c:04d}{ending}"
                problems.append(_problem(missing, "missing_channel", f"case {case_id} lacks channel file {c}"))
        for c in sorted(ch for ch in chans if ch >= n_files):
            # the loader reads channels 0..n-1 only: a surplus file is silently left out
            why = ("a PNG holds all its colour channels in _0000" if ending == ".png" else
                   f"channel_names declares {n_files} channel(s)")
            problems.append(_problem(chans[c], "channel_count", f"channel file beyond those read ({why})"))
    for case_id, lbl in sorted(labels.items()):
        if case_id not in images:
            problems.append(_problem(lbl, "label_without_image",
                                     f"no image {root / 'imagesTr' / f'{case_id}_0000{ending}'}"))
    return problems


# --- reading and checking one case --------------------------------------------------------


def _has_non_finite(path: Path) -> bool:
    """Whether a NIfTI the reader rejected holds NaN/Inf, telling a bad value from a corrupt file."""
    if not path.name.lower().endswith((".nii", ".nii.gz")):
        return False
    try:
        import nibabel as nib

        data = np.asarray(nib.load(str(path)).dataobj, dtype=np.float32)  # as the reader converts
    except Exception:  # corrupt: the reader's own error is the problem
        return False
    return not bool(np.all(np.isfinite(data)))


def _read(path: Path, problems: list[Problem],
          label: bool = False) -> tuple[np.ndarray, tuple[float, float, float] | None] | None:
    """``read_image``, its failure appended to ``problems`` instead of raised."""
    try:
        data, spacing = read_image(path, label)
    except DataError as exc:
        if _has_non_finite(path):
            problems.append(_problem(path, "non_finite", "contains NaN or infinite values"))
        else:
            problems.append(_from_error(path, "unreadable", exc))
        return None
    except Exception as exc:  # third-party readers raise many types on corrupt files; report, never crash
        problems.append(_problem(path, "unreadable", f"cannot read: {type(exc).__name__}: {exc}"))
        return None
    if not np.all(np.isfinite(data)):
        problems.append(_problem(path, "non_finite", "contains NaN or infinite values"))
        return None
    return data, spacing


def _check_label_values(path: Path, label: np.ndarray, labels: LabelSet) -> list[Problem]:
    """Label map: one channel, integers, only declared values."""
    if label.shape[0] != 1:
        return [_problem(path, "label_channels", f"a label map must have one channel, found {label.shape[0]} "
                                                 "(a colour PNG?)")]
    rounded = np.round(label)
    if not np.array_equal(label, rounded):
        odd = np.unique(label[label != rounded])
        return [_problem(path, "label_not_integer", f"label map holds non-integer values, e.g. "
                                                    f"{_listing(f'{v:g}' for v in odd)}")]
    unexpected = sorted(set(np.unique(rounded).astype(np.int64).tolist()) - set(range(labels.num_classes)))
    if unexpected:
        declared = ", ".join(f"{n}={v}" for v, n in enumerate(labels.names))
        return [_problem(path, "undeclared_label", f"label value(s) {_listing(unexpected)} not among the "
                                                   f"declared labels ({declared})")]
    return []


def _check_case(chans: dict[int, Path], label_path: Path | None, meta: dict) -> list[Problem]:
    """Read a case's channel files and label once and check them against each other and dataset.json."""
    labels: LabelSet = meta["label_set"]
    n_files = channel_files(meta)
    spacing_known = bool(meta.get("spacing_known", True)) and meta["file_ending"] != ".png"
    problems: list[Problem] = []
    read = {c: _read(chans[c], problems) for c in range(n_files) if c in chans}
    images = [(chans[c], r[0], r[1]) for c, r in sorted(read.items()) if r is not None]
    label = _read(label_path, problems, label=True) if label_path is not None else None
    if images:
        ref_path, ref, _ = images[0]
        for p, data, _ in images[1:]:
            if data.shape[1:] != ref.shape[1:]:
                problems.append(_problem(p, "channel_shape_mismatch",
                                         f"shape {data.shape[1:]} differs from {ref_path} {ref.shape[1:]} "
                                         "(slices, rows, cols)"))
        if len(images) == n_files:  # only a complete case can be counted
            found = sum(data.shape[0] for _, data, _ in images)
            if found != labels.in_channels:
                problems.append(_problem(ref_path, "channel_count",
                                         f"{found} input channel(s), but dataset.json's channel_names declares "
                                         f"{labels.in_channels} ({', '.join(labels.channels)})"))
        for p, _, spacing in images:
            if spacing_known and spacing is not None and not all(s > 0 for s in spacing):  # NaN fails too
                problems.append(_problem(p, "bad_spacing", f"voxel spacing {spacing} is not positive"))
    if label is not None and label_path is not None:
        lbl, lbl_spacing = label
        problems += _check_label_values(label_path, lbl, labels)
        if images:
            ref_path, ref, _ = images[0]
            if ref.shape[1:] != lbl.shape[1:]:
                problems.append(_problem(ref_path, "shape_mismatch",
                                         f"image shape {ref.shape[1:]} differs from label {label_path} "
                                         f"{lbl.shape[1:]} (slices, rows, cols)"))
        for p, _, spacing in images:
            if spacing_known and spacing is not None and lbl_spacing is not None and \
                    all(s > 0 for s in spacing) and not np.allclose(spacing, lbl_spacing, rtol=1e-3):
                problems.append(_problem(p, "spacing_mismatch",
                                         f"spacing {spacing} differs from label {label_path} {lbl_spacing} "
                                         "(slice, row, col; mm)"))
    return problems


# --- dataset.json vs files, splits.json ---------------------------------------------------


def _check_num_training(root: Path, meta: dict, n_cases: int) -> list[Problem]:
    """``numTraining``, where given, must count the cases found."""
    if "numTraining" not in meta:
        return []
    declared = meta["numTraining"]
    if declared != n_cases or isinstance(declared, bool):
        return [_problem(root / "dataset.json", "num_training",
                         f"numTraining is {declared!r} but imagesTr holds {n_cases} case(s)")]
    return []


def _check_splits(path: Path, case_ids: Iterable[str]) -> list[Problem]:
    """``splits.json``: well formed, naming only patients that have cases, each once."""
    try:
        splits = read_splits_json(path)
    except DataError as exc:
        return [_from_error(path, "splits_invalid", exc)]
    present = {patient_of(c) for c in case_ids}
    problems = []
    for name in SPLITS:
        unknown = [p for p in splits[name] if p not in present]
        if unknown:
            problems.append(_problem(path, "split_unknown_patient",
                                     f"'{name}' names patient(s) with no case in imagesTr: {_listing(unknown)}"))
    where: dict[str, list[str]] = defaultdict(list)
    for name in SPLITS:
        for patient in splits[name]:
            where[patient].append(name)
    twice = {p: Counter(w) for p, w in where.items() if len(w) > 1}
    if twice:
        text = _listing(f"{p} ({', '.join(f'{s} x{n}' if n > 1 else s for s, n in c.items())})"
                        for p, c in twice.items())
        problems.append(_problem(path, "split_duplicate_patient", f"patient(s) named more than once: {text}"))
    return problems


# --- entry points -------------------------------------------------------------------------


# Kinds the loader is indifferent to (it reads only what it needs): prepare logs them, never stops.
WARNINGS = frozenset({"unexpected_file", "label_without_image"})


def check_dataset(root: str | Path, check_splits: bool = True) -> list[Problem]:
    """Every problem of the nnU-Net raw data set at ``root``; an empty list when it is sound.
    ``check_splits=False`` skips ``splits.json`` (a run that splits by fractions does not read it)."""
    root = Path(root)
    meta, problems = _check_meta(root)
    if meta is None:
        return problems
    missing = [root / d for d in ("imagesTr", "labelsTr") if not (root / d).is_dir()]
    if missing:
        return [_problem(d, "folder_missing", "folder is missing (required in the nnU-Net raw layout)")
                for d in missing]
    ending = meta["file_ending"]
    images = image_files(root, ending)
    labels = _label_files(root, ending)
    problems += _unexpected_files(root, ending)
    if not images:
        problems.append(_problem(root / "imagesTr", "no_cases", f"no image named <case>_<CCCC>{ending}"))
    problems += _duplicate_case_ids(images, labels)
    problems += _pairing(root, ending, images, labels, channel_files(meta))
    for case_id, chans in sorted(images.items()):
        problems += _check_case(chans, labels.get(case_id), meta)
    problems += _check_num_training(root, meta, len(images))
    if check_splits and (root / "splits.json").exists():
        problems += _check_splits(root / "splits.json", images)
    return problems


def count_cases(root: str | Path) -> int:
    """Cases in ``imagesTr`` (for the summary line of a sound data set); 0 where unreadable."""
    root = Path(root)
    try:
        return len(image_files(root, read_dataset_json(root)["file_ending"]))
    except DataError:
        return 0
