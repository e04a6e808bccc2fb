"""One pack's Python sources as modules: names, lazy parsing, import resolution."""

from __future__ import annotations

import ast
import warnings

__all__ = ["COMFY_MODULES", "DATA_SUFFIXES", "SourcePack"]

# The files of a pack the reader takes besides its Python: data its code loads (label -> repo
# maps in JSON, settings in flat YAML such as a download directory).
DATA_SUFFIXES = (".json", ".yaml", ".yml")

# ComfyUI's own top-level modules: an absolute import of these never means a pack file.
COMFY_MODULES = {
    "nodes",
    "folder_paths",
    "comfy",
    "comfy_extras",
    "comfy_api",
    "comfy_execution",
    "server",
    "execution",
    "node_helpers",
    "latent_preview",
    "main",
    "utils",
    "app",
}


class SourcePack:
    """``files`` maps a path inside the repository (``nodes/loader.py``, or a data file such as
    ``models.json``) to its text; ``dirname`` is the pack's directory under ``custom_nodes/``
    (the repository's name)."""

    def __init__(self, dirname: str, files: dict[str, str]):
        self.dirname = dirname
        self.files = files
        self.modules: dict[str, str] = {}
        for path in sorted(files):
            if not path.endswith(".py"):
                continue
            parts = path[:-3].split("/")
            if parts[-1] == "__init__":
                parts = parts[:-1]
            self.modules.setdefault(".".join(parts), path)
        # directories, packages or not (namespace packages import fine in Python 3)
        self.packages = {
            ".".join(m.split(".")[:i]) for m in self.modules for i in range(1, m.count(".") + 1)
        }
        self._trees: dict[str, ast.Module | None] = {}
        self.unparsable: list[str] = []

    def tree(self, module: str) -> ast.Module | None:
        if module not in self._trees:
            path = self.modules.get(module)
            tree = None
            if path is not None:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        tree = ast.parse(self.files[path], filename=path)
                except (SyntaxError, ValueError):
                    self.unparsable.append(path)
            self._trees[module] = tree
        return self._trees[module]

    def data(self, root_rel: str) -> str | None:
        """The text of a data file of the pack (``custom_nodes/<dir>/models.json``), or None."""
        prefix = f"custom_nodes/{self.dirname}/"
        if not root_rel.startswith(prefix):
            return None
        path = root_rel[len(prefix) :]
        return self.files.get(path) if not path.endswith(".py") else None

    def path_of(self, module: str) -> str:
        return self.modules.get(module, module)

    def root_rel(self, module: str) -> str:
        """``__file__`` of a module, relative to the ComfyUI root."""
        return f"custom_nodes/{self.dirname}/{self.path_of(module)}"

    def is_package(self, module: str) -> bool:
        return self.modules.get(module, "").endswith("__init__.py")

    def package_of(self, module: str) -> str:
        if self.is_package(module):
            return module
        return module.rsplit(".", 1)[0] if "." in module else ""

    def resolve_module(
        self, name: str, current: str, level: int = 0, package: bool = False
    ) -> str | None:
        """The pack module ``name`` names from ``current``, or None (not the pack's)."""
        if package:
            cand = f"{current}.{name}" if current else name
            return cand if self._known(cand) else None
        if level == 0:
            if name.split(".")[0] in COMFY_MODULES:
                return None
            if self._known(name):
                return name
            pkg = self.package_of(current)  # sys.path hacks: a sibling module by plain name
            cand = f"{pkg}.{name}" if pkg else name
            if self._known(cand):
                return cand
            # a directory of the pack put on sys.path: the one module ending so
            ends = [m for m in self.modules if m.endswith("." + name)]
            return ends[0] if len(ends) == 1 else None
        pkg = self.package_of(current)
        for _ in range(level - 1):
            pkg = pkg.rsplit(".", 1)[0] if "." in pkg else ""
        cand = ".".join(p for p in (pkg, name) if p)
        return cand if self._known(cand) or (not name and level) else None

    def _known(self, module: str) -> bool:
        return module in self.modules or module in self.packages

    def modules_mentioning(self, *needles: str) -> list[str]:
        return [
            m for m, path in self.modules.items() if any(n in self.files[path] for n in needles)
        ]
