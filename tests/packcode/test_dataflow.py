"""Which inputs of a node's function reach a download, read back along the calls made."""

from __future__ import annotations

import ast
from typing import NamedTuple

from comfylock.packcode.dataflow import inputs_reaching


class _Func(NamedTuple):
    node: ast.AST
    owner: object = None


def _parse(src: str) -> dict:
    tree = ast.parse(src)
    return {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def _call(func: ast.AST, name: str) -> ast.Call:
    for n in ast.walk(func):
        if isinstance(n, ast.Call) and ast.unparse(n.func).endswith(name):
            return n
    raise AssertionError(name)


SRC = """
def run(self, model, sampler, size):
    spec = pick(model, size=size)
    out = fetch(spec, sampler != "x")
    return self.sample(out, sampler)

def fetch(spec, flag):
    name, rest = spec
    return download(repo="r", filename=name)
"""


def test_the_inputs_whose_values_reach_the_download_through_a_helper():
    funcs = _parse(SRC)
    site = (
        (_call(funcs["run"], "fetch"), _Func(funcs["fetch"])),
        (_call(funcs["fetch"], "download"), None),
    )
    names = {"model", "sampler", "size"}
    assert inputs_reaching(funcs["run"], site, names) == {"model", "size"}


def test_a_parameter_the_download_does_not_use_reaches_nothing():
    funcs = _parse(SRC.replace("filename=name", "filename=flag"))
    site = (
        (_call(funcs["run"], "fetch"), _Func(funcs["fetch"])),
        (_call(funcs["fetch"], "download"), None),
    )
    # only the comparison's name reaches it (an expression's names, not its truth)
    assert inputs_reaching(funcs["run"], site, {"model", "sampler", "size"}) == {"sampler"}


def test_a_call_outside_the_function_or_no_site_reaches_nothing():
    funcs = _parse(SRC)
    elsewhere = ((_call(funcs["fetch"], "download"), None),)
    assert inputs_reaching(funcs["run"], elsewhere, {"model"}) == set()
    assert inputs_reaching(funcs["run"], (), {"model"}) == set()


def test_a_method_called_on_self_binds_its_arguments_after_self():
    funcs = _parse(
        """
def run(self, model, sampler):
    return self.load(sampler, model)

def load(self, a, b):
    return download(b)
"""
    )
    site = (
        (_call(funcs["run"], "load"), _Func(funcs["load"], owner="cls")),
        (_call(funcs["load"], "download"), None),
    )
    assert inputs_reaching(funcs["run"], site, {"model", "sampler"}) == {"model"}


def test_a_name_a_nested_function_rebinds_is_not_the_outer_ones():
    funcs = _parse(
        """
def run(self, model, image_output):
    def render(samples):
        weights = show(samples, image_output)
        return weights
    weights = pick(model)
    return download(weights)
"""
    )
    site = ((_call(funcs["run"], "download"), None),)
    assert inputs_reaching(funcs["run"], site, {"model", "image_output"}) == {"model"}


def test_a_binding_written_after_the_call_does_not_feed_it():
    funcs = _parse(
        """
def run(self, model, preset, weight_type):
    model, adapter = self.load(model, preset)
    model = apply(model, adapter, weight_type)
    return model

def load(self, model, preset):
    return download(PRESETS[preset], kind=model.kind)
"""
    )
    site = (
        (_call(funcs["run"], "load"), _Func(funcs["load"], owner="cls")),
        (_call(funcs["load"], "download"), None),
    )
    names = {"model", "preset", "weight_type"}
    assert inputs_reaching(funcs["run"], site, names) == {"model", "preset"}


def test_a_spread_of_keywords_feeds_only_the_parameters_no_argument_names():
    funcs = _parse(
        """
def run(self, paths, interpolation, rmbg_model, sensitivity):
    image = resize(paths, interpolation)
    params = {"sensitivity": sensitivity}
    return self.remove(image, rmbg_model, **params)

def remove(self, image, model_name, sensitivity=0.5, threshold=None):
    return download(REPOS[model_name], mode=threshold)
"""
    )
    site = (
        (_call(funcs["run"], "remove"), _Func(funcs["remove"], owner="cls")),
        (_call(funcs["remove"], "download"), None),
    )
    names = {"paths", "interpolation", "rmbg_model", "sensitivity"}
    # threshold is bound by no argument: it may come from the spread dict
    assert inputs_reaching(funcs["run"], site, names) == {"rmbg_model", "sensitivity"}


def test_a_class_made_with_an_input_binds_it_after_self():
    funcs = _parse(
        """
def run(self, family, mode):
    spec = Spec(mode, family)
    return spec

def __init__(self, a, b):
    download(PATHS[b])
"""
    )
    site = (
        (_call(funcs["run"], "Spec"), _Func(funcs["__init__"], owner="cls")),
        (_call(funcs["__init__"], "download"), None),
    )
    assert inputs_reaching(funcs["run"], site, {"family", "mode"}) == {"family"}
