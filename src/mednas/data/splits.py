"""Patient-level train / val / test splits (never by slice or by frame)."""

from __future__ import annotations

import numpy as np

from mednas.errors import ConfigError, DataError

SPLITS = ("train", "val", "test")


def split_by_fractions(patients: list[str], fractions: dict[str, float], seed: int) -> dict[str, list[str]]:
    """Shuffle ``patients`` with ``seed`` and cut them by ``fractions`` (train, val, test).

    Each split must receive at least one patient: an empty split is an error, not a
    silently smaller experiment.
    """
    missing = [k for k in SPLITS if k not in fractions]
    if missing:
        raise ConfigError(f"split.fractions: missing key(s) {missing}")
    if abs(sum(fractions[k] for k in SPLITS) - 1.0) > 1e-6:
        raise ConfigError(f"split.fractions must sum to 1, got {sum(fractions[k] for k in SPLITS):g}")
    unique = sorted(set(patients))
    n = len(unique)
    n_val = int(round(n * fractions["val"]))
    n_test = int(round(n * fractions["test"]))
    counts = {"train": n - n_val - n_test, "val": n_val, "test": n_test}
    for name, count in counts.items():
        if count < 1 and fractions[name] > 0:
            raise ConfigError(
                f"split.fractions.{name}={fractions[name]} leaves the '{name}' split empty with {n} patients"
            )
    order = np.random.default_rng(seed).permutation(n)
    shuffled = [unique[i] for i in order]
    out = {
        "train": sorted(shuffled[: counts["train"]]),
        "val": sorted(shuffled[counts["train"] : counts["train"] + n_val]),
        "test": sorted(shuffled[counts["train"] + n_val :]),
    }
    return out


def check_split(split: dict[str, list[str]], patients: list[str], source: str) -> list[str]:
    """Check a split against the patients present; return the patients it leaves out.

    ``source`` names where the split came from, for the error message.
    """
    present = set(patients)
    seen: dict[str, str] = {}
    for name in SPLITS:
        if not split.get(name):
            raise DataError(f"{source}: split '{name}' is empty")
        for p in split[name]:
            if p in seen:
                raise DataError(f"{source}: patient {p} is in both '{seen[p]}' and '{name}'")
            seen[p] = name
        unknown = sorted(set(split[name]) - present)
        if unknown:
            raise DataError(f"{source}: split '{name}' names patients not in the data set: {unknown[:5]}"
                            + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""))
    return sorted(present - set(seen))
