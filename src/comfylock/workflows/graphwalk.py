"""The walk of a UI graph: its nodes, the subgraphs it defines (each instance read with its
own values), legacy group nodes and ComfyUI-Manager's components (read as their inner nodes).
A mixin of the reader (``reader._Reader``), which reads each node the walk reaches."""

from __future__ import annotations

from typing import Any

from . import tables
from .inference import is_model_filename
from .repos import is_repo_id
from .subgraphs import as_list, instance_values
from .widgets import MAX_DEPTH, is_api, leaves

__all__ = ["GROUP_PREFIXES", "HINTS", "GraphWalk", "linked_inputs", "node_uses"]

# A group node's type: the frontend's prefixes, then ComfyUI-Manager's components' naming.
GROUP_PREFIXES = ("workflow>", "workflow/", "## ")
HINTS = ("cnr_id", "aux_id")  # a UI node's properties naming the pack it came from


def node_uses(obj: Any) -> list[tuple[str, str | None, str | None]]:
    """(class, cnr_id, aux_id) of every node a workflow holds: the top graph, its subgraph
    definitions and its group nodes (bounded like the reader); API nodes name no pack."""
    if is_api(obj) and not isinstance(obj.get("nodes"), list):
        return [(n["class_type"], None, None) for n in obj.values() if isinstance(n, dict)]
    if not isinstance(obj, dict):
        return []
    graphs, out = [obj], []
    extra = obj.get("extra") if isinstance(obj.get("extra"), dict) else {}
    groups = extra.get("groupNodes") if isinstance(extra.get("groupNodes"), dict) else {}
    graphs += [g for g in groups.values() if isinstance(g, dict)]
    seen = 0
    while graphs and seen <= MAX_DEPTH * 64:
        graph, seen = graphs.pop(), seen + 1
        defs = graph.get("definitions") if isinstance(graph.get("definitions"), dict) else {}
        graphs += [g for g in as_list(defs.get("subgraphs")) if isinstance(g, dict)]
        for node in as_list(graph.get("nodes")):
            if isinstance(node, dict) and isinstance(node.get("type"), str):
                props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
                hints = [props.get(k) if isinstance(props.get(k), str) else None for k in HINTS]
                out.append((node["type"], *hints))
    return out


