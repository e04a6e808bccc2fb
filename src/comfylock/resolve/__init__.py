"""Workflows' references -> a lock: the pure core, the resolve job, ``add`` and ``--fetch``.

The network is reached only through ``resolve.sources``.
"""

__all__: list[str] = []
