"""Values that make a node download at run time become references to lock: repos, a repo's
file, a URL's file, in the directory the pack's code names; what cannot be placed is "cannot
tell" with the reason, never dropped."""

from __future__ import annotations

import json

import pytest

from comfylock.workflows.reader import parse
from tests.support.nodepacks import table_of


@pytest.fixture
def fake_table(node_table):
    node_table(table_of("FakeDownloadPack", "FakeLocalPack"))


def _api(class_type: str, **inputs) -> bytes:
    return json.dumps({"1": {"class_type": class_type, "inputs": inputs}}).encode()


def test_a_label_mapped_to_a_repo_is_a_repo_reference(fake_table):
    info = parse(_api("FakeVLLoader", model_name="Fake-VL-2B", prompt="hi"))
    assert [(r.repo, r.dir, r.allow) for r in info.repos] == [
        (
            "fakeorg/Fake-VL-2B-Instruct",
            "models/LLM/Fake-VL/Fake-VL-2B-Instruct",
            ("*.json", "*.safetensors"),
        )
    ]
    assert info.models == ()


def test_a_label_mapped_to_a_url_is_a_file_with_its_source(fake_table):
    info = parse(_api("FakeSAMLoader", model_name="sam_vit_h (2.56GB)"))
    (ref,) = info.models
    assert (ref.folder, ref.name) == ("sams", "sam_vit_h_4b8939.pth")
    assert ref.url == "https://dl.example.com/segment_anything/sam_vit_h_4b8939.pth"


def test_a_file_in_the_packs_own_directory(fake_table):
    info = parse(_api("FakeVFI", ckpt_name="rife47.pth"))
    (ref,) = info.models
    assert ref.folder == "custom_nodes/FakeDownloadPack/ckpts/rife"
    assert ref.name == "rife47.pth" and ref.invalid is None
    assert ref.url.endswith("/releases/download/models/rife47.pth")


def test_a_repos_file_is_a_file_with_its_hub_url(fake_table):
    info = parse(_api("FakeLocalCheckpointLoader", ckpt="fake-local-v1.safetensors"))
    (ref,) = info.models
    assert ref.folder == "custom_nodes/FakeLocalPack/checkpoints"
    assert ref.url == (
        "https://huggingface.co/fakeorg/local-ckpts/resolve/main/fake-local-v1.safetensors"
    )


def test_a_value_the_code_does_not_map_is_cannot_tell_not_dropped(fake_table):
    info = parse(_api("FakeVLLoader", model_name="Fake-VL-99B"))
    (ref,) = info.models
    assert ref.folder is None and "not one of them" in ref.reason
    assert any("cannot tell" in p and "Fake-VL-99B" in p for p in info.problems)


def test_a_repo_id_the_code_downloads_as_given_is_fetched_though_its_list_lacks_it(fake_table):
    # snapshot_download(repo_id=model, local_dir=.../CogVideo/<name>): the value itself is the
    # repo, so one this version's list does not offer (another version's) lands the same way
    info = parse(_api("DownloadAndLoadFakeCogModel", model="THUDM/CogVideoX-5b-I2V"))
    assert [(r.repo, r.dir) for r in info.repos] == [
        ("THUDM/CogVideoX-5b-I2V", "models/CogVideo/CogVideoX-5b-I2V")
    ]
    assert info.models == ()


def test_a_file_value_the_fetch_map_lacks_is_the_file_of_the_folder_the_code_reads(fake_table):
    # the node reads ckpts/rife/<value> and downloads only the names its list offers: a name
    # of another version's list is still read from that directory (where to get it from,
    # the code does not say)
    info = parse(_api("FakeVFI", ckpt_name="rife46.pth"))
    (ref,) = info.models
    assert (ref.folder, ref.name, ref.url) == (
        "custom_nodes/FakeDownloadPack/ckpts/rife",
        "rife46.pth",
        None,
    )


