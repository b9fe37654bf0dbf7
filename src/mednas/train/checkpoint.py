"""Checkpoints that survive a kill: written atomically, tagged with the settings they belong to."""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mednas.atomic import atomic_output

log = logging.getLogger("mednas")


def rng_state() -> dict[str, Any]:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` so that a kill during the write leaves the previous checkpoint intact."""
    with atomic_output(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path, fingerprint: str) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it exists, can be read and was made with the same settings, else None.

    An unreadable checkpoint (truncated, overwritten) is reported by path and moved aside to
    ``<name>.corrupt``, so that training starts over instead of failing on every rerun.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(state, dict):
            raise TypeError(f"holds a {type(state).__name__}, not a checkpoint")
    except Exception as err:  # torch.load raises OSError, RuntimeError, EOFError or pickle errors alike
        aside = path.with_name(path.name + ".corrupt")
        path.replace(aside)
        log.warning("checkpoint %s cannot be read (%s: %s); moved to %s, training starts over",
                    path, type(err).__name__, err, aside)
        return None
    if state.get("fingerprint") != fingerprint:
        log.warning("ignoring checkpoint %s: it was made with other settings", path)
        return None
    return state
