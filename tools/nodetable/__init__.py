"""The custom-node knowledge table's generator: ``scanner`` reads packs' source with ``ast``,
``generate`` writes ``src/comfylock/workflows/data/custom_nodes.json`` and ``node_map.json``,
``measure`` scores the reader against hand-written truth. See README.md beside this file."""
