"""The reader against fixtures written in this repo: one per format and trap (EXPECTED.json)."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comfylock.errors import NotAWorkflowError, WorkflowError
from comfylock.workflows.reader import parse
from tests.support.paths import FIXTURES
from tests.support.strategies import FEW

WORKFLOWS = FIXTURES / "workflows"
EXPECTED = json.loads((WORKFLOWS / "EXPECTED.json").read_text())


@pytest.fixture(autouse=True)
def _fixture_table(node_table):
    """The fixtures' custom nodes as the fixture knowledge table knows them."""


def keys(refs, pred=lambda r: True):
    return sorted({f"{r.folder}/{r.name}" for r in refs if pred(r)})


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_references(name):
    info = parse((WORKFLOWS / name).read_bytes(), name=name)
    want = EXPECTED[name]
    assert keys(info.models) == want["models"]
    assert keys(info.models, lambda r: r.invalid) == want["invalid"]
    assert keys(info.models, lambda r: not r.active) == want["inactive"]
    assert sorted({n.class_type for n in info.nodes if not n.core}) == want["custom_nodes"]


def test_every_format_is_covered():
    suffixes = {name.rsplit(".", 1)[-1] for name in EXPECTED}
    formats = {parse((WORKFLOWS / n).read_bytes()).format for n in EXPECTED}
    assert suffixes == {"json", "png", "webp", "flac", "safetensors"}
    assert formats == {"ui", "api"}


def test_subgraph_instance_value_beats_stale_inner_default():
    info = parse((WORKFLOWS / "ui1_nested_subgraphs.json").read_bytes())
    names = {r.name for r in info.models}
    assert "stale_inner_default.safetensors" not in names
    ids = {r.node_id for r in info.models if r.name == "wan_style.safetensors"}
    assert ids == {"37:6:1"}, "nested execution ids join instance ids with ':'"


def test_properties_models_carry_folder_url_and_hash():
    info = parse((WORKFLOWS / "ui1_nested_subgraphs.json").read_bytes())
    by_name = {r.name: r for r in info.models}
    te = by_name["umt5_xxl_fp8_e4m3fn_scaled.safetensors"]
    assert (
        te.folder == "text_encoders"
        and te.sha256 == "c3355d30191f1f066b26d93fba017ae9809dce6c627dda5f6a66eaa651204f68"
    )
    gguf = by_name["my_custom_model.gguf"]
    assert gguf.folder == "diffusion_models" and not gguf.inferred, (
        "legacy 'unet' directory maps to diffusion_models"
    )
    vae = by_name["wan_2.1_vae.safetensors"]
    assert vae.url and vae.sha256, (
        "workflow-level models[] merges url+hash into the loader's reference"
    )
    assert not info.problems


def test_note_text_and_fileless_values_are_not_references():
    info = parse((WORKFLOWS / "ui04_sdxl_basic.json").read_bytes())
    names = {r.name for r in info.models}
    assert not names & {"model.safetensors", "NotReal", "pixel_space", "None"}


def test_backslashes_become_slashes():
    info = parse((WORKFLOWS / "ui04_sdxl_basic.json").read_bytes())
    assert "SDXL/detail_tweaker.safetensors" in {r.name for r in info.models}


def test_pack_hints_are_kept():
    info = parse((WORKFLOWS / "custom_dict_widgets.json").read_bytes())
    rg = next(n for n in info.nodes if n.class_type == "Power Lora Loader (rgthree)")
    assert rg.aux_id == "rgthree/rgthree-comfy" and rg.ver.startswith("5d771b8b")
    core = next(n for n in info.nodes if n.class_type == "SaveImage")
    assert core.core


@pytest.mark.parametrize(
    "name, fragment",
    [("broken.json", "broken JSON"), ("truncated.png", "truncated PNG")],
)
def test_broken_files_raise_workflow_error(name, fragment):
    with pytest.raises(WorkflowError) as exc:
        parse((FIXTURES / "broken" / name).read_bytes(), name=name)
    assert fragment in str(exc.value) and name in str(exc.value)
    assert exc.value.exit_code == 2


