"""A small abstract interpreter over a pack's Python modules (``ast`` only, nothing runs).

Statements are walked in order with an environment of name -> alternatives; both arms of an
``if`` are walked and merged, loops over literal lists are unrolled (so ``for k, v in pairs``
keeps keys and values together), calls into the pack's own functions and methods are followed
a few levels deep. Side effects that matter (folder registrations, Hugging Face downloads) are
collected in an ``Effects`` record with the file and line they came from.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import NamedTuple

from . import expressions as bm
from .operators import dict_set
from .values import (
    ANY_INPUT,
    FORWARDED,
    UNKNOWN,
    ClassRef,
    Const,
    DictV,
    Dyn,
    FuncRef,
    Input,
    ListV,
    Mod,
    PathV,
)

__all__ = ["ANY_INPUT", "Effects", "Fetch", "Frame", "Interp", "MAX_ALTS", "class_frame"]

MAX_ALTS = 12
MAX_DEPTH = 4
STEP_BUDGET = 60_000


class Fetch(NamedTuple):
    """One download a node's code makes: ``kind`` ``repo`` (a Hugging Face repo: whole, or
    the file ``name`` of it) or ``url``; each other field the alternatives of that argument
    (``dir``: where it lands, ``()`` when the call names no place; ``allow``: allow-patterns)."""

    kind: str
    source: tuple
    name: tuple
    subfolder: tuple
    dir: tuple
    allow: tuple
    where: str
    repo_type: tuple = ()
    # the calls that led here from the node's own function: ((ast.Call, callee FuncRef), ...),
    # the download call last (callee None); what ``dataflow.inputs_reaching`` reads back
    site: tuple = ()


@dataclass
class Effects:
    registrations: list = field(default_factory=list)  # (key alts, path alts, where)
    downloads: list = field(default_factory=list)  # (repo alts, local_dir alts, cache alts, where)
    # ``X.from_pretrained(value)``: a repo id loaded into the Hugging Face cache when it is
    # not a local path (repo alts, cache_dir alts)
    pretrained: list = field(default_factory=list)
    # a node input's value used as a file name in a directory: (input name, dir alts)
    file_reads: list = field(default_factory=list)
    # what a node's code downloads: Fetch records (see fetches.py)
    fetches: list = field(default_factory=list)
    # a node input handed to another pack's node (``NODE_CLASS_MAPPINGS["X"]().load(value)``):
    # (input name, the other node's class, its input taking the value)
    delegations: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # where static reading failed


class _Stop(Exception):
    pass


def _none_test(test) -> tuple | None:
    """(x, negated) of ``x is None`` / ``x is not None``, else None."""
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Is | ast.IsNot)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value is None
    ):
        return test.left, isinstance(test.ops[0], ast.IsNot)
    return None


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_REGISTERS = frozenset({"add_model_folder_path", "folder_names_and_paths"})


def _registers_folders(stmts: list) -> bool:
    """Whether statements (a class body's, outside its methods) register a model folder."""
    return any(
        (isinstance(n, ast.Attribute) and n.attr in _REGISTERS)
        or (isinstance(n, ast.Name) and n.id in _REGISTERS)
        for stmt in stmts
        for n in ast.walk(stmt)
    )


def merge(*alts_lists) -> tuple:
    out: list = []
    for alts in alts_lists:
        for v in alts:
            if v not in out:
                out.append(v)
    return tuple(out[:MAX_ALTS]) if out else (UNKNOWN,)


class Frame:
    def __init__(
        self,
        module: str,
        env: dict | None = None,
        owner: ClassRef | None = None,
        nested: bool = False,
    ):
        self.module = module
        self.env: dict[str, tuple] = dict(env or {})
        self.owner = owner
        self.returns: list = []
        self.nested = nested  # a function body: definitions here close over its names


def class_frame(cls: ClassRef) -> Frame:
    """Where a class's bases and attributes are evaluated: its module, plus the names of the
    function that defined it."""
    return Frame(cls.module, dict(cls.closure), cls)


def _closure(frame: Frame) -> tuple:
    return tuple(sorted(frame.env.items(), key=lambda kv: kv[0])) if frame.nested else ()


class Interp:
    """Evaluates one pack. ``modules`` maps a dotted module name to its parsed ast.Module."""

    def __init__(self, pack):
        self.pack = pack
        self.core_inputs: dict = {}  # core class -> its inputs (CoreFacts.inputs)
        self.core_classes: frozenset = frozenset()  # CoreFacts.classes
        self.input_files = False  # also read listings of input/ (``pack_facts``)
        self.effects = Effects()
        self.class_attrs: dict = {}  # (class node id, name) -> alternatives set by a method
        self.constructed: set = set()  # class node ids whose ``__init__`` has been read
        # a value run (what a node downloads on a machine that lacks it): files do not exist
        self.fresh_machine = False
        self.attr_memo: dict = {}  # (class node id, name) -> its class body's value
        self.steps = 0
        self.depth = 0
        self.calling = None  # the ast.Call whose callee is about to run (``call_def``)
        self.chain: list = []  # (ast.Call, FuncRef) of each pack function being run
        self._module_env: dict[str, dict] = {}
        self._busy: dict[str, Frame] = {}  # modules being walked: their live frames

    # ---- modules -------------------------------------------------------------------------
    def module_env(self, module: str) -> dict:
        if module in self._module_env:
            return self._module_env[module]
        if module in self._busy:
            return self._busy[module].env
        tree = self.pack.tree(module)
        if tree is None:
            return {}
        frame = Frame(module)
        self._busy[module] = frame
        saved, self.steps = self.steps, 0  # NOTE: a module imported on the way has its own budget
        try:
            self.walk(tree.body, frame)
        except (_Stop, RecursionError):
            self.effects.notes.append(f"{self.pack.path_of(module)}: too deep to read")
        finally:
            del self._busy[module]
            self.steps = saved
        self._module_env[module] = frame.env
        return frame.env

    def lookup(self, name: str, frame: Frame) -> tuple:
        if name in frame.env:
            return frame.env[name]
        env = self.module_env(frame.module)
        if name in env and env is not frame.env:
            return env[name]
        if name == "__file__":
            return (PathV(self.pack.root_rel(frame.module)),)
        if name in bm.BUILTINS:
            return (Mod(name),)
        return (UNKNOWN,)

    # ---- statements ----------------------------------------------------------------------
    def tick(self):
        self.steps += 1
        if self.steps > STEP_BUDGET:
            raise _Stop

    def walk(self, stmts, frame: Frame) -> None:
        for stmt in stmts:
            self.tick()
            self.stmt(stmt, frame)

    def stmt(self, s, frame: Frame) -> None:  # noqa: C901 - one dispatch over statement kinds
        if isinstance(s, ast.Assign):
            vals = self.ev(s.value, frame)
            for target in s.targets:
                self.assign(target, vals, frame)
        elif isinstance(s, ast.AnnAssign) and s.value is not None:
            self.assign(s.target, self.ev(s.value, frame), frame)
        elif isinstance(s, ast.AugAssign):
            cur = self.ev(s.target, frame)
            vals = bm.binop(s.op, cur, self.ev(s.value, frame))
            self.assign(s.target, vals, frame)
        elif isinstance(s, ast.Expr):
            self.ev(s.value, frame)
        elif isinstance(s, ast.Return):
            frame.returns.append(self.ev(s.value, frame) if s.value else (Const(None),))
        elif isinstance(s, ast.If):
            taken = self.decided(s.test, frame)
            if taken is None:
                self.branches([s.body, s.orelse], frame)
            else:  # a test on constants (a value bound for one run): only its arm runs
                self.walk(s.body if taken else s.orelse, frame)
        elif isinstance(s, ast.For | ast.AsyncFor):
            self.for_loop(s, frame)
        elif isinstance(s, ast.While):
            self.branches([s.body, []], frame)
        elif isinstance(s, ast.With | ast.AsyncWith):
            for item in s.items:
                vals = self.ev(item.context_expr, frame)
                if item.optional_vars is not None:
                    self.assign(item.optional_vars, vals, frame)
            self.walk(s.body, frame)
        elif isinstance(s, ast.Try | getattr(ast, "TryStar", ast.Try)):
            self.try_block(s, frame)
        elif isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef):
            frame.env[s.name] = (FuncRef(frame.module, s, frame.owner, _closure(frame)),)
        elif isinstance(s, ast.ClassDef):
            ref = ClassRef(frame.module, s, _closure(frame))
            frame.env[s.name] = (ref,)
            body = [b for b in s.body if not isinstance(b, _DEFINITIONS)]
            if _registers_folders(body):  # the body runs at import: its registrations count
                self.walk(body, class_frame(ref))
        elif isinstance(s, ast.Import):
            for alias in s.names:
                self.import_name(alias, frame)
        elif isinstance(s, ast.ImportFrom):
            self.import_from(s, frame)

    def decided(self, test, frame: Frame) -> bool | None:
        """The truth of an ``if`` test when every alternative is a constant (or ``x is None``
        of an ``x`` that is a known value, never None), else None."""
        none_test = _none_test(test)
        if none_test is not None:
            left, negated = none_test
            alts = self.ev(left, frame)
            if alts and all(isinstance(a, PathV | ListV | DictV) for a in alts):
                return negated
        alts = self.ev(test, frame)
        if not alts or not all(isinstance(a, Const) for a in alts):
            return None
        truths = {bool(a.value) for a in alts}
        return truths.pop() if len(truths) == 1 else None

    def try_block(self, s, frame: Frame) -> None:
        """``try``: the body ran to its end (then ``else``), or it failed before binding its
        names and a handler ran from what was bound before (``x = os.environ["X"]`` in a
        ``try`` leaves ``x``'s default when the variable is unset)."""
        before = dict(frame.env)
        self.walk(s.body, frame)
        after = frame.env
        results = []
        for start, arm in [(after, s.orelse)] + [(before, h.body) for h in s.handlers]:
            frame.env = dict(start)
            self.walk(arm, frame)
            results.append(frame.env)
        frame.env = _merged(results)
        self.walk(s.finalbody, frame)

    def branches(self, arms, frame: Frame) -> None:
        before = dict(frame.env)
        results = []
        for arm in arms:
            frame.env = dict(before)
            self.walk(arm, frame)
            results.append(frame.env)
        frame.env = _merged(results)

    def for_loop(self, s, frame: Frame) -> None:
        items = bm.iter_items(self.ev(s.iter, frame))
        if items is not None and len(items) <= 400:
            for item in items:
                self.assign(s.target, (item,), frame)
                self.walk(s.body, frame)
            self.walk(s.orelse, frame)
            return
        self.assign(s.target, bm.element_of(self.ev(s.iter, frame)), frame)
        self.branches([s.body + s.orelse, []], frame)

    def assign(self, target, vals: tuple, frame: Frame) -> None:
        if isinstance(target, ast.Name):
            frame.env[target.id] = vals
        elif isinstance(target, ast.Tuple | ast.List):
            for i, elt in enumerate(target.elts):
                if isinstance(elt, ast.Starred):
                    continue
                self.assign(elt, merge(*(bm.index(v, Const(i)) for v in vals)), frame)
        elif isinstance(target, ast.Subscript):
            self.assign_item(target, vals, frame)
        elif isinstance(target, ast.Attribute):
            base = self.ev(target.value, frame)
            for b in base:
                if isinstance(b, Mod) and b.name == "folder_paths" and target.attr == "models_dir":
                    self.effects.notes.append(self.where(frame, target) + ": models_dir reassigned")
                elif isinstance(b, ClassRef):  # ``self.files = ...`` in INPUT_TYPES, read later
                    self.class_attrs[(id(b.node), target.attr)] = vals

    def assign_item(self, target: ast.Subscript, vals: tuple, frame: Frame) -> None:
        base = self.ev(target.value, frame)
        keys = self.ev(target.slice, frame)
        if any(
            isinstance(b, Mod) and b.name == "folder_paths.folder_names_and_paths" for b in base
        ):
            paths = merge(*(bm.index(v, Const(0)) for v in vals))
            self.effects.registrations.append((keys, paths, self.where(frame, target)))
            return
        if not isinstance(target.value, ast.Name | ast.Subscript):
            return
        new = []
        for b in base:
            if isinstance(b, DictV) and len(keys) == 1:
                new.append(dict_set(b, keys[0], vals))
            elif isinstance(b, DictV) and 1 < len(keys) <= 4:  # one of a few keys: each may be
                for key in keys:
                    b = dict_set(b, key, vals)
                new.append(b)
        if new:
            self.rebind(target.value, tuple(new), frame)

    def rebind(self, target, vals: tuple, frame: Frame) -> None:
        """A container changed in place: a global one changed inside a function (a pack's
        ``register(mapping)`` filling the module's ``NODE_CLASS_MAPPINGS``) changes the
        module's binding, as Python's mutation would."""
        if isinstance(target, ast.Name) and frame.nested and target.id not in frame.env:
            env = self.module_env(frame.module)
            if target.id in env:
                env[target.id] = vals
                return
        self.assign(target, vals, frame)

    # ---- imports -------------------------------------------------------------------------
    def import_name(self, alias, frame: Frame) -> None:
        name = alias.name
        local = self.pack.resolve_module(name, frame.module, level=0)
        bound = alias.asname or name.split(".")[0]
        if local is not None and alias.asname:
            frame.env[bound] = (Mod("pack:" + local),)
        elif local is not None:  # `import a.b.c` binds `a`: the package holding a.b.c
            top = local[: len(local) - len(name)] + name.split(".")[0]
            frame.env[bound] = (Mod("pack:" + top),)
        else:
            frame.env[bound] = (Mod(name if alias.asname else name.split(".")[0]),)

    def import_from(self, s: ast.ImportFrom, frame: Frame) -> None:
        mod = s.module or ""
        local = self.pack.resolve_module(mod, frame.module, level=s.level)
        for alias in s.names:
            bound = alias.asname or alias.name
            if alias.name == "*":
                if local is not None:
                    frame.env.update(
                        {k: v for k, v in self.module_env(local).items() if not k.startswith("_")}
                    )
                continue
            if local is None:
                frame.env[bound] = (Mod(f"{mod}.{alias.name}" if mod else alias.name),)
                continue
            sub = self.pack.resolve_module(alias.name, local, level=1, package=True)
            if sub is not None:
                frame.env[bound] = (Mod("pack:" + sub),)
            else:
                frame.env[bound] = self.module_env(local).get(alias.name, (UNKNOWN,))

    # ---- expressions ---------------------------------------------------------------------
    def ev(self, node, frame: Frame) -> tuple:
        self.tick()
        try:
            return bm.evaluate(self, node, frame)
        except (_Stop, RecursionError):
            raise
        except Exception as exc:  # a reader bug must not sink the whole pack: say where
            self.effects.notes.append(f"{self.where(frame, node)}: {type(exc).__name__}")
            return (UNKNOWN,)

    def call_def(self, func: FuncRef, args: list, kwargs: dict, frame: Frame) -> tuple:
        """Follow a call into the pack's own code; the alternatives of what it returns."""
        if self.depth >= MAX_DEPTH:
            return (UNKNOWN,)
        node = func.node
        env: dict = {}
        params = node.args.posonlyargs + node.args.args
        defaults = node.args.defaults
        # defaults are evaluated where the function is defined (its module), not at the call
        where = Frame(func.module, dict(_closure_of(func)), func.owner)
        for i, p in enumerate(params[len(params) - len(defaults) :]):
            env[p.arg] = self.ev(defaults[i], where)
        for p, d in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=False):
            if d is not None:
                env[p.arg] = self.ev(d, where)
        for p, a in zip(params, args, strict=False):
            env[p.arg] = a
        named = {p.arg for p in params + node.args.kwonlyargs}
        for k, v in kwargs.items():
            if k == FORWARDED:
                continue
            if k in named or node.args.kwarg is None:
                env[k] = v
        if node.args.vararg is not None:  # *args: the extra positional arguments
            extra = args[len(params) :]
            env[node.args.vararg.arg] = (ListV(tuple(bm._collapse(a) for a in extra)),)
        if node.args.kwarg is not None:  # **kwargs: the extra keyword arguments, as a dict
            rest = tuple(
                (Const(k), v) for k, v in kwargs.items() if k not in named and k != FORWARDED
            )
            env[node.args.kwarg.arg] = (DictV(rest),)
        forwarded = (Input(p.arg) for p in params + node.args.kwonlyargs)  # ``f(**kwargs)``
        for p, passed in zip(params + node.args.kwonlyargs, forwarded, strict=True):
            env.setdefault(p.arg, (passed,) if FORWARDED in kwargs else (UNKNOWN,))
        callee = Frame(func.module, {**_closure_of(func), **env}, func.owner, nested=True)
        self.depth += 1
        self.chain.append((self.calling, func))
        self.calling = None  # a call made without ``call_node`` (``__init__``) has no site
        try:
            self.walk(node.body, callee)
        finally:
            self.depth -= 1
            self.chain.pop()
        return merge(*callee.returns) if callee.returns else (Const(None),)

    def run_method(self, func: FuncRef, inputs: bool, values: dict | None = None) -> Frame:
        """Walk a node method with its parameters bound to the node's inputs (``inputs``) or
        unknown, ``self``/``cls`` bound to the owner class; ``values`` binds some inputs to
        one concrete value each (what the node does for that value)."""
        node = func.node
        params = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
        env: dict = {}
        for i, p in enumerate(params):
            if i == 0 and not _is_static(node):
                env[p.arg] = (func.owner,)
            elif values and p.arg in values:
                env[p.arg] = (values[p.arg],)
            else:
                env[p.arg] = (Input(p.arg),) if inputs else (UNKNOWN,)
        if node.args.kwarg is not None:  # **kwargs: inputs the node takes beyond INPUT_TYPES
            env[node.args.kwarg.arg] = (Input(ANY_INPUT),) if inputs else (UNKNOWN,)
        if node.args.vararg is not None and inputs:  # ComfyUI passes inputs by keyword only
            env[node.args.vararg.arg] = (ListV(()),)
        frame = Frame(func.module, {**_closure_of(func), **env}, func.owner, nested=True)
        try:
            self.walk(node.body, frame)
        except (_Stop, RecursionError):
            self.effects.notes.append(self.where(frame, node) + ": too deep to read")
        return frame

    def site(self) -> tuple:
        """The calls from the node's function to the call being made (``Fetch.site``); ()
        when one of them was not made by a call the reader saw."""
        chain = (*self.chain, (self.calling, None))
        return chain if all(c is not None for c, _ in chain) else ()

    def where(self, frame: Frame, node) -> str:
        return f"{self.pack.path_of(frame.module)}:{getattr(node, 'lineno', 0)}"


def _closure_of(func: FuncRef) -> dict:
    """Names a method or nested function sees beyond its parameters: its own closure, and its
    class's (a method of a class made inside a factory function)."""
    owner = func.owner if isinstance(func.owner, ClassRef) else None
    return {**dict(owner.closure if owner else ()), **dict(func.closure)}


def _is_static(node) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)


# re-exported for expressions, which needs the container types without a cycle
_ = (ListV, Dyn)


def _merged(envs: list[dict]) -> dict:
    """One environment from the arms a run may have taken: each name bound to every value
    any arm left it (``merge``), so later reads keep every alternative."""
    out: dict = {}
    for env in envs:
        for k, v in env.items():
            out[k] = merge(out[k], v) if k in out else v
    return out
