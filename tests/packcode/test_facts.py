"""The pack reader on fake packs written for these tests: wrappers that copy ComfyUI's own
loaders, helpers around folder_paths, and nodes that download what they load at run time."""

from __future__ import annotations

import json

import pytest

from tests.support.nodepacks import read_pack


@pytest.fixture(scope="module")
def wrappers() -> dict:
    return read_pack("FakeWrapperPack")["classes"]


@pytest.fixture(scope="module")
def downloads() -> dict:
    return read_pack("FakeDownloadPack")["classes"]


def test_a_factory_made_wrapper_takes_the_core_loaders_inputs(wrappers):
    # override_class(NODE_CLASS_MAPPINGS["UNETLoader"]): a class made inside a function,
    # subclassing its argument, copying its INPUT_TYPES and adding a device
    assert wrappers["UNETLoaderOnDevice"] == {
        "inputs": {"unet_name": "diffusion_models"},
        "widgets": ["unet_name", "weight_dtype", "device"],
    }
    # the core CLIPLoader's own optional device is replaced, not added twice
    assert wrappers["CLIPLoaderOnDevice"]["widgets"] == ["clip_name", "type", "device"]


def test_wrappers_registered_through_a_helper_loop(wrappers):
    # register(names, {"...OnDevice": override_class(PackClass)}) fills the module's mapping
    assert wrappers["DualCLIPLoaderFakeOnDevice"]["widgets"] == [
        "clip_name1",
        "clip_name2",
        "type",
        "device",
    ]


def test_a_core_input_copied_into_a_pack_class_names_its_widgets(wrappers):
    # "type": nodes.DualCLIPLoader.INPUT_TYPES()["required"]["type"]; a folder registered at
    # the text encoders' directories is the text encoders' folder
    assert wrappers["DualCLIPLoaderFake"] == {
        "inputs": {"clip_name1": "text_encoders", "clip_name2": "text_encoders"},
        "widgets": ["clip_name1", "clip_name2", "type"],
    }


def test_a_pack_helper_that_walks_a_folder_is_followed():
    classes = read_pack("FakeHelperPack")["classes"]
    # get_files_with_extension("inpaint"): os.walk over folder_paths.get_folder_paths(...)
    assert classes["FakeInpaintLoader"]["inputs"] == {"model": "inpaint"}
    assert classes["FakeEncoderLoader"]["inputs"] == {"encoder": "text_encoders"}


def test_a_listed_name_whose_separators_are_made_slashes_is_still_the_folders():
    # relpath(join(root, name), base).replace("\\", "/") over os.walk of the folder's
    # directories, and a placeholder file offered when the folder is empty
    entry = read_pack("FakeHelperPack")["classes"]["FakeVLFileLoader"]
    assert entry["inputs"] == {"model_file": "text_encoders"}
    assert "dynamic" not in entry


def test_a_repo_id_in_a_widget_is_fetched_into_the_directory_the_code_names(downloads):
    entry = downloads["DownloadAndLoadFakeCogModel"]
    assert entry["downloads"] == {"model": "models/CogVideo/{repo_name}"}
    assert entry["fetches"]["model"]["THUDM/CogVideoX-5b"] == [
        {"repo": "THUDM/CogVideoX-5b", "dir": "models/CogVideo/CogVideoX-5b"}
    ]


def test_labels_a_dict_maps_to_repos_with_allow_patterns(downloads):
    assert downloads["FakeVLLoader"]["fetches"] == {
        "model_name": {
            "Fake-VL-2B": [
                {
                    "repo": "fakeorg/Fake-VL-2B-Instruct",
                    "dir": "models/LLM/Fake-VL/Fake-VL-2B-Instruct",
                    "allow": ["*.json", "*.safetensors"],
                }
            ],
            "Fake-VL-7B": [
                {
                    "repo": "fakeorg/Fake-VL-7B-Instruct",
                    "dir": "models/LLM/Fake-VL/Fake-VL-7B-Instruct",
                    "allow": ["*.json", "*.safetensors"],
                }
            ],
        }
    }


def test_labels_a_list_of_pairs_maps_to_urls(downloads):
    got = downloads["FakeSAMLoader"]["fetches"]["model_name"]["sam_vit_h (2.56GB)"]
    assert got == [
        {
            "url": "https://dl.example.com/segment_anything/sam_vit_h_4b8939.pth",
            "dir": "models/sams",
            "name": "sam_vit_h_4b8939.pth",
        }
    ]


