"""Read a ComfyUI workflow (bytes in) and find every model file and node class it needs.

Formats (SPEC §1): UI graphs (schema 0.4 and 1) with nested subgraphs and legacy group
nodes, API/prompt graphs (``"37:0"`` ids, dict and dotted inputs), and PNG/WebP files that
embed either. Pure: no filesystem, no network. Reading a file is the caller's job.

What counts as a reference, and what does not, is in ``../shared/comfyui/README.md`` §8:
loader widgets come from the shipped table of core loaders; custom nodes' widget values
that name a model file are references whose folder comes from ``properties.models``, then
the custom-node knowledge table, then a narrow heuristic marked ``inferred``, else "cannot
tell" with a reason (``inference``); a URL value is a source whose reference is named by the
URL's file; values naming no file (``pixel_space``, ``None``, a Note's text) are not
references; unsafe names are reported, never joined to a path.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

from ..basics.redact import strip_url_secrets
from ..errors import NotAWorkflowError, WorkflowError
from ..pathsafe import normalise_name, unsafe_reason
from . import nodeknowledge, nodetable, tables
from .downloadreads import DownloadReads
from .embedded import EmbeddedError, extract, sniff
from .graphwalk import HINTS, GraphWalk, linked_inputs, node_uses
from .inference import (
    custom_folder,
    folders_by_position,
    hub_file_url,
    inputs_by_order,
    is_model_filename,
    is_url_value,
    url_reference_name,
)
from .modellists import ModelLists
from .refs import ModelRef, NodeUse, RepoRef, WorkflowInfo
from .repos import place_folder
from .widgets import (
    NONE_VALUES,
    api_leaves,
    is_api,
    labelled_leaves,
    last_key,
    leaves,
    prompt_inputs,
)

__all__ = ["is_model_filename", "parse", "parse_obj"]

NOTE_TYPES = frozenset({"Note", "MarkdownNote"})
_EMBEDDING = re.compile(r"embedding:([^\s,()\[\]{}<>|:\"']+)", re.IGNORECASE)

# --- entry points -------------------------------------------------------------------------


def parse(data: bytes, *, name: str = "<workflow>") -> WorkflowInfo:
    """Parse a workflow file's bytes (JSON, PNG or WebP). Raises WorkflowError (exit 2)."""
    kind = sniff(data)
    if kind is not None:
        try:
            texts = extract(data)
        except EmbeddedError as exc:
            raise WorkflowError(name, str(exc)) from None
        if not texts:
            what = "image" if kind in ("png", "webp") else "file"
            raise NotAWorkflowError(name, f"{kind.upper()} {what} carries no ComfyUI workflow")
        key = "workflow" if "workflow" in texts else "prompt"
        obj = _loads(texts[key], name, f"embedded {key!r}")
        if key == "workflow" and not _is_ui(obj) and "prompt" in texts:
            obj = _loads(texts["prompt"], name, "embedded 'prompt'")
        named = prompt_inputs(texts.get("prompt")) if key == "workflow" else {}
        return parse_obj(obj, name=name, named_inputs=named)
    if not data.strip():
        raise NotAWorkflowError(name, "empty file")
    try:
        obj = _loads(data, name, "file")
    except WorkflowError as exc:
        if _mentions_workflow(data):
            raise
        # Not a workflow at all (a JPEG named .png, a tsconfig.json with comments): a directory
        # walk skips it; named explicitly it is still exit 2 (NotAWorkflowError is an error).
        raise NotAWorkflowError(name, exc.problem) from None
    return parse_obj(obj, name=name)


_WORKFLOW_KEYS = (b'"nodes"', b'"class_type"', b'"last_node_id"', b'"links"')


def _mentions_workflow(data: bytes) -> bool:
    """Whether unreadable bytes still look like a damaged workflow (then it is an error,
    not a file to skip): its keys appear in the first 64 KiB."""
    head = data[:65536]
    return any(key in head for key in _WORKFLOW_KEYS)


