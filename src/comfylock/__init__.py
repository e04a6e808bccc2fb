"""comfylock: reproducible ComfyUI workflows.

Nothing heavy is imported here so that ``comfylock --help`` stays fast.
"""

__version__ = "0.1.0"

__all__ = ["ComfylockError", "__version__", "load_lock", "parse_workflow"]


def __getattr__(name: str):  # lazy re-exports (PEP 562) keep import time near zero
    if name == "ComfylockError":
        from .errors import ComfylockError

        return ComfylockError
    if name == "load_lock":
        from .lock.file import load

        return load
    if name == "parse_workflow":
        from .workflows.reader import parse

        return parse
    raise AttributeError(name)