def test_an_fstring_over_a_base_url_into_the_packs_own_directory(downloads):
    got = downloads["FakeVFI"]["fetches"]["ckpt_name"]["rife47.pth"]
    assert got == [
        {
            "url": "https://github.com/fake/vfi/releases/download/models/rife47.pth",
            "dir": "custom_nodes/FakeDownloadPack/ckpts/rife",
            "name": "rife47.pth",
        }
    ]


def test_labels_from_a_json_file_beside_the_code(downloads):
    assert downloads["FakeTagger"]["fetches"]["model"]["tagger-v2"] == [
        {"repo": "fakeorg/tagger-v2", "dir": "models/taggers", "file": "weights/model.onnx"}
    ]


def test_a_destination_static_reading_cannot_follow_is_marked_not_guessed(downloads):
    entry = downloads["FakeOpaqueDownloader"]
    assert entry["downloads"] == {"model": "{dynamic}"}
    assert "fetches" not in entry


def test_a_pack_local_checkpoint_a_node_downloads():
    classes = read_pack("FakeLocalPack")["classes"]
    assert classes["FakeLocalCheckpointLoader"]["fetches"]["ckpt"]["fake-local-v1.safetensors"] == [
        {
            "repo": "fakeorg/local-ckpts",
            "dir": "custom_nodes/FakeLocalPack/checkpoints",
            "file": "fake-local-v1.safetensors",
        }
    ]
    assert classes["FakeAudioLoader"]["inputs"] == {"model": "fakeaudio", "vae": "vae"}


@pytest.fixture(scope="module")
def layouts() -> dict:
    return read_pack("FakeLayoutPack")["classes"]


def test_an_input_whose_kind_cannot_be_read_is_marked_in_the_widget_order(layouts):
    # comfy.samplers.KSampler.SAMPLERS is another library's value: a combo or a link type,
    # static reading cannot tell; the order says so ("?") instead of being dropped
    assert layouts["FakeSamplerWithModel"]["widgets"] == [
        "seed",
        "",
        "?sampler_name",
        "ckpt_name",
        "steps",
    ]


def test_inputs_spliced_in_from_a_dict_built_at_run_time_are_a_gap_in_the_order(layouts):
    # **EXTRA_INPUTS: any number of widgets no one can name; the ones before it are certain
    assert layouts["FakeRefinerWithConcepts"]["widgets"] == [
        "refiner_model",
        "refiner_vae",
        "strength",
        "*",
    ]


def test_a_listing_filtered_by_extension_is_still_that_folder(layouts):
    # folder_paths.filter_files_extensions(get_filename_list(k), [...]) and filter(f, listing)
    assert layouts["FakeDetector"]["inputs"] == {
        "bbox_model": "ultralytics_bbox",
        "sam_model": "sams",
    }


def test_a_release_on_mirrors_into_a_directory_a_yaml_file_names(downloads):
    # urls = [base + name for base in BASE_URLS]; for i, url in enumerate(urls): try each;
    # the directory joins settings.yaml's ckpts_path; "if model_dir is None" is not taken
    fetched = downloads["FakeMirroredVFI"]["fetches"]["ckpt_name"]["interp-fast.pth"]
    assert fetched[0] == {
        "url": "https://mirror-a.example.com/releases/models/interp-fast.pth",
        "dir": "custom_nodes/FakeDownloadPack/ckpts/mirrors",
        "name": "interp-fast.pth",
    }
    assert {t["url"].split("/")[2] for t in fetched} == {
        "mirror-a.example.com",
        "mirror-b.example.com",
    }


def test_a_repo_downloaded_beside_its_place_then_moved_lands_where_it_is_moved(downloads):
    # snapshot_download(local_dir=partial) then shutil.move(partial, final)
    fetched = downloads["FakeCaptioner"]["fetches"]["llm"]
    assert fetched["fakeorg/Caption-8B"] == [
        {"repo": "fakeorg/Caption-8B", "dir": "models/LLM/fakeorg--Caption-8B"}
    ]