def parse_obj(
    obj: Any, *, name: str = "<workflow>", named_inputs: dict | None = None
) -> WorkflowInfo:
    """Parse an already-decoded JSON workflow (``named_inputs``: see ``prompt_inputs``)."""
    if isinstance(obj, dict) and not _is_ui(obj) and not is_api(obj):
        for wrapper in ("workflow", "prompt"):  # {"workflow": {...}} / the /prompt payload
            if isinstance(obj.get(wrapper), dict) and (
                _is_ui(obj[wrapper]) or is_api(obj[wrapper])
            ):
                obj = obj[wrapper]
                break
    with nodeknowledge.pinned(), nodetable.for_workflow(nodetable.needed_packs(node_uses(obj))):
        if _is_ui(obj):
            reader = _Reader("ui")
            reader.named_inputs = named_inputs or {}
            reader.read_ui(obj)
        elif is_api(obj):
            reader = _Reader("api")
            reader.read_api(obj)
        else:
            raise NotAWorkflowError(
                name, "not a ComfyUI workflow (no 'nodes' list and no API-format nodes)"
            )
        return reader.result()


def _loads(data: bytes | str, name: str, what: str) -> Any:
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise WorkflowError(name, f"{what} is neither JSON text nor a PNG/WebP image") from None
    except json.JSONDecodeError as exc:
        raise WorkflowError(
            name, f"broken JSON in {what} (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise WorkflowError(name, f"JSON in {what} is nested too deeply") from None


def _is_ui(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("nodes"), list)


# --- the reader ---------------------------------------------------------------------------


class _Reader(GraphWalk, ModelLists, DownloadReads):
    """Accumulates references while walking one workflow."""

    def __init__(self, fmt: str) -> None:
        self.format = fmt
        self.models: list[ModelRef] = []
        self.nodes: list[NodeUse] = []
        self.problems: list[str] = []
        self.repos: list[RepoRef] = []
        self._seen: set[tuple] = set()
        self._defs: dict[str, dict] = {}
        self._used_defs: set[str] = set()
        self._group_defs: dict[str, dict] = {}
        self.named_inputs: dict[str, tuple[str, dict]] = {}

    def result(self) -> WorkflowInfo:
        problems = list(self.problems)
        for ref in self.models:
            where = (
                f"node {ref.node_id} ({ref.node_type})" if ref.node_id else "workflow models list"
            )
            if ref.invalid:
                problems.append(f"{where}: invalid model name {ref.name!r}: {ref.invalid}")
            elif ref.folder is None:
                why = f" ({ref.reason.removeprefix('cannot tell: ')})" if ref.reason else ""
                what = f"which folder {ref.name!r} belongs in"
                if "download" in (ref.reason or "") and not is_model_filename(ref.name):
                    # a label, not a file: what it stands for is the question
                    what = f"what {last_key(ref.input)} = {ref.name!r} makes it download"
                problems.append(f"{where}: cannot tell {what}{why}; pin it in comfylock.toml")
        return WorkflowInfo(
            format=self.format,
            models=tuple(self.models),
            nodes=_core_by_cnr_id(self.nodes),
            problems=tuple(dict.fromkeys(problems)),
            repos=tuple(dict.fromkeys(self.repos)),
        )

    # -- recording --

    def add_ref(
        self,
        *,
        folder: str | None,
        name: Any,
        node_id: str,
        node_type: str,
        input: str,
        active: bool,
        inferred: bool = False,
        url: str | None = None,
        sha256: str | None = None,
        directory: str | None = None,
        reason: str | None = None,
        folders: tuple[str, ...] = (),
    ) -> None:
        if not isinstance(name, str):
            return
        if folder == tables.INPUT_FOLDER:
            if tables.is_output_annotation(name):
                return  # a file ComfyUI wrote (output/, temp/): outputs are never locked
            name = name.removesuffix(" [input]")
        if is_url_value(name):  # a source, never a path: name the file the URL serves
            url, name = url or name, url_reference_name(name)
        norm = normalise_name(name)
        if norm in NONE_VALUES:
            return
        folder = _folder(folder) if folder else None
        invalid = unsafe_reason(norm)
        if folder and not invalid and (unsafe_reason(folder) or not _is_place(folder)):
            invalid = f"unsafe folder {folder!r}"
        key = (folder, norm, node_id, input)
        if key in self._seen:
            return
        self._seen.add(key)
        ref = ModelRef(
            folder=folder,
            name=norm,
            node_id=node_id,
            node_type=node_type,
            input=input,
            active=active,
            inferred=inferred,
            url=strip_url_secrets(url) if url else None,
            sha256=sha256,
            directory=directory,
            invalid=invalid,
            reason=None if folder else reason,
            folders=() if folder else tuple(folders),
        )
        self.models.append(ref)

    def add_node(self, class_type: str, node_id: str, props: dict, active: bool) -> None:
        cnr_id = props.get("cnr_id") if isinstance(props.get("cnr_id"), str) else None
        core = class_type in tables.core_nodes() or cnr_id == "comfy-core"
        aux = props.get("aux_id") if isinstance(props.get("aux_id"), str) else None
        ver = props.get("ver") if isinstance(props.get("ver"), (str, int, float)) else None
        self.nodes.append(
            NodeUse(
                class_type=class_type,
                node_id=node_id,
                core=core,
                cnr_id=cnr_id,
                aux_id=aux,
                ver=str(ver) if ver is not None else None,
                active=active,
                **({} if core else _packs_named(class_type)),
            )
        )

    # -- UI format --

    def _read_ui_node(self, node: dict, node_id: str, active: bool, supplied: dict) -> None:
        node_type = node["type"]
        props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
        self.add_node(node_type, node_id, props, active)
        hints = [props.get(k) if isinstance(props.get(k), str) else None for k in HINTS]
        with nodetable.for_pack(*hints):  # a class several packs provide: the one it names
            self._read_ui_widgets(node, node_type, node_id, active, supplied)

    def _read_ui_widgets(self, node, node_type, node_id, active, supplied) -> None:
        values = node.get("widgets_values")
        named = {str(k): v for k, v in values.items()} if isinstance(values, dict) else {}
        named.update(supplied)
        loader = tables.loader_inputs(node_type)
        if loader:
            linked = linked_inputs(node)
            self._read_loader(node_type, node_id, active, loader, values, named, linked)
        else:
            order = nodetable.widget_order(node_type) if isinstance(values, list) else ()
            kinds = nodetable.widget_kinds(node_type) if order else ""
            api = self.named_inputs.get(node_id)
            known = api[1] if api and api[0] == node_type else None
            pairs = list(labelled_leaves(node, values, order, known, kinds))
            pairs += list(supplied.items())
            self._read_custom(node_type, node_id, active, pairs)
        self._read_embeddings(node_type, node_id, active, values, supplied)
        self._read_properties_models(node, node_id, node_type, active)

    def _read_loader(
        self, node_type, node_id, active, loader, values, named, linked=frozenset()
    ) -> None:
        for input_name, spec in loader.items():
            if spec.folder == tables.INPUT_FOLDER and input_name in linked - named.keys():
                continue  # fed by a link: the widget's saved file name is not what runs
            if "<N>" in input_name:
                group, field = input_name.split(".<N>.")
                for path, value in leaves(named or values):
                    if is_model_filename(value) and (field in path or group in path or not named):
                        self.add_ref(
                            folder=spec.folder,
                            name=value,
                            node_id=node_id,
                            node_type=node_type,
                            input=path or input_name,
                            active=active,
                        )
                continue
            if isinstance(named.get(input_name), str):  # a value the subgraph instance supplies
                value = named[input_name]
            elif (
                isinstance(values, list)
                and spec.widget_index is not None
                and spec.widget_index < len(values)
            ):
                value = values[spec.widget_index]
            elif isinstance(values, dict):
                value = values.get(input_name)
            else:
                value = None
            if not isinstance(value, str) or value in tables.fileless_values(node_type, input_name):
                continue
            self.add_ref(
                folder=spec.folder,
                name=value,
                node_id=node_id,
                node_type=node_type,
                input=input_name,
                active=active,
            )

    def _read_input_files(self, node_type, node_id, active, pairs) -> list:
        """Widgets the knowledge table marks as listing ComfyUI's input/ folder name input
        files (any extension); returns the other (path, value) pairs."""
        rest = []
        for path, value in pairs:
            if _names_a_file(value) and (
                nodetable.folder_of(node_type, last_key(path)) == tables.INPUT_FOLDER
            ):
                self.add_ref(
                    folder=tables.INPUT_FOLDER,
                    name=value,
                    node_id=node_id,
                    node_type=node_type,
                    input=path,
                    active=active,
                )
            else:
                rest.append((path, value))
        return rest

    def _read_custom(self, node_type, node_id, active, pairs) -> None:
        """Model files (and URLs) in a custom node's widgets; the folder from ``inference``.
        The same class gets the same answer in UI, API and embedded files: only the widget's
        name matters, and unnamed UI widgets are matched to the table's inputs by position.
        A value of an input the table knows lists model files is one, whatever its name
        (a model directory, a ``.patch``); run-time downloads come first (``repos``), and
        what the node downloads whatever its values before them."""
        self._read_always(node_type, node_id, active)
        words = nodetable.fileless(node_type)
        if words:
            pairs = [(p, v) for p, v in pairs if v not in words.get(last_key(p), ())]
        pairs = self._read_fetches(node_type, node_id, active, pairs)
        pairs = self._read_repos(node_type, node_id, active, pairs)
        pairs = self._read_input_files(node_type, node_id, active, pairs)
        hits = [
            (p, v)
            for p, v in pairs
            if is_model_filename(v) or is_url_value(v) or _names_a_model(node_type, p, v)
        ]
        unnamed = [p for p, _ in hits if p.startswith("widgets_values[")]
        by_position = folders_by_position(node_type, unnamed)
        paired = {}
        if unnamed and not by_position:  # another version's layout: model values in order
            named = {last_key(p) for p, _ in pairs if not p.startswith("widgets_values[")}
            paired = inputs_by_order(node_type, unnamed, named)
        hub_url = None
        if hits and any(p.endswith("repo_id") for p, _ in pairs):
            hub_url = hub_file_url({last_key(p): v for p, v in pairs})
        for path, value in hits:
            if path in paired:
                path = paired[path]
                guess = custom_folder(node_type, path)._replace(inferred=True)
            else:
                label = path if path in by_position or path.startswith("widgets_values[") else None
                guess = by_position.get(path) or custom_folder(node_type, label or last_key(path))
            self.add_ref(
                folder=guess.folder,
                name=value,
                node_id=node_id,
                node_type=node_type,
                input=path,
                active=active,
                inferred=guess.inferred,
                reason=guess.reason,
                folders=guess.folders,
                url=hub_url if last_key(path) == "filename" else None,
            )

    def _read_embeddings(self, node_type, node_id, active, values, named) -> None:
        if node_type in NOTE_TYPES:
            return
        texts = [v for _, v in leaves(values) if isinstance(v, str)]
        texts += [v for v in named.values() if isinstance(v, str)]
        for text in texts:
            if "embedding:" not in text.lower():
                continue
            for match in _EMBEDDING.finditer(text):
                name = match.group(1).rstrip(".,;")
                self.add_ref(
                    folder="embeddings",
                    name=name,
                    node_id=node_id,
                    node_type=node_type,
                    input="text (embedding:)",
                    active=active,
                )

    # -- API format --

    def read_api(self, prompt: dict) -> None:
        for node_id, node in prompt.items():
            class_type = node["class_type"]
            inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}
            if class_type in tables.frontend_only():
                continue
            self.add_node(class_type, str(node_id), {}, True)
            flat = {path: v for path, v in api_leaves(inputs)}
            loader = tables.loader_inputs(class_type)
            if loader:
                for input_name, spec in loader.items():
                    if "<N>" in input_name:
                        group, field = input_name.split(".<N>.")
                        hits = [
                            (p, v)
                            for p, v in flat.items()
                            if p.startswith(group) and p.endswith(field)
                        ]
                    else:
                        hits = [(input_name, flat.get(input_name))]
                    for path, value in hits:
                        if isinstance(value, str) and value not in tables.fileless_values(
                            class_type, input_name
                        ):
                            self.add_ref(
                                folder=spec.folder,
                                name=value,
                                node_id=str(node_id),
                                node_type=class_type,
                                input=path,
                                active=True,
                            )
            else:
                self._read_custom(class_type, str(node_id), True, list(flat.items()))
            self._read_embeddings(class_type, str(node_id), True, list(flat.values()), {})


