"""Which of a function's names a call's arguments are made from, read from the ``ast``.

A node that downloads what static reading cannot follow (a file name looked up in a table of
the pack's own classes, a spec object built by a helper) still shows *which* of its inputs
decide it: ``ckpt = _checkpoint_for(backbone, ckpt_type)`` then ``_ensure_assets(ckpt)`` makes
``backbone`` and ``ckpt_type`` choose the download. Read backwards along the calls the reader
followed to the download: within each function, assignments to a fixed point (names, tuple
targets, ``self.x`` attributes, ``for`` and ``with`` targets); between functions, the
arguments that bind the parameters needed. Branches' conditions are not followed (a value that
only picks an ``if`` arm is not counted). Pure.
"""

from __future__ import annotations

import ast

__all__ = ["inputs_reaching"]


def inputs_reaching(func: ast.AST, site: tuple, names: set[str]) -> set[str]:
    """The ``names`` (parameters of ``func``, the node's function) whose values reach the last
    call of ``site``: ``((call, callee), ...)``, each call made in the body of the function
    before it (the first in ``func``'s), the last one's callee None. Read backwards: the names
    the last call is made from, then the parameters they come from at each step up."""
    if not site:
        return set()
    bodies = [func, *(callee.node for _, callee in site[:-1])]
    needed = _loads(site[-1][0])
    for depth in range(len(site) - 1, -1, -1):
        body, call = bodies[depth], site[depth][0]
        if not any(n is call for n in ast.walk(body)):
            return set()
        needed = _closure(body, needed)
        if depth == 0:
            break
        params = _params(body)
        needed = _arguments_for(site[depth - 1][0], body, needed & params, site[depth - 1][1])
    return needed & names


def _closure(body: ast.AST, needed: set[str]) -> set[str]:
    """``needed`` and every name a binding of one of them in ``body`` is made from."""
    needed = set(needed)
    flows = list(_assignments(body))
    grew = True
    while grew:
        grew = False
        for targets, source in flows:
            if targets & needed and not source <= needed:
                needed |= source
                grew = True
    return needed


def _params(func: ast.AST) -> set[str]:
    a = func.args
    every = a.posonlyargs + a.args + a.kwonlyargs
    return {p.arg for p in every} | {x.arg for x in (a.vararg, a.kwarg) if x is not None}


def _arguments_for(call: ast.Call, callee: ast.AST, wanted: set[str], func) -> set[str]:
    """The names the arguments of ``call`` that bind the callee's parameters ``wanted`` are
    made from; all of the call's names when the binding cannot be read (``*args``)."""
    if not wanted:
        return set()
    a = callee.args
    positional = [p.arg for p in a.posonlyargs + a.args]
    bound = getattr(func, "owner", None) is not None and isinstance(call.func, ast.Attribute)
    if bound and positional and not _static(callee):
        positional = positional[1:]  # ``self.f(x)``: x binds the second parameter
    if any(isinstance(x, ast.Starred) for x in call.args) or any(
        k.arg is None for k in call.keywords
    ):
        return _loads(call)
    out: set[str] = set()
    for name, arg in zip(positional, call.args, strict=False):
        if name in wanted:
            out |= _loads(arg)
    if a.vararg is not None and a.vararg.arg in wanted:
        for arg in call.args[len(positional) :]:
            out |= _loads(arg)
    for k in call.keywords:
        if k.arg in wanted or (a.kwarg is not None and a.kwarg.arg in wanted):
            out |= _loads(k.value)
    return out


def _static(func: ast.AST) -> bool:
    return any(
        isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod")
        for d in func.decorator_list
    )


def _key(node: ast.AST) -> str | None:
    """The name an expression reads or a target binds: ``x``, or ``self.x`` for an attribute of
    a plain name (what a method keeps on its object)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _loads(node: ast.AST) -> set[str]:
    out = set()
    for n in ast.walk(node):
        key = _key(n)
        if key is not None:
            out.add(key)
    return out


def _bound(target: ast.AST) -> set[str]:
    if isinstance(target, ast.Tuple | ast.List):
        return {k for t in target.elts for k in _bound(t)}
    if isinstance(target, ast.Starred):
        return _bound(target.value)
    key = _key(target)
    return {key} if key is not None else set()


def _assignments(func: ast.AST):
    """(names bound, names read) of each binding statement in ``func``."""
    for n in ast.walk(func):
        if isinstance(n, ast.Assign):
            yield {k for t in n.targets for k in _bound(t)}, _loads(n.value)
        elif isinstance(n, ast.AnnAssign | ast.AugAssign | ast.NamedExpr) and n.value is not None:
            yield _bound(n.target), _loads(n.value)
        elif isinstance(n, ast.For | ast.AsyncFor | ast.comprehension):
            yield _bound(n.target), _loads(n.iter)
        elif isinstance(n, ast.withitem) and n.optional_vars is not None:
            yield _bound(n.optional_vars), _loads(n.context_expr)
