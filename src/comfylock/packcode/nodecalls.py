"""Calls into node classes: ComfyUI's own (a core loader's ``INPUT_TYPES()`` and functions,
from its recorded inputs), another pack's looked up by its registered name
(``NODE_CLASS_MAPPINGS["X"]().load(value)``: recorded as a delegation), and the pack's own
classes made into objects (``Helper()``: its ``__init__`` read for what it sets on ``self``).

Every function returns a tuple of alternatives (see ``values.py``).
"""

from __future__ import annotations

from .expressions import _last, find_method
from .values import UNKNOWN, ClassRef, Const, DictV, Files, Input, ListV, Mod, PathV

__all__ = ["call_node_class", "construct", "core_input_types"]

_KIND_VALUE = {"link": "MODEL", "int": "INT", "widget": "COMBO"}  # a widget of any value kind


def core_input_types(spec) -> DictV:
    """What a core class's ``INPUT_TYPES()`` gives, from ComfyUI's recorded facts: its inputs
    in order (``(name, kind, folder, optional)``: a model input lists its folder's files), or, from an
    older table that knows only the model inputs (``{name: folder}``), those and an unknown
    rest (so no widget order is made up from it)."""
    if isinstance(spec, dict):
        required = tuple(
            (Const(name), (ListV((Files(frozenset({folder})),)),)) for name, folder in spec.items()
        )
        return DictV(((Const("required"), (DictV((*required, (UNKNOWN, (UNKNOWN,)))),)),))
    sections: dict[str, list] = {"required": [], "optional": []}
    for name, kind, folder, optional in spec:
        value = Files(frozenset({folder})) if folder else Const(_KIND_VALUE.get(kind, "STRING"))
        sections["optional" if optional else "required"].append((Const(name), (ListV((value,)),)))
    return DictV(tuple((Const(k), (DictV(tuple(v)),)) for k, v in sections.items() if v))


def call_node_class(it, f: Mod, args, kwargs) -> tuple | None:
    """What calling ``f`` means when it names a node class or one of its functions; None when
    it names none."""
    name, last = f.name, _last(f.name)
    if name == "nodes.NODE_CLASS_MAPPINGS.get" and args:
        # ``NODE_CLASS_MAPPINGS.get("X")``: the class registered as X, as by its subscript
        named = [v.value for v in args[0] if isinstance(v, Const) and isinstance(v.value, str)]
        return tuple(Mod(f"nodes.{n}") for n in named) or (UNKNOWN,)
    if last == "INPUT_TYPES" and name.count(".") >= 1:
        spec = it.core_inputs.get(name.rsplit(".", 2)[-2])
        if spec is not None:
            return (core_input_types(spec),)
    if name.count(".") >= 1 and last in it.core_inputs:
        return (f,)  # ``LoraLoader()``: an instance of a core class
    if name.startswith("nodes.") and name.count(".") == 1:
        return (Mod(_OTHER_NODE + last),)  # another pack's node, by its registered name
    if name.startswith(_OTHER_NODE) and "." in name:
        _delegate(it, name[len(_OTHER_NODE) :].rpartition(".")[0], args, kwargs)
        return (UNKNOWN,)
    if name.count(".") >= 2 and name.rsplit(".", 2)[-2] in it.core_inputs:
        _core_method_reads(it, it.core_inputs[name.rsplit(".", 2)[-2]], args, kwargs)
        return (UNKNOWN,)
    return None


_OTHER_NODE = "node-class:"  # an instance of a node class ComfyUI's nodes module does not hold


def _delegate(it, target: str, args, kwargs) -> None:
    """``NODE_CLASS_MAPPINGS["X"]().load(model, ...)``: a node that hands its input to
    another pack's node (MultiGPU's wrappers) reads the value as that node's input does: a
    keyword names the input, a positional value is taken for the input of its own name (a
    wrapper passes its inputs on as they are). The other pack's facts answer at read time."""
    if not target or target in it.core_classes:
        return  # ComfyUI's own node: its loaders are read where their inputs are known
    passed = [(v, None) for alts in args for v in alts]
    passed += [(v, key) for key, alts in kwargs.items() for v in alts]
    for v, key in passed:
        if isinstance(v, Input) and v.xform == "":
            it.effects.delegations.append((v.name, target, key or v.name))


def _core_method_reads(it, spec, args, kwargs) -> None:
    """``LoraLoader().load_lora(model, clip, lora, ...)``: a core loader's function takes its
    inputs in ``INPUT_TYPES`` order; a node input passed as its model input is a file of that
    input's folder."""
    if isinstance(spec, dict):
        return  # an older table: the order of the core class's inputs is unknown
    names = [row[0] for row in spec]
    folders = {row[0]: row[2] for row in spec if row[2]}
    given = dict(zip(names, args, strict=False))
    given.update({k: v for k, v in kwargs.items() if k in folders})
    for name, alts in given.items():
        folder = folders.get(name)
        for v in alts if folder else ():
            if isinstance(v, Input) and v.xform == "":
                it.effects.file_reads.append((v.name, (PathV("{folder:" + folder + "}"),)))


def construct(it, cls: ClassRef, frame) -> None:
    """``Helper()``: what its ``__init__`` sets on ``self`` (``self.cache_dir = ...``,
    ``self.models = {"label": Loader()}``) is what its methods read later; each class's once
    (an instance stands for its class here). Its arguments are not followed: a node's values
    are read where its function uses them, and a constructor's fallbacks for a directory the
    user may type (``"default"``) would make every value "cannot tell"."""
    if id(cls.node) in it.constructed:
        return
    it.constructed.add(id(cls.node))
    init = find_method(it, cls, "__init__")
    if init is not None:
        params = init.node.args.posonlyargs + init.node.args.args
        it.call_def(init, [(cls,), *([(UNKNOWN,)] * (len(params) - 1))], {}, frame)
