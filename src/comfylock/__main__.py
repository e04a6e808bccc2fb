"""``comfylock`` (the console script) and ``python -m comfylock``.

The no-op fast path of ``sync``/``status`` (``sync/receipt.py``) answers before click or
msgspec is imported; any other invocation, or a no-op it cannot vouch for, is ``cli.main``.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    from .sync.receipt import try_fast

    try:
        code = try_fast(sys.argv[1:])
        if code is not None:
            sys.stdout.flush()
            sys.exit(code)
    except BrokenPipeError:
        sys.exit(0)
    from .cli import main as cli_main

    cli_main(fast=False)


if __name__ == "__main__":
    main()
