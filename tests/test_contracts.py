"""Contracts that must not drift: schemas, the generated tables, exported names, start-up imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from comfylock.lock.schemas import SCHEMAS, render_schema
from tests.support.paths import ROOT


@pytest.mark.parametrize("filename", sorted(SCHEMAS))
def test_schemas_are_up_to_date(filename):
    committed = (ROOT / "schemas" / filename).read_text()
    assert committed == render_schema(filename), "run `make schemas` and commit the result"


def test_lock_schema_names_the_spec_keys():
    schema = json.loads(render_schema("comfy.lock.schema.json"))
    model = schema["$defs"]["LockedModel"]["properties"]
    assert {"folder", "name", "size", "sha256", "blake3", "source"} <= set(model)
    assert "matched-by" in schema["$defs"]["CivitaiSource"]["properties"]


def _gen_tables():
    """tools/gen_tables.py as a module, and the comfyui.json the package ships."""
    from tools import gen_tables

    shipped = json.loads(
        (ROOT / "src" / "comfylock" / "workflows" / "data" / "comfyui.json").read_text()
    )
    return gen_tables, shipped


def test_tables_match_shared_facts(shared_dir):
    gen_tables, shipped = _gen_tables()
    built = json.loads(json.dumps(gen_tables.build(shared_dir / "comfyui")))
    # The core class list is shared's plus the classes a ComfyUI snapshot defines
    # (core_source): shared's facts are all there, and everything else is generated as is.
    # The core loaders' input lists (core_inputs) come from that snapshot too.
    assert set(built["core_nodes"]) <= set(shipped["core_nodes"]), "run `make tables`"
    # the last three: from the snapshot
    drop = ("core_nodes", "core_source", "input_loaders", "core_inputs")
    assert {k: v for k, v in shipped.items() if k not in drop} == {
        k: v for k, v in built.items() if k not in drop
    }, "run `make tables`"


def test_core_classes_reproduce_from_the_comfyui_snapshot(shared_dir):
    gen_tables, shipped = _gen_tables()
    if not gen_tables.SNAPSHOT.is_dir():
        pytest.skip(
            f"no ComfyUI snapshot at {gen_tables.SNAPSHOT}; the shared facts test covers the rest"
        )
    try:
        snapshot = gen_tables.core_classes(gen_tables.SNAPSHOT, shipped["core_source"]["commit"])
    except LookupError as exc:
        pytest.skip(f"the snapshot lacks the recorded commit: {exc}")
    assert json.loads(json.dumps(gen_tables.build(shared_dir / "comfyui", snapshot))) == shipped


def test_all_is_sorted_and_complete():
    import comfylock

    assert list(comfylock.__all__) == sorted(comfylock.__all__)
    for name in comfylock.__all__:
        assert getattr(comfylock, name) is not None


def test_help_imports_nothing_heavy():
    code = "import sys; from comfylock.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit: pass\nprint(sorted(m for m in ('httpx','aria2p','tomlkit','rich','blake3','yaml') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"