def test_a_class_attribute_built_from_an_earlier_one_is_read(layouts):
    # SAMS = filter_files_extensions(SAMS_ALL, ...) in the class body, SAMS_ALL bound above it
    assert layouts["FakeClassListDetector"]["inputs"] == {"sam_model": "sams"}


def test_words_offered_beside_a_folders_files_are_recorded_as_naming_no_file(layouts):
    # ["(use same)", "Auto"] + get_filename_list("checkpoints"): the words are the node's own
    entry = layouts["FakeRefinerChoice"]
    assert entry["inputs"] == {"refiner": "checkpoints", "vae": "vae", "upscaler": "upscale_models"}
    assert entry["fileless"] == {"refiner": ["(use same)", "Auto"], "vae": ["Baked VAE"]}


def test_nodes_registered_in_the_packs_browser_code_are_its_classes(layouts):
    # LiteGraph.registerNodeType("FakeSetNode", ...) in web/js: a virtual node a workflow
    # keeps; the pack must be installed for it, and it takes no model
    assert layouts["FakeSetNode"] == {} and layouts["FakeGetNode"] == {}
    assert "basic/const" not in layouts  # the graph library's own demo node, bundled


def test_folders_registered_in_a_class_body_are_the_packs(layouts):
    # a class body runs when its module is imported: its add_model_folder_path calls count;
    # "bbox/" + names of a folder registered under "ultralytics" are that parent folder's
    assert layouts["FakeSegmentDetector"]["inputs"] == {"model_name": "ultralytics"}


def test_a_folder_registered_at_a_core_folders_parent_is_the_models_directory():
    # os.path.dirname(get_folder_paths("checkpoints")[0]) is models/, not the ComfyUI root;
    # a registration that would reach the root or above it is no folder at all
    folders = read_pack("FakeLayoutPack")["folders"]
    assert folders["fake-models-root"] == ["models"]
    assert "fake-nowhere" not in folders


def test_a_list_filled_in_a_loop_then_changed_keeps_every_alternative(layouts):
    # names = []; for x in listing: names.append(basename(x)); names.insert(0, "none"):
    # the change applies to both the empty list and the filled one, not to the last only
    entry = layouts["FakeFaceRestorer"]
    assert entry["inputs"] == {"restore_model": "facerestore_models"}
    assert entry["fileless"] == {"restore_model": ["none"]}


def test_a_default_file_offered_before_a_directorys_files_is_that_directorys(layouts):
    # models = [default]; if exists(dir): for n in listdir(dir): models.append(n): the list
    # is the default alone (the directory not there yet) or the default and the listing; both
    # are the directory's files, not a fixed list whose place no loader says
    entry = layouts["FakeStageLoader"]
    assert entry["inputs"] == {"stage_a": "fakestages", "stage_b": "fakestages"}
    assert "dynamic" not in entry
    assert read_pack("FakeLayoutPack")["folders"]["fakestages"] == ["models/fakestages"]


def test_a_listing_of_data_files_the_pack_ships_is_no_model_input(layouts):
    # os.listdir(<pack>/configs/lora_templates): the pack ships those .json files itself, so
    # they are its settings, not models the user puts there ("lora" in the name or not)
    entry = layouts["FakeLoraTrainer"]
    assert entry["inputs"] == {"ckpt_name": "checkpoints"}
    assert "dynamic" not in entry and entry["widgets"] == ["template", "ckpt_name"]


def test_a_value_handed_to_from_pretrained_as_given_is_a_download_into_the_hub_cache(downloads):
    # AutoModel.from_pretrained(repo): the library fetches a repo id into the Hugging Face
    # cache; from_pretrained(os.path.join(models_dir, "LLM", local)) is a local folder's file
    entry = downloads["FakeHubLoader"]
    assert entry["downloads"] == {"repo": "hf-cache"}
    assert entry["inputs"] == {"local": "LLM"}


def test_a_helpers_default_directory_is_read_where_it_is_defined(downloads):
    # fetch_weights(repo, name, ckpts_dir=ckpts_path): the default is bound in the helper's
    # module, where a try around os.environ[...] leaves the pack's ckpts/ when unset
    fetched = downloads["FakePosePreprocessor"]["fetches"]["estimator"]
    assert fetched["pose-l.onnx"] == [
        {
            "repo": "fakeorg/FakePose",
            "dir": "custom_nodes/FakeDownloadPack/ckpts/fakeorg/FakePose",
            "file": "pose-l.onnx",
        }
    ]