_FILE_NAME = re.compile(r"[^\n]{1,500}\.[A-Za-z0-9]{1,8}( \[input\])?")


def _names_a_file(value: Any) -> bool:
    """A one-line string ending in a file extension (``photo.png``, ``a.mp4 [input]``)."""
    return isinstance(value, str) and bool(_FILE_NAME.fullmatch(value)) and "://" not in value


def _folder(folder: str) -> str:
    """A folder key (legacy names canonical), or the directory a key with a ``/`` stands for
    (a pack's own ``custom_nodes/<pack>/ckpts``, a ``models/`` subdirectory it reads)."""
    folder = tables.canonical_folder(folder)
    if "/" not in folder or tables.under_root(folder):
        return place_folder(folder) if folder.startswith("models/") else folder
    dirs = nodetable.folder_dirs(folder)
    return dirs[0] if len(dirs) == 1 else folder


def _is_place(folder: str) -> bool:
    """One folder name, or a directory under ``models/`` or a pack's ``custom_nodes/<pack>/``."""
    parts = folder.split("/")
    if len(parts) == 1:
        return True
    return parts[0] in tables.ROOT_DIRS and len(parts) >= (3 if parts[0] == "custom_nodes" else 2)


def _names_a_model(class_type: str, path: str, value: Any) -> bool:
    """A value of an input the table knows lists model files (or builds its list beyond
    static reading): a model, whatever its name looks like."""
    if not isinstance(value, str) or value.strip() in NONE_VALUES or len(value) > 512:
        return False
    if path.startswith("widgets_values[") or "\n" in value or is_url_value(value):
        return False
    name = last_key(path)
    folders = nodetable.folders_of(class_type, name)
    if folders == (tables.INPUT_FOLDER,):  # input files: only names of files (above)
        return False
    return bool(folders) or nodetable.is_dynamic(class_type, name)


def _packs_named(class_type: str) -> dict[str, Any]:
    packs, via = nodetable.named_packs(class_type)
    out: dict[str, Any] = {"packs": packs, "packs_via": via} if packs else {}
    if via == "table" or nodetable.knows(class_type):
        out["knowledge"] = nodetable.origin(class_type)
    return out


def _core_by_cnr_id(nodes: list[NodeUse]) -> tuple[NodeUse, ...]:
    """A class one node of the workflow marks ``cnr_id: comfy-core`` is ComfyUI's own in all
    of them (a newer ComfyUI than the shipped class list: API nodes, templates)."""
    core = {n.class_type for n in nodes if n.cnr_id == "comfy-core"}
    if not core:
        return tuple(nodes)
    return tuple(
        msgspec.structs.replace(n, core=True, packs=(), packs_via=None, knowledge=None)
        if n.class_type in core and not n.core
        else n
        for n in nodes
    )