@pytest.mark.parametrize("name", ["no_workflow.png", "not_a_workflow.json"])
def test_files_without_workflow(name):
    with pytest.raises(NotAWorkflowError):
        parse((FIXTURES / "broken" / name).read_bytes(), name=name)


@pytest.mark.parametrize(
    "data", [b"", b"\x00\x01\x02", b"[1, 2]", b'"text"', b"{}", b"\x89PNG\r\n\x1a\n"]
)
def test_garbage_is_a_clean_error(data):
    with pytest.raises(WorkflowError):
        parse(data, name="x")


def test_unsafe_directory_in_properties_models_is_invalid():
    from comfylock.workflows.reader import parse_obj

    info = parse_obj(
        {
            "nodes": [
                {
                    "id": 1,
                    "type": "X",
                    "properties": {"models": [{"name": "a.safetensors", "directory": "../../etc"}]},
                }
            ]
        }
    )
    (ref,) = info.models
    assert ref.invalid


SEEDS = sorted(
    p
    for p in (FIXTURES / "workflows").iterdir()
    if p.suffix in (".json", ".png", ".webp") and p.name != "EXPECTED.json"
)


json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)


json_value = st.recursive(
    json_leaf,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=12,
)


def _mutate(obj, rng: random.Random, value):
    """Replace one random node of a JSON tree with ``value``."""
    path = []
    node = obj
    while isinstance(node, (dict, list)) and node and rng.random() < 0.8:
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        path.append((node, key))
        node = node[key]
    if path:
        parent, key = path[-1]
        parent[key] = value
        return obj
    return value


@FEW
@given(
    seed=st.sampled_from([p for p in SEEDS if p.suffix == ".json"]),
    choice=st.randoms(use_true_random=False),
    value=json_value,
)
def test_reader_never_crashes_on_mutated_workflows(seed, choice, value):
    obj = _mutate(json.loads(seed.read_text()), choice, value)
    try:
        parse(json.dumps(obj).encode(), name=seed.name)
    except WorkflowError:
        pass


@FEW
@given(
    seed=st.sampled_from(SEEDS),
    cut=st.integers(min_value=0, max_value=4000),
    flip=st.integers(min_value=0, max_value=255),
)
def test_reader_never_crashes_on_damaged_bytes(seed, cut, flip):
    data = bytearray(seed.read_bytes())
    if data:
        data[cut % len(data)] ^= flip
    for blob in (bytes(data), bytes(data[: cut % (len(data) + 1)])):
        try:
            parse(blob, name=seed.name)
        except WorkflowError:
            pass


def test_reader_on_mutated_real_workflows(shared_dir):
    rng = random.Random(1234)
    files = sorted((shared_dir / "corpus").rglob("*.json"))[:20]
    for path in files:
        base = json.loads(path.read_text())
        for _ in range(15):
            obj = _mutate(
                json.loads(json.dumps(base)),
                rng,
                rng.choice([None, 1, "x", [], {}, "../../x.safetensors"]),
            )
            try:
                parse(json.dumps(obj).encode(), name=path.name)
            except WorkflowError:
                pass


