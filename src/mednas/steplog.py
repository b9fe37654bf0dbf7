"""Logging for pipeline steps: to the rule's log file and to stderr."""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path


def setup_step_logging(log_path: str | Path | None, name: str = "mednas") -> logging.Logger:
    """Send ``mednas`` log records to ``log_path`` (if given) and stderr."""
    # MONAI 1.5-1.6 warns about its own internal use of a deprecated argument on every HD95 call.
    warnings.filterwarnings("ignore", message="monai.metrics.utils get_mask_edges", category=FutureWarning)
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    for h in handlers:
        h.setFormatter(fmt)
        logger.addHandler(h)
    return logger