def test_a_repo_download_the_table_cannot_place_is_cannot_tell(fake_table):
    # FakeOpaqueDownloader downloads into a directory static reading cannot follow
    info = parse(_api("FakeOpaqueDownloader", model="fakeorg/opaque-1"))
    assert info.repos == ()
    (ref,) = info.models
    assert ref.name == "fakeorg/opaque-1" and ref.folder is None
    assert "cannot name" in ref.reason


def test_a_model_input_reports_values_of_any_name(node_table):
    node_table({"classes": {"PatchLoader": {"inputs": {"patch": "inpaint"}}}})
    info = parse(_api("PatchLoader", patch="inpaint_v26.fooocus.patch"))
    assert [(r.folder, r.name) for r in info.models] == [("inpaint", "inpaint_v26.fooocus.patch")]


def test_a_class_marked_comfy_core_once_is_core_everywhere(node_table):
    node = {"type": "Kling4TextToVideoNode", "widgets_values": ["a cat"], "inputs": []}
    workflow = {
        "nodes": [
            {**node, "id": 1, "properties": {"cnr_id": "comfy-core", "ver": "0.3.70"}},
            {**node, "id": 2, "properties": {}},
        ],
        "links": [],
    }
    info = parse(json.dumps(workflow).encode())
    assert [n.core for n in info.nodes] == [True, True]


def test_knowledge_says_where_a_class_facts_come_from(fake_table):
    info = parse(_api("FakeVFI", ckpt_name="rife47.pth"))
    assert info.nodes[0].knowledge == "table"


def test_a_repo_id_in_a_node_no_one_read_is_cannot_tell_never_dropped(fake_table):
    # nothing says what MysteryLoader does with "someorg/Some-Model-7B" (neither the table
    # nor an installed pack): it may download that repo; reported, so check fails on it
    info = parse(_api("MysteryLoader", model="someorg/Some-Model-7B", format="image/gif"))
    (ref,) = info.models
    assert (ref.folder, ref.name) == (None, "someorg/Some-Model-7B")
    assert "unknown custom node MysteryLoader" in ref.reason
    assert info.repos == ()


def test_a_repo_like_value_of_a_node_whose_code_was_read_is_not_a_reference(fake_table):
    # FakeTagger's code was read: an input it does not download from is not a model
    info = parse(_api("FakeTagger", model="wd-v1-4", note="someorg/Some-Model-7B"))
    assert all(r.name != "someorg/Some-Model-7B" for r in info.models)


def test_a_repo_id_at_a_position_no_order_names_in_a_downloading_class_is_cannot_tell(node_table):
    # the class downloads what its "model" input names, but this node's values carry no
    # names and the table has no widget order for it: the repo is reported, never dropped
    classes = {
        "LoadCaptioner": {
            "pack": "p",
            "downloads": {"model": "models/LLM/{repo_name}"},
        }
    }
    node_table({"packs": {"p": {"repo": "https://github.com/o/p"}}, "classes": classes})
    node = {"id": 3, "type": "LoadCaptioner", "widgets_values": ["someorg/Captioner-2", "fp16"]}
    info = parse(json.dumps({"nodes": [node], "links": []}).encode())
    (ref,) = info.models
    assert (ref.folder, ref.name) == (None, "someorg/Captioner-2")
    assert "cannot tell" in ref.reason and "widget 0" in ref.reason


def test_a_repo_id_a_node_loads_into_the_hub_cache_is_cannot_tell(fake_table):
    info = parse(_api("FakeHubLoader", repo="someorg/Encoder-1B", local="enc.safetensors"))
    by_name = {r.name: r for r in info.models}
    assert by_name["enc.safetensors"].folder == "LLM"
    ref = by_name["someorg/Encoder-1B"]
    assert ref.folder is None and "cannot tell" in ref.reason


@pytest.fixture
def proxy_table(node_table):
    node_table(table_of("FakeDownloadPack", "FakeWrapperPack"))


