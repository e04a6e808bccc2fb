#!/usr/bin/env python3
"""Write schemas/*.schema.json from the msgspec Structs (`make schemas`)."""

from __future__ import annotations

import sys
from pathlib import Path

from comfylock.lock.schemas import SCHEMAS, render_schema

OUT = Path(__file__).resolve().parent.parent / "schemas"


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for filename in SCHEMAS:
        (OUT / filename).write_text(render_schema(filename))
        print(f"wrote schemas/{filename}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
