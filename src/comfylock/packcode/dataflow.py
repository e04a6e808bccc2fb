"""Which of a function's names a call's arguments are made from, read from the ``ast``.

A node that downloads what static reading cannot follow (a file name looked up in a table of
the pack's own classes, a spec object built by a helper) still shows *which* of its inputs
decide it: ``ckpt = _checkpoint_for(backbone, ckpt_type)`` then ``_ensure_assets(ckpt)`` makes
``backbone`` and ``ckpt_type`` choose the download. Read backwards along the calls the reader
followed to the download: within each function, the assignments written before the call, to
a fixed point (names, tuple targets, ``self.x`` attributes, ``for`` and ``with`` targets);
between functions, the arguments that bind the parameters needed. Branches' conditions are
not followed (a value that only picks an ``if`` arm is not counted). Pure.
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
        needed = _closure(body, needed, call)
        if depth == 0:
            break
        params = _params(body)
        needed = _arguments_for(site[depth - 1][0], body, needed & params, site[depth - 1][1])
    return needed & names


def _closure(body: ast.AST, needed: set[str], call: ast.AST) -> set[str]:
    """``needed`` and every name a binding of one of them in ``body`` before ``call`` is made
    from (a binding written after the call does not feed it: ``model = apply(model, mode)``
    after ``load(model)``; a loop's next round is not followed)."""
    needed = set(needed)
    at = (call.lineno, call.col_offset)
    flows = [(t, s) for t, s, done in _assignments(body) if done <= at]
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
    made from. A parameter no spelled-out argument binds may come from a ``*args`` or
    ``**kwargs`` the call spreads: then from those."""
    a = callee.args
    positional = [p.arg for p in a.posonlyargs + a.args]
    method = getattr(func, "owner", None) is not None
    bound = method and (isinstance(call.func, ast.Attribute) or callee.name == "__init__")
    if bound and positional and not _static(callee):
        wanted = wanted - {positional[0]}  # ``self``: the object, not an argument
        positional = positional[1:]  # ``self.f(x)``, ``Spec(x)``: x binds the second one
    if not wanted:
        return set()
    out: set[str] = set()
    given: set[str] = set()
    spread = [x.value for x in call.args if isinstance(x, ast.Starred)]
    spread += [k.value for k in call.keywords if k.arg is None]
    plain = []
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            break  # the ones after a ``*args`` bind places nobody can count
        plain.append(arg)
    for name, arg in zip(positional, plain, strict=False):
        given.add(name)
        if name in wanted:
            out |= _loads(arg)
    if a.vararg is not None and a.vararg.arg in wanted:
        for arg in plain[len(positional) :]:
            out |= _loads(arg)
    for k in call.keywords:
        if k.arg is None:
            continue
        given.add(k.arg)
        if k.arg in wanted or (a.kwarg is not None and a.kwarg.arg in wanted):
            out |= _loads(k.value)
    if wanted - given and spread:
        for expr in spread:
            out |= _loads(expr)
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


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _own_nodes(func: ast.AST):
    """The nodes of ``func``'s own body: a function or class defined inside is another scope
    (its names are not these, even when they are spelled alike)."""
    todo = list(ast.iter_child_nodes(func))
    while todo:
        n = todo.pop()
        yield n
        if not isinstance(n, _SCOPES):
            todo.extend(ast.iter_child_nodes(n))


def _assignments(func: ast.AST):
    """(names bound, names read, where) of each binding in ``func``'s own body."""
    for n in _own_nodes(func):
        if isinstance(n, ast.Assign):
            yield {k for t in n.targets for k in _bound(t)}, _loads(n.value), _at(n)
        elif isinstance(n, ast.AnnAssign | ast.AugAssign | ast.NamedExpr) and n.value is not None:
            yield _bound(n.target), _loads(n.value), _at(n)
        elif isinstance(n, ast.For | ast.AsyncFor | ast.comprehension):
            yield _bound(n.target), _loads(n.iter), _at(n.iter)  # bound at the loop's head
        elif isinstance(n, ast.withitem) and n.optional_vars is not None:
            yield _bound(n.optional_vars), _loads(n.context_expr), _at(n.context_expr)


def _at(node: ast.AST) -> tuple[int, int]:
    """Where a binding is done: its end (``x = f(x)`` binds after the call it holds)."""
    return (node.end_lineno or node.lineno, node.end_col_offset or 0)