def test_a_class_packs_disagree_on_is_read_as_the_pack_the_node_names(node_table):
    # a copy of another pack's node whose code differs: the table keeps each pack's facts,
    # and a UI node's cnr_id / aux_id picks them; a node naming neither is "cannot tell"
    from comfylock.packcode.entries import merge_claims

    claims = {
        "LoadThing": [
            ("orig-pack", {"inputs": {"model": "checkpoints"}, "widgets": ["model"]}),
            ("b/Copy", {"inputs": {"model": "loras"}, "widgets": ["model"]}),
        ]
    }
    classes = merge_claims(claims)
    assert classes["LoadThing"]["dynamic"] == ["model"]
    assert set(classes["LoadThing"]["variants"]) == {"orig-pack", "b/Copy"}
    packs = {
        "orig-pack": {"repo": "https://github.com/a/Orig", "registry-id": "orig-pack"},
        "b/Copy": {"repo": "https://github.com/b/Copy"},
    }
    node_table({"packs": packs, "classes": classes})

    def read(props: dict, packs=("b/Copy", "orig-pack")):
        node = {"id": 1, "type": "LoadThing", "properties": props, "widgets_values": ["m.pt"]}
        info = parse(json.dumps({"nodes": [node], "links": []}).encode())
        ((ref,), (use,)) = info.models, info.nodes
        assert sorted(use.packs) == list(packs)  # without a pin, still ambiguous for resolve
        return ref.folder, ref.reason

    assert read({"cnr_id": "orig-pack"}) == ("checkpoints", None)
    assert read({"aux_id": "b/Copy"}) == ("loras", None)
    folder, reason = read({})
    assert folder is None and "cannot tell" in reason

    # a [nodes] pin in comfylock.toml settles it for every node of the class
    from comfylock.workflows import nodeknowledge, nodetable

    for pin in ("b/Copy", "https://github.com/b/Copy"):
        with nodeknowledge.pinned(nodetable.chosen_variants({"LoadThing": pin})):
            assert read({}, packs=("b/Copy",)) == ("loras", None)
    with nodeknowledge.pinned(nodetable.chosen_variants({"LoadThing": "orig-pack"})):
        assert read({}, packs=("orig-pack",)) == ("checkpoints", None)
        # the pin is the user's word, over what a node names
        assert read({"aux_id": "b/Copy"}, packs=("orig-pack",)) == ("checkpoints", None)
    assert nodetable.chosen_variants({"LoadThing": "someone/else", "Other": "x/y"}) is None


def test_a_class_packs_disagree_on_is_read_as_the_pack_the_workflow_needs_anyway(node_table):
    # a node naming no pack, in a workflow that surely needs exactly one of the class's
    # packs (a class only that pack provides, or a node naming it): read with that pack's
    # facts; the pack is still not chosen for resolve (it stays ambiguous there)
    from comfylock.packcode.entries import merge_claims

    claims = {
        "LoadThing": [
            ("orig-pack", {"inputs": {"model": "checkpoints"}, "widgets": ["model"]}),
            ("b/Copy", {"inputs": {"model": "loras"}, "widgets": ["model"]}),
        ],
        "OnlyOrig": [("orig-pack", {})],
        "OnlyCopy": [("b/Copy", {})],
    }
    packs = {
        "orig-pack": {
            "repo": "https://github.com/a/Orig",
            "registry-id": "orig-pack",
            "nodes": ["LoadThing", "OnlyOrig"],
        },
        "b/Copy": {"repo": "https://github.com/b/Copy", "nodes": ["LoadThing", "OnlyCopy"]},
    }
    node_table({"packs": packs, "classes": merge_claims(claims)})

    def ui(*others: str, props: dict | None = None) -> tuple:
        nodes = [{"id": 1, "type": "LoadThing", "properties": {}, "widgets_values": ["m.pt"]}]
        nodes += [
            {"id": i, "type": t, "properties": props or {}, "widgets_values": []}
            for i, t in enumerate(others, 2)
        ]
        (ref,) = parse(json.dumps({"nodes": nodes, "links": []}).encode()).models
        return ref.folder, ref.reason

    def api(*others: str) -> tuple:
        nodes = {"1": {"class_type": "LoadThing", "inputs": {"model": "m.pt"}}}
        nodes |= {str(i): {"class_type": t, "inputs": {}} for i, t in enumerate(others, 2)}
        (ref,) = parse(json.dumps(nodes).encode()).models
        return ref.folder, ref.reason

    assert ui("OnlyOrig") == ("checkpoints", None) == api("OnlyOrig")
    assert ui("OnlyCopy") == ("loras", None) == api("OnlyCopy")
    assert ui("Unrelated", props={"aux_id": "b/Copy"}) == ("loras", None)  # a node names it
    for read in (ui, api):
        for others in ((), ("OnlyOrig", "OnlyCopy")):  # neither, or both: cannot tell
            folder, reason = read(*others)
            assert folder is None and "cannot tell" in reason, others


