"""``comfy.lock``: its Structs, reading and rendering, the fast cache, staleness and schemas."""

__all__: list[str] = []