def test_files_downloaded_in_a_loop_a_progress_bar_wraps_are_read(downloads):
    # for name in tqdm(FILES): hf_hub_download(repo_id=..., filename=name, local_dir=...):
    # the progress bar yields the list's items, so each file is known, per label
    fetched = downloads["FakePipelineLoader"]["fetches"]["model"]
    assert fetched["fake-sd15"] == [
        {"repo": "fakeorg/fake-sd15", "dir": "models/diffusers/fake-sd15", "file": name}
        for name in ("model_index.json", "unet/diffusion_pytorch_model.safetensors")
    ]
    assert fetched["fake-sdxl"][0]["dir"] == "models/diffusers/fake-sdxl"


def test_a_word_beside_files_is_told_from_a_default_file_by_its_extension():
    from comfylock.packcode.values import is_word

    assert all(map(is_word, ["None", "Auto", "(use same)", ".none", "SD1.5", "Baked VAE"]))
    assert not any(map(is_word, ["4x-default.pth", "big-lama.pt", "a/b.safetensors", ""]))


def test_a_value_handed_to_another_packs_node_is_recorded_for_that_node(wrappers):
    # NODE_CLASS_MAPPINGS["FakeVLLoader"]().process(model_name, prompt): the other pack's
    # node reads the value; a number is nobody's model
    assert wrappers["ProxyVLLoader"]["delegates"] == {
        "model_name": ["FakeVLLoader", "model_name"],
        "prompt": ["FakeVLLoader", "prompt"],
    }
    # a keyword names the other node's input
    assert wrappers["ProxySAMLoader"]["delegates"] == {"sam": ["FakeSAMLoader", "model_name"]}
    # ComfyUI's own node is not another pack's: nothing recorded
    assert "delegates" not in wrappers["ProxyCoreCheckpoint"]


def test_a_node_found_through_a_helper_by_its_registered_name_is_delegated_to(wrappers):
    # _node_class("FakeSAMLoader") -> comfy_nodes.NODE_CLASS_MAPPINGS.get(name), imported
    # inside the helper; the value passed by position keeps the proxy's input name
    assert wrappers["SAMStage"]["delegates"] == {"segmenter": ["FakeSAMLoader", "segmenter"]}


def test_a_wrapper_passing_its_inputs_on_by_keyword_is_followed(wrappers):
    # getattr(super(), cls.FUNCTION)(*args, **kwargs): ComfyUI calls a node's function with
    # keywords only, so the wrapped function receives every input under its own name
    entry = wrappers["ProxyVLLoaderOnDevice"]
    assert entry["delegates"]["model_name"] == ["FakeVLLoader", "model_name"]
    assert entry["widgets"] == ["model_name", "prompt", "steps", "device"]


def test_helpers_the_nodes_init_makes_are_read_with_what_their_init_sets(downloads):
    # FakeCutout.__init__ makes one loader per choice (self.loaders[model]); each loader's
    # __init__ (through super()) names the directory its download method fills
    assert downloads["FakeCutout"]["fetches"]["model"] == {
        "Cutout-1": [
            {
                "repo": "fakeorg/cutout-1",
                "dir": "models/cutout/Cutout-1",
                "file": "model.safetensors",
            }
        ],
        "Cutout-2": [
            {"repo": "fakeorg/cutout-2", "dir": "models/cutout/Cutout-2", "file": "weights.pth"}
        ],
    }


@pytest.fixture(scope="module")
def backups() -> dict:
    return read_pack("FakeBackupPack")


def test_a_class_with_copies_is_the_one_the_packs_import_reaches(backups):
    # backups/2026_old/ holds older copies (another folder) nothing imports: ComfyUI registers
    # nodes.py's StackLoader (imported by __init__.py) and extra/late.py's LateVAELoader
    # (loaded by its file path at run time, through a helper: spec_from_file_location)
    assert backups["classes"]["StackLoader"]["inputs"] == {"lora_name": "loras"}
    assert backups["classes"]["LateVAELoader"]["inputs"] == {"vae_name": "vae"}


def test_a_file_starting_with_a_byte_order_mark_is_read(backups):
    assert "__init__.py: not Python 3" not in backups["notes"]