def test_a_node_handing_its_value_to_another_packs_node_reads_it_as_that_node(proxy_table):
    for proxy in ("ProxyVLLoader", "ProxyVLLoaderOnDevice"):
        info = parse(_api(proxy, model_name="Fake-VL-2B", prompt="hi", steps=4))
        assert [(r.repo, r.dir) for r in info.repos] == [
            ("fakeorg/Fake-VL-2B-Instruct", "models/LLM/Fake-VL/Fake-VL-2B-Instruct")
        ], proxy
    (ref,) = parse(_api("ProxySAMLoader", sam="sam_vit_h (2.56GB)")).models
    assert (ref.folder, ref.name) == ("sams", "sam_vit_h_4b8939.pth")


def test_a_value_handed_by_position_is_the_other_nodes_one_model_input(proxy_table):
    # SAMStage's "segmenter" goes to FakeSAMLoader().load(segmenter): the loader has no input
    # of that name, and one model input only (model_name), so that input reads it
    (ref,) = parse(_api("SAMStage", segmenter="sam_vit_b (375MB)")).models
    assert (ref.folder, ref.name) == ("sams", "sam_vit_b_01ec64.pth")


def test_a_handed_input_the_other_node_has_by_that_name_is_not_its_model(proxy_table):
    # VLStage hands (vl_model, prompt) to FakeVLLoader().process: "prompt" is FakeVLLoader's
    # own text input, so only vl_model falls to its one model input
    info = parse(_api("VLStage", vl_model="Fake-VL-7B", prompt="a cat"))
    assert [r.repo for r in info.repos] == ["fakeorg/Fake-VL-7B-Instruct"]
    assert info.models == ()


def test_a_handed_value_whose_node_is_not_known_stays_as_the_proxy_says(node_table):
    # the other pack is not in the table: the proxy's own facts only (no folder invented)
    node_table(table_of("FakeWrapperPack"))
    info = parse(_api("ProxySAMLoader", sam="sam_vit_h (2.56GB)"))
    assert info.models == () and info.repos == ()


def test_a_choice_a_helper_object_downloads_is_a_file_of_its_repo(fake_table):
    (ref,) = parse(_api("FakeCutout", model="Cutout-2")).models
    assert (ref.folder, ref.name) == ("models/cutout/Cutout-2", "weights.pth")
    assert ref.url == "https://huggingface.co/fakeorg/cutout-2/resolve/main/weights.pth"


def test_a_handed_inputs_knowledge_names_the_node_that_reads_it(proxy_table):
    (node,) = parse(_api("ProxySAMLoader", sam="sam_vit_h (2.56GB)")).nodes
    assert node.knowledge == "table; some inputs as FakeSAMLoader reads them"


def test_labels_handed_on_to_a_download_beyond_reading_are_cannot_tell_not_unsaid(fake_table):
    # backbone and size reach hf_hub_download through two helpers and a spec object whose
    # file name the reader cannot build: each is "cannot tell", the sampler is no model
    info = parse(_api("FakeStagedLoader", backbone="sdxl", size="4k", sampler="euler"))
    told = {(r.input, r.name): r for r in info.models}
    assert set(told) == {("backbone", "sdxl"), ("size", "4k")}
    assert all(r.folder is None and "beyond static reading" in r.reason for r in told.values())
    assert sum("cannot tell" in p for p in info.problems) == 2
    # a label is no file: the problem asks what it stands for, not which folder holds it
    assert any("cannot tell what backbone = 'sdxl' makes it download" in p for p in info.problems)


def test_a_node_downloading_whatever_its_values_has_that_file_referenced(fake_table):
    info = parse(_api("FakeLineArt", coarse="enable", resolution=512))
    got = {(r.input, r.name) for r in info.models}
    assert got == {("(first run)", "sk_model.pth"), ("coarse", "sk_model2.pth")}
    folders = {r.folder for r in info.models}
    assert folders == {"custom_nodes/FakeDownloadPack/ckpts/fakeorg/Annotators"}


def test_a_value_that_downloads_nothing_is_read_as_the_input_reads_it(fake_table):
    # coarse = "disable" fetches no file of its own: no "cannot tell", nothing extra
    info = parse(_api("FakeLineArt", coarse="disable", resolution=512))
    assert [(r.input, r.name) for r in info.models] == [("(first run)", "sk_model.pth")]
    assert not info.problems
