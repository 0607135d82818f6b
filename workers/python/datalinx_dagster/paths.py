"""Where the code location finds the repository, the data directory and the dbt executable.

The Node runner (scripts/lib/python.mjs) sets DLX_DATA_DIR and puts the venv's bin directory on
PATH; the defaults below keep the CLI usable when it is run by hand from a checkout.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = PYTHON_DIR.parent.parent
DBT_PROJECT_TEMPLATE_DIR = PYTHON_DIR / "dbt_project_template"


def data_dir() -> Path:
    """``$DLX_DATA_DIR``, or ``<repo>/.datalinx`` like the Node side."""
    configured = os.environ.get("DLX_DATA_DIR")
    return Path(configured).resolve() if configured else REPO_ROOT / ".datalinx"


def dbt_artifacts_dir() -> Path:
    """Root for dbt target/log directories, kept out of the (committed) project directory."""
    return data_dir() / "dbt"


def dbt_executable() -> str:
    """The dbt that belongs to this interpreter's venv, so PATH does not decide which dbt runs.

    ``sys.executable`` is not resolved on purpose: in a venv it is ``<venv>/bin/python``, a
    symlink to the base interpreter, and dbt lives next to the symlink.
    """
    beside = Path(sys.executable).parent / "dbt"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("dbt")
    if found is None:
        raise RuntimeError(
            f"dbt is not installed next to {sys.executable} nor on PATH; "
            "run the Python venv setup (scripts/lib/python.mjs ensurePythonVenv)"
        )
    return found
