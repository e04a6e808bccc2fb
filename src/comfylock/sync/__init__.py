"""A lock -> this machine: observe, plan (pure), apply (the only mutator), store, links,
node packs, gc, verify and progress; ``sync.download`` holds the aria2 and httpx backends."""

__all__: list[str] = []
