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
                        # NOTE: Python reads a file starting with a UTF-8 byte order mark
                        # as it reads one without; ast.parse of the decoded text does not
                        tree = ast.parse(self.files[path].removeprefix("\ufeff"), filename=path)
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

    def imported_from_root(self) -> set[str] | None:
        """The modules ComfyUI's import of the pack can reach: the root ``__init__.py`` and
        every pack module an ``import`` statement of a reached module names (anywhere in it,
        a function's or a ``try``'s too), or its run-time loading names. None when the pack
        has no root ``__init__.py``."""
        if "" not in self.modules:
            return None
        reached, todo = {""}, [""]
        while todo:
            module = todo.pop()
            text = self.files[self.modules[module]]
            tree = self.tree(module)
            named: list[str] = []
            if any(word in text for word in _RUNTIME_IMPORTS):
                named = self._loaded_at_run_time(tree, module)
            for node in ast.walk(tree) if tree is not None else ():
                for name in (*_imported(self, node, module), *named):
                    for part in _with_parents(name):
                        if part not in reached and part in self.modules:
                            reached.add(part)
                            todo.append(part)
        return reached

    def _loaded_at_run_time(self, tree, current: str) -> list[str]:
        """The pack modules a module loads at run time (``importlib.import_module``,
        ``spec_from_file_location``): the one a literal argument names, else those its
        strings name, by dotted name or by ``.py`` file (``os.path.join(here, "cine-pp",
        "post_aa.py")``). A name made from a directory's listing names none: such a
        module's own classes are then not told from copies elsewhere (see ``facts``)."""
        found: list[str] = []
        spelled_out = True
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.Call) and node.args and _call_name(node) in _RUNTIME_IMPORTS:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    level = len(arg.value) - len(arg.value.lstrip("."))
                    name = self.resolve_module(arg.value.lstrip("."), current, level=level)
                    found.extend([name] if name is not None else [])
                if _call_name(node) == "spec_from_file_location" or not isinstance(
                    arg, ast.Constant
                ):
                    spelled_out = False
        if spelled_out:
            return found
        words = {
            node.value.strip().strip("/")
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value
        }
        for text in sorted(words):
            if text.lstrip(".") in self.modules:
                found.append(text.lstrip("."))
            elif text.endswith(".py"):
                found.extend(self._file_named(text, words))
        return found

    def _file_named(self, name: str, words: set[str]) -> list[str]:
        """The modules whose file ``name`` (``late.py``, ``extra/late.py``) may be: those
        whose directories the same code spells out too (``os.path.join(here, "extra",
        "late.py")``), else every file of that name."""
        files = [(m, p) for m, p in self.modules.items() if p == name or p.endswith("/" + name)]
        spelled = [m for m, p in files if set(p.split("/")[:-1]) <= words | set(name.split("/"))]
        return spelled or [m for m, _ in files]

    def modules_mentioning(self, *needles: str) -> list[str]:
        return [
            m for m, path in self.modules.items() if any(n in self.files[path] for n in needles)
        ]


# ways a module loads another by a name made at run time
_RUNTIME_IMPORTS = ("import_module", "__import__", "spec_from_file_location")


def _imported(pack: SourcePack, node, current: str) -> list[str]:
    """The pack modules one ``import`` statement names (``from . import a, b`` names both)."""
    if isinstance(node, ast.Import):
        found = (pack.resolve_module(a.name, current) for a in node.names)
        return [m for m in found if m is not None]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = pack.resolve_module(node.module or "", current, level=node.level)
    if base is None:
        return []
    subs = (pack.resolve_module(a.name, base, package=True) for a in node.names)
    return [base, *(m for m in subs if m is not None)]


def _with_parents(module: str) -> list[str]:
    """``a.b.c`` imports ``a`` and ``a.b`` first (their ``__init__.py``)."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)] if module else [""]


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
