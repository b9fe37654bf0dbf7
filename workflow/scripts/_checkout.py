"""Make rule scripts run this checkout's mednas, whatever else the environment holds.

Snakemake appends the script folder to a script's ``sys.path`` (this module is found there)
but after site-packages, where an editable install of another checkout would win. Importing
this module first puts ``<this checkout>/src`` ahead of everything.
"""

import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")
if sys.path[:1] != [SRC]:
    sys.path.insert(0, SRC)
if "mednas" in sys.modules and not str(Path(sys.modules["mednas"].__file__).resolve()).startswith(SRC):
    raise ImportError(f"mednas was imported from {sys.modules['mednas'].__file__} before {SRC} was put first")
