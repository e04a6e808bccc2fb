"""Network sources resolve calls: Civitai, Hugging Face, plain URLs, model lists, node packs.

Each module takes an injected ``httpx.Client`` (see ``comfylock.net.http``); importing this
package imports nothing heavy.
"""

from __future__ import annotations

__all__: list[str] = []
