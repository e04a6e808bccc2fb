"""Values a subgraph instance supplies to the nodes inside its definition.

An instance node stores values for promoted widgets either in ``properties.proxyWidgets``
order or, without it, in the order of the definition's inputs that feed an inner widget
(the instance's own ``inputs`` list may name only some of them). Pure functions over the
decoded JSON.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["as_list", "instance_values", "subgraph_inputs"]


def instance_values(
    node: dict, definition: dict, overrides: dict[str, Any]
) -> dict[tuple[str, str], Any]:
    """(inner node id, widget name) -> value that a subgraph instance supplies; ``overrides``
    are values an enclosing subgraph's instance pushes into this (nested) instance."""
    out = _own_instance_values(node, definition)
    targets = _input_targets(definition)
    for widget, value in overrides.items():
        for target in targets.get(widget, ()):
            out[target] = value
    return out


def _own_instance_values(node: dict, definition: dict) -> dict[tuple[str, str], Any]:
    """Values stored on the instance itself. With ``proxyWidgets`` they follow that list;
    otherwise they follow, in order, the definition's inputs that feed an inner widget (the
    instance's own ``inputs`` list may name only some of them, so it cannot be trusted for
    positions). Values that do not line up are not used: the inner nodes' own values stand."""
    out: dict[tuple[str, str], Any] = {}
    values = node.get("widgets_values")
    if not isinstance(values, list):
        values = []
    props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    proxies = props.get("proxyWidgets")
    if isinstance(proxies, str):
        try:
            proxies = json.loads(proxies)
        except json.JSONDecodeError:
            proxies = None
    inputs = subgraph_inputs(definition)
    by_name = {name: targets for name, targets, _fed in inputs}
    if isinstance(proxies, list) and len(proxies) == len(values):
        for proxy, value in zip(proxies, values):
            if isinstance(proxy, list) and len(proxy) == 2:
                inner, widget = str(proxy[0]), str(proxy[1])
                if inner == "-1":
                    for target in by_name.get(widget, ()):
                        out[target] = value
                else:
                    out[(inner, widget)] = value
        return out
    fed = [targets for _name, targets, is_widget in inputs if is_widget]
    if values and len(fed) == len(values):
        for targets, value in zip(fed, values):
            for target in targets:
                out[target] = value
    return out


def _input_targets(definition: dict) -> dict[str, list[tuple[str, str]]]:
    """Subgraph input name -> inner (node id, widget name) pairs it feeds."""
    return {name: targets for name, targets, _fed in subgraph_inputs(definition)}


def as_list(value: Any) -> list:
    """A JSON value that should be a list, or [] (hand-edited files hold anything)."""
    return value if isinstance(value, list) else []


def _key(value: Any) -> Any:
    """A JSON value usable as a dict key (ids are ints or strings; anything else matches nothing)."""
    return value if isinstance(value, (int, str)) else None


def subgraph_inputs(definition: dict) -> list[tuple[str, list[tuple[str, str]], bool]]:
    """The definition's inputs in order: (name, inner (node id, widget name) targets,
    whether it feeds an inner widget)."""
    links: dict[Any, tuple[Any, Any]] = {}
    for link in as_list(definition.get("links")):
        if isinstance(link, dict):
            links[_key(link.get("id"))] = (link.get("target_id"), link.get("target_slot"))
        elif isinstance(link, list) and len(link) >= 5:
            links[_key(link[0])] = (link[3], link[4])
    nodes = {_key(n.get("id")): n for n in as_list(definition.get("nodes")) if isinstance(n, dict)}
    out: list[tuple[str, list[tuple[str, str]], bool]] = []
    for sg_input in as_list(definition.get("inputs")):
        if not isinstance(sg_input, dict):
            continue
        targets: list[tuple[str, str]] = []
        fed_widget = False
        for link_id in as_list(sg_input.get("linkIds")):
            target_id, slot = links.get(_key(link_id), (None, None))
            target = nodes.get(_key(target_id))
            if target is None or not isinstance(slot, int):
                continue
            inputs = as_list(target.get("inputs"))
            if slot < len(inputs) and isinstance(inputs[slot], dict):
                widget = inputs[slot].get("widget")
                fed_widget = fed_widget or isinstance(widget, dict)
                name = widget.get("name") if isinstance(widget, dict) else inputs[slot].get("name")
                targets.append((str(target_id), str(name)))
        out.append((str(sg_input.get("name")), targets, fed_widget))
    return out