def test_ui_values_are_named_by_an_order_with_inputs_of_unknown_kind(node_table):
    # the pack's INPUT_TYPES has a combo from another library (kind unknown: "?") and inputs
    # spliced in at run time ("*"): a node that does not name its widgets is still read
    from tests.support.nodepacks import table_of

    node_table(table_of("FakeLayoutPack"))

    def read(node_type: str, values: list) -> list:
        node = {"id": 1, "type": node_type, "widgets_values": values}
        info = parse(json.dumps({"nodes": [node], "links": []}).encode())
        return [(r.input, r.folder, r.name) for r in info.models]

    values = [7, "fixed", "euler", "sd15.safetensors", 20]
    assert read("FakeSamplerWithModel", values) == [
        ("ckpt_name", "checkpoints", "sd15.safetensors")
    ]
    values = ["refiner.safetensors", "vae.safetensors", 1.0, True, False, True]
    assert read("FakeRefinerWithConcepts", values) == [
        ("refiner_model", "checkpoints", "refiner.safetensors"),
        ("refiner_vae", "vae", "vae.safetensors"),
    ]


def test_model_values_of_another_version_are_paired_with_model_inputs_in_order(node_table):
    # the node's earlier version held [use_segments, strength, bbox, sam, threshold]; the
    # code's order has two toggles more before the models, so naming by position stops at
    # the second value. The two model files left are the two model inputs left, in order
    from tests.support.nodepacks import table_of

    node_table(table_of("FakeLayoutPack"))

    def read(values: list) -> list:
        node = {"id": 1, "type": "FakeSegmenter", "widgets_values": values}
        info = parse(json.dumps({"nodes": [node], "links": []}).encode())
        return [(r.input, r.folder, r.name, r.inferred) for r in info.models]

    assert read([True, 2.7, "bbox/face.pt", "sam_vit_b.pth", 0.5]) == [
        ("bbox_model", "ultralytics_bbox", "bbox/face.pt", True),
        ("sam_model", "sams", "sam_vit_b.pth", True),
    ]
    # the code's own layout is named as it stands, not inferred
    values = [True, False, False, 1.0, "face.pt", "sam_vit_b.pth", 0.5]
    assert read(values) == [
        ("bbox_model", "ultralytics_bbox", "face.pt", False),
        ("sam_model", "sams", "sam_vit_b.pth", False),
    ]
    # one model file for two model inputs: which one it is stays unknown
    (only,) = read([True, 2.7, "sam_vit_b.pth", 0.5])
    assert only[:2] == ("widgets_values[2]", None)


def test_a_word_a_node_offers_beside_a_folders_files_is_not_a_model(node_table):
    from tests.support.nodepacks import table_of

    node_table(table_of("FakeLayoutPack"))
    prompt = {
        "1": {"class_type": "FakeRefinerChoice", "inputs": {"refiner": "Auto", "vae": "v.pt"}}
    }
    info = parse(json.dumps(prompt).encode())
    assert [(r.folder, r.name) for r in info.models] == [("vae", "v.pt")]


def _group_workflow(node_type: str, values: list, groups: dict | None) -> bytes:
    """A UI workflow with one group node (a component) whose definition is ``groups``."""
    node = {"id": 19, "type": node_type, "properties": {}, "widgets_values": values}
    extra = {"groupNodes": groups} if groups is not None else {}
    return json.dumps({"nodes": [node], "links": [], "extra": extra}).encode()


