"""Where the tests find the project's files: the repo root, ``fixtures/`` and the optional
``../shared`` data (``COMFYLOCK_SHARED_DIR`` overrides it)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["FIXTURES", "ROOT", "SHARED"]

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = Path(os.environ.get("COMFYLOCK_SHARED_DIR", ROOT.parent / "shared"))