class GraphWalk:
    """Walks a UI graph. The reader provides ``_defs``, ``_group_defs``, ``_used_defs``,
    ``problems``, ``add_ref``, ``_read_ui_node`` and the model-list readers."""

    _defs: dict[str, dict]
    _group_defs: dict[str, dict]
    _used_defs: set[str]
    problems: list[str]

    def read_ui(self, graph: dict) -> None:
        self._collect_defs(graph, 0)
        groups = (
            (graph.get("extra") or {}).get("groupNodes")
            if isinstance(graph.get("extra"), dict)
            else None
        )
        if isinstance(groups, dict):
            self._group_defs = {k: v for k, v in groups.items() if isinstance(v, dict)}
        self._walk(graph, prefix="", active=True, supplied={}, stack=())
        for def_id, definition in self._defs.items():
            if def_id not in self._used_defs:  # defined but never placed: still read its models
                self._walk(
                    definition, prefix=f"{def_id}:", active=True, supplied={}, stack=(def_id,)
                )
        self._read_workflow_models(graph.get("models"))

    def _collect_defs(self, graph: dict, depth: int) -> None:
        defs = graph.get("definitions")
        if depth > MAX_DEPTH or not isinstance(defs, dict):
            return
        for sub in as_list(defs.get("subgraphs")):
            if isinstance(sub, dict) and isinstance(sub.get("id"), str):
                self._defs.setdefault(sub["id"], sub)
                self._collect_defs(sub, depth + 1)

    def _walk(
        self, graph: dict, *, prefix: str, active: bool, supplied: dict, stack: tuple
    ) -> None:
        for node in as_list(graph.get("nodes")):
            if not isinstance(node, dict):
                continue
            node_type = node.get("type")
            if not isinstance(node_type, str):
                continue
            node_id = f"{prefix}{node.get('id')}"
            node_active = active and node.get("mode", 0) not in (2, 4)
            own = {name: v for (nid, name), v in supplied.items() if nid == str(node.get("id"))}
            if node_type in self._defs:
                self._walk_instance(node, node_id, node_active, stack, own)
            elif node_type.startswith(GROUP_PREFIXES) or node_type in self._group_defs:
                self._walk_group_node(node, node_id, node_active)
            elif node_type in tables.frontend_only():
                continue
            else:
                self._read_ui_node(node, node_id, node_active, own)

    def _walk_instance(
        self, node: dict, node_id: str, active: bool, stack: tuple, overrides: dict
    ) -> None:
        def_id = node["type"]
        if def_id in stack or len(stack) >= MAX_DEPTH:
            self.problems.append(
                f"node {node_id}: subgraph {def_id} contains itself; not expanded again"
            )
            return
        self._used_defs.add(def_id)
        definition = self._defs[def_id]
        supplied = instance_values(node, definition, overrides)
        self._walk(
            definition,
            prefix=f"{node_id}:",
            active=active,
            supplied=supplied,
            stack=(*stack, def_id),
        )
        self._read_properties_models(node, node_id, def_id, active)

    def _walk_group_node(self, node: dict, node_id: str, active: bool) -> None:
        """A group node (``workflow>NAME``; ``workflow/NAME`` before) or a ComfyUI-Manager
        component (its type is its name, ``## make-basic_pipe [2c8c61]``): its inner nodes
        with the instance's values. Without a definition its file-like values are still
        reported, "cannot tell", never dropped."""
        node_type = node["type"]
        name = node_type
        if node_type not in self._group_defs and node_type.startswith(GROUP_PREFIXES[:2]):
            name = node_type.split(">" if ">" in node_type else "/", 1)[-1]
        definition = self._group_defs.get(name)
        if definition is None:
            why = (
                f"cannot tell: group node {name!r} has no definition in the workflow "
                "(extra.groupNodes; ComfyUI-Manager keeps components outside it)"
            )
            found = [
                (path, value)
                for path, value in leaves(node.get("widgets_values"))
                if is_model_filename(value) or is_repo_id(value)
            ]
            if not found:  # nothing to report as a model: say what could not be read
                self.problems.append(
                    f"node {node_id}: group node {name!r} has no definition in extra.groupNodes"
                )
            for path, value in found:
                self.add_ref(
                    folder=None,
                    name=value,
                    node_id=node_id,
                    node_type=node_type,
                    input=path,
                    active=active,
                    reason=why,
                )
            return
        inner = [n for n in as_list(definition.get("nodes")) if isinstance(n, dict)]
        values = node.get("widgets_values")
        lengths = [
            len(n["widgets_values"]) if isinstance(n.get("widgets_values"), list) else 0
            for n in inner
        ]
        use_instance = isinstance(values, list) and sum(lengths) == len(values)
        offset = 0
        for i, (inner_node, length) in enumerate(zip(inner, lengths)):
            inner_type = inner_node.get("type")
            if not isinstance(inner_type, str) or inner_type in tables.frontend_only():
                offset += length
                continue
            if use_instance and length:
                inner_node = {**inner_node, "widgets_values": values[offset : offset + length]}
            offset += length
            inner_id = f"{node_id}:{inner_node.get('index', i)}"
            inner_active = active and inner_node.get("mode", 0) not in (2, 4)
            self._read_ui_node(inner_node, inner_id, inner_active, {})


def linked_inputs(node: dict) -> frozenset[str]:
    """Names of a UI node's inputs that a link feeds (a widget converted to an input)."""
    return frozenset(
        i["name"]
        for i in as_list(node.get("inputs"))
        if isinstance(i, dict) and isinstance(i.get("name"), str) and i.get("link") is not None
    )