_PIPE = {
    "nodes": [
        {"index": 0, "type": "CheckpointLoaderSimple", "widgets_values": ["base.safetensors"]},
        {"index": 1, "type": "CLIPTextEncode", "widgets_values": ["a cat"]},
        {"index": 2, "type": "LoraLoader", "widgets_values": ["style.safetensors", 1.0, 1.0]},
    ],
    "links": [],
    "external": [],
}


@pytest.mark.parametrize("prefix", ["workflow>", "workflow/", ""])
def test_a_group_node_is_read_as_its_inner_nodes_with_the_instances_values(prefix):
    # the frontend's group nodes (workflow>NAME, workflow/NAME before it) and ComfyUI-Manager's
    # components, whose node type is the definition's own name ("## make-basic_pipe [2c8c61]")
    name = "## make-basic_pipe [2c8c61]"
    values = ["mine.safetensors", "a dog", "other.safetensors", 0.5, 0.5]
    info = parse(_group_workflow(prefix + name, values, {name: _PIPE}))
    assert keys(info.models) == ["checkpoints/mine.safetensors", "loras/other.safetensors"]
    assert {n.class_type for n in info.nodes} == {
        "CheckpointLoaderSimple",
        "CLIPTextEncode",
        "LoraLoader",
    }


def test_a_component_whose_definition_the_workflow_lacks_says_so():
    # ComfyUI-Manager keeps components outside the workflow: its values are still reported
    # ("cannot tell"), with the reason, never dropped or read as a pack's node class
    info = parse(_group_workflow("## make-basic_pipe [2c8c61]", ["base.safetensors", "x"], None))
    (ref,) = info.models
    assert ref.folder is None and ref.name == "base.safetensors"
    assert "component" in ref.reason and "definition" in ref.reason


def test_unnamed_values_are_not_given_the_one_known_folder_when_another_input_is_unplaced(
    node_table,
):
    # a node of another version (more values than the code's order): its two model values
    # cannot be paired with inputs; one input reads sams, the other a list no one can read,
    # so "sams" for both would be a confident wrong folder for one of them
    classes = {
        "Segmenter": {
            "pack": "p",
            "inputs": {"sam_model": "sams"},
            "dynamic": ["bbox_model"],
            "widgets": ["bbox_model", "sam_model", "enabled"],
            "widget-kinds": "ccb",
        }
    }
    node_table({"packs": {"p": {"repo": "https://github.com/o/p"}}, "classes": classes})
    values = [True, "bbox/face.pt", "sam_vit_b.pth", 0.5]
    node = {"id": 1, "type": "Segmenter", "widgets_values": values}
    info = parse(json.dumps({"nodes": [node], "links": []}).encode())
    assert sorted((r.folder, r.name) for r in info.models) == [
        (None, "bbox/face.pt"),
        (None, "sam_vit_b.pth"),
    ]


def test_an_input_packs_read_differently_says_so_and_how_to_settle_it(node_table):
    from comfylock.packcode.entries import merge_claims

    claims = {
        "LoadThing": [
            ("orig-pack", {"inputs": {"model": "checkpoints"}, "widgets": ["model"]}),
            ("b/Copy", {"inputs": {"model": "loras"}, "widgets": ["model"]}),
        ]
    }
    packs = {
        "orig-pack": {"repo": "https://github.com/a/Orig"},
        "b/Copy": {"repo": "https://github.com/b/Copy"},
    }
    node_table({"packs": packs, "classes": merge_claims(claims)})
    node = {"id": 1, "type": "LoadThing", "widgets_values": ["m.pt"]}
    (ref,) = parse(json.dumps({"nodes": [node], "links": []}).encode()).models
    assert ref.folder is None
    assert "b/Copy, orig-pack" in ref.reason and "[nodes]" in ref.reason