def test_names_made_unique_with_dict_fromkeys_are_still_the_folders_files(backups):
    # list(dict.fromkeys(("", *listing))): the listing, an empty choice first
    assert backups["classes"]["StackLoader"]["widgets"] == ["lora_name"]


def test_inputs_made_one_per_slot_in_a_loop_are_each_named(layouts):
    # range(1, MAX_LORAS + 1) with f"lora_{i}_name" and "lora_%d_strength" % i; a format spec
    entry = layouts["FakeLoraStack"]
    assert entry["inputs"] == {"lora_1_name": "loras", "lora_2_name": "loras", "vae_00": "vae"}
    assert entry["widgets"] == [
        "count",
        "lora_1_name",
        "lora_1_strength",
        "lora_2_name",
        "lora_2_strength",
        "vae_00",
    ]
    assert "dynamic" not in entry


def test_a_range_whose_numbers_cannot_be_known_stays_unknown():
    from comfylock.packcode.calls import _range
    from comfylock.packcode.values import UNKNOWN, Const, ListV

    assert _range([(Const(1),), (Const(4),), (Const(2),)]) == (ListV((Const(1), Const(3))),)
    assert _range([(Const(1),), (Const(4),), (Const(0),)]) == (UNKNOWN,)  # Python raises
    assert _range([(Const(0),), (Const(10_000),)]) == (UNKNOWN,)  # too many slots to unroll


def test_labels_that_reach_a_download_beyond_reading_are_marked_per_value(downloads):
    fetches = downloads["FakeStagedLoader"]["fetches"]
    assert set(fetches) == {"backbone", "size"}  # not the sampler, the device, the switch
    assert set(fetches["backbone"]) == {"flux", "sdxl", "sd3"}
    (target,) = fetches["size"]["2k"]
    where, _, why = target["dynamic"].partition(": ")
    assert where.startswith("staged.py:") and why == "the file name is built beyond static reading"


def test_repos_chosen_by_substring_tests_and_an_or_fallback_are_read_per_value(downloads):
    # ``"yolox" in detector`` picks the repo; the helper's ``det_repo or pose_repo`` must
    # not mix in the pose repo, which the other input chooses
    fetches = downloads["FakeDetector"]["fetches"]
    assert fetches["detector"]["yolox_l.onnx"] == [
        {
            "repo": "fakeorg/yolox",
            "dir": "custom_nodes/FakeDownloadPack/ckpts/fakeorg/yolox",
            "file": "yolox_l.onnx",
        }
    ]
    assert fetches["detector"]["yolo_nas_s.onnx"][0]["repo"] == "fakeorg/yolo-nas"
    assert fetches["detector"]["None"] == []  # downloads no detector: nothing to lock
    assert fetches["pose"]["pose_b.pt"][0]["repo"] == "fakeorg/pose-ts"


def test_weights_downloaded_whatever_the_values_are_the_nodes_own(downloads):
    entry = downloads["FakeLineArt"]
    here = "custom_nodes/FakeDownloadPack/ckpts/fakeorg/Annotators"
    assert entry["always"] == [{"repo": "fakeorg/Annotators", "dir": here, "file": "sk_model.pth"}]
    # the second file is the switch's: only when it is on
    (coarse,) = entry["fetches"]["coarse"]["enable"]
    assert coarse["file"] == "sk_model2.pth"


def test_no_file_is_the_nodes_own_when_a_choice_or_a_temporary_name_stands_for_it(downloads):
    # mirrors looked up by the chosen file belong to that value, not to every node of the
    # class; a file fetched as "x.part" and renamed is never locked under the name it passed
    assert "always" not in downloads["FakeFallbackVFI"]
    assert set(downloads["FakeFallbackVFI"]["fetches"]["ckpt_name"]["rife47.pth"][0]) == {
        "url",
        "dir",
        "name",
    }
    assert "always" not in downloads["FakeMatting"]


def test_a_file_moved_out_of_a_temporary_directory_never_lands_there(downloads):
    # fetched into models/temp, then moved to clip_vision/<value>: the temporary directory
    # is no file's place, for the node or for any value; the value is the folder's file
    entry = downloads["FakeTempMovedLoader"]
    assert "always" not in entry and entry["inputs"] == {"model": "clip_vision"}
    assert "models/temp" not in json.dumps(entry)
