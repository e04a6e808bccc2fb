"""The project's developer scripts (not shipped): importable as ``tools.…`` from the repo root,
so tests and ``python -m tools.…`` reach them without editing ``sys.path``."""
