from __future__ import annotations

import hashlib
import os
import threading

import pytest

from comfylock.machine import hashcache
from comfylock.machine.hashcache import HashCache
from comfylock.machine.inventory import Inventory, scan_tree
from comfylock.machine.modelpaths import load_model_paths
from comfylock.store import hashing
from tests.support.syncutil import backdate_tree as _backdate_tree

GIB = 1 << 30


def _pairs(inv: Inventory) -> list[tuple[str, str]]:
    return [(f.folder, f.name) for f in inv.files]


@pytest.fixture
def cache(tmp_path):
    with HashCache.in_dir(tmp_path / "cache") as c:
        yield c


def _scan_models_dir(models, cache=None, **kw) -> Inventory:
    return scan_tree(load_model_paths(None, models), cache, **kw)


def test_files_are_classified_by_folder_with_slash_names(make_tree, tmp_path):
    make_tree(
        {
            "models/checkpoints/SDXL/juggernaut.safetensors": b"ck",
            "models/loras/style/a/detail.safetensors": b"lo",
            "models/clip/t5.safetensors": b"te",
            "models/unet/flux.gguf": b"dm",
            "models/controlnet/canny.pth": b"cn",
            "models/t2i_adapter/depth.pth": b"t2i",
        }
    )
    inv = _scan_models_dir(tmp_path / "models")
    assert _pairs(inv) == [
        ("checkpoints", "SDXL/juggernaut.safetensors"),
        ("controlnet", "canny.pth"),
        ("controlnet", "depth.pth"),
        ("diffusion_models", "flux.gguf"),
        ("loras", "style/a/detail.safetensors"),
        ("text_encoders", "t5.safetensors"),
    ]
    lora = inv.find("loras", "style/a/detail.safetensors")
    assert lora is not None and lora.path == str(
        tmp_path / "models/loras/style/a/detail.safetensors"
    )
    assert lora.size == 2
    assert lora.sha256 == hashlib.sha256(b"lo").hexdigest()


def test_only_model_extensions_any_case_and_no_hidden_entries(make_tree, tmp_path):
    make_tree(
        {
            "models/loras/A.SafeTensors": b"1",
            "models/loras/readme.txt": b"2",
            "models/loras/preview.png": b"3",
            "models/loras/.partial.safetensors": b"4",
            "models/loras/._A.SafeTensors": b"5",
            "models/loras/x.safetensors.tmp": b"6",
            "models/loras/.git/objects/pack.bin": b"7",
            "models/loras/.cache/tmp.safetensors": b"8",
            "models/top-level.safetensors": b"9",
        }
    )
    assert _pairs(_scan_models_dir(tmp_path / "models")) == [("loras", "A.SafeTensors")]


def test_unknown_subfolder_takes_its_first_component_as_folder(make_tree, tmp_path):
    # (models/ultralytics/bbox is a folder a pack registers since the knowledge table knows
    # Impact-Subpack: a name no pack registers keeps this test about unknown subfolders.)
    make_tree({"models/sams/sam_vit_b.pth": b"s", "models/mystery_models/bbox/face.pt": b"u"})
    assert _pairs(_scan_models_dir(tmp_path / "models")) == [
        ("mystery_models", "bbox/face.pt"),
        ("sams", "sam_vit_b.pth"),
    ]


def test_first_dir_in_search_order_wins_find(make_tree, tmp_path):
    make_tree(
        {"models/unet/m.safetensors": b"old", "models/diffusion_models/m.safetensors": b"new"}
    )
    inv = _scan_models_dir(tmp_path / "models")
    assert len(inv.files) == 2
    # ComfyUI lists models/unet before models/diffusion_models for this folder.
    assert inv.find("diffusion_models", "m.safetensors").path.endswith("unet/m.safetensors")
    assert inv.find("unet", "m.safetensors") is inv.find("diffusion_models", "m.safetensors")


def test_lookups_by_name_and_sha256(make_tree, tmp_path):
    make_tree(
        {
            "models/loras/x/a.safetensors": b"same",
            "models/checkpoints/a.safetensors": b"same",
            "models/vae/b.safetensors": b"other",
        }
    )
    inv = _scan_models_dir(tmp_path / "models")
    assert {f.folder for f in inv.by_name("a.safetensors")} == {"loras", "checkpoints"}
    assert inv.by_name("missing.safetensors") == ()
    same = hashlib.sha256(b"same").hexdigest()
    assert {f.name for f in inv.by_sha256(same.upper())} == {"x/a.safetensors", "a.safetensors"}
    assert inv.find("loras", "a.safetensors") is None
    assert inv.find("loras", "x\\a.safetensors") is not None


# --- extra_model_paths.yaml --------------------------------------------------------------


def test_yaml_base_path_and_multiline_block_add_dirs(make_tree, tmp_path):
    make_tree(
        {
            "ComfyUI/models/loras/local.safetensors": b"l",
            "shared/loras/one.safetensors": b"1",
            "shared/more_loras/two.safetensors": b"2",
            "ComfyUI/extra_model_paths.yaml": (
                "shared:\n"
                f"  base_path: {tmp_path / 'shared'}\n"
                "  loras: |\n"
                "    loras\n"
                "    more_loras\n"
            ),
        }
    )
    inv = scan_tree(load_model_paths(tmp_path / "ComfyUI"), None)
    assert _pairs(inv) == [
        ("loras", "local.safetensors"),
        ("loras", "one.safetensors"),
        ("loras", "two.safetensors"),
    ]


def test_yaml_is_default_dir_is_searched_first(make_tree, tmp_path):
    make_tree(
        {
            "ComfyUI/models/checkpoints/m.safetensors": b"local",
            "big/ckpts/m.safetensors": b"shared",
            "ComfyUI/extra_model_paths.yaml": (
                f"big:\n  base_path: {tmp_path / 'big'}\n  is_default: true\n  checkpoints: ckpts\n"
            ),
        }
    )
    inv = scan_tree(load_model_paths(tmp_path / "ComfyUI"), None)
    assert inv.find("checkpoints", "m.safetensors").sha256 == hashlib.sha256(b"shared").hexdigest()


def test_yaml_legacy_clip_and_unet_names_map_to_new_folders(make_tree, tmp_path):
    make_tree(
        {
            "ComfyUI/models/.keep": "",
            "old/clip_models/t5.safetensors": b"t",
            "old/unet_models/flux.safetensors": b"f",
            "ComfyUI/extra_model_paths.yaml": (
                "old:\n  base_path: ../old\n  clip: clip_models\n  unet: unet_models\n"
            ),
        }
    )
    inv = scan_tree(load_model_paths(tmp_path / "ComfyUI"), None)
    assert _pairs(inv) == [
        ("diffusion_models", "flux.safetensors"),
        ("text_encoders", "t5.safetensors"),
    ]


def test_overlapping_dirs_deepest_wins(make_tree, tmp_path):
    make_tree(
        {
            "ComfyUI/models/checkpoints/base.safetensors": b"c",
            "ComfyUI/models/checkpoints/lora_dir/style.safetensors": b"l",
            "ComfyUI/extra_model_paths.yaml": (
                "nested:\n  base_path: models/checkpoints\n  loras: lora_dir\n"
            ),
        }
    )
    inv = scan_tree(load_model_paths(tmp_path / "ComfyUI"), None)
    assert _pairs(inv) == [("checkpoints", "base.safetensors"), ("loras", "style.safetensors")]


# --- symlinks ----------------------------------------------------------------------------


def test_symlinked_dir_is_followed(make_tree, tmp_path):
    make_tree({"models/loras/.keep": "", "elsewhere/pack/a.safetensors": b"a"})
    os.symlink(tmp_path / "elsewhere", tmp_path / "models/loras/linked")
    assert _pairs(_scan_models_dir(tmp_path / "models")) == [("loras", "linked/pack/a.safetensors")]


def test_symlink_loop_terminates(make_tree, tmp_path):
    make_tree({"models/loras/sub/a.safetensors": b"a"})
    os.symlink("..", tmp_path / "models/loras/sub/up")  # loras/sub/up -> loras
    os.symlink(tmp_path / "models", tmp_path / "models/loras/sub/root")  # -> models/
    os.symlink("self", tmp_path / "models/loras/self")  # a link to itself (ELOOP)
    result: list[Inventory] = []
    worker = threading.Thread(
        target=lambda: result.append(_scan_models_dir(tmp_path / "models")), daemon=True
    )
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "scan_tree did not finish: symlink loop"
    assert _pairs(result[0]) == [("loras", "sub/a.safetensors")]


def test_broken_symlink_is_ignored(make_tree, tmp_path):
    make_tree({"models/vae/ok.safetensors": b"v"})
    os.symlink(tmp_path / "gone.safetensors", tmp_path / "models/vae/broken.safetensors")
    inv = _scan_models_dir(tmp_path / "models")
    assert _pairs(inv) == [("vae", "ok.safetensors")]


# --- cache -------------------------------------------------------------------------------


def test_second_scan_of_1gib_file_reads_nothing(tmp_path, cache, reads):
    big = tmp_path / "models/checkpoints/big.safetensors"
    big.parent.mkdir(parents=True)
    with open(big, "wb") as f:
        f.truncate(GIB)  # sparse: costs no disk
    _backdate_tree(tmp_path / "models")

    first = _scan_models_dir(tmp_path / "models", cache)
    assert (first.hashed, first.cached) == (1, 0)
    assert reads.opened == [big] and reads.bytes_read == GIB
    assert first.files[0].size == GIB

    reads.opened.clear()
    reads.bytes_read = 0
    with HashCache.in_dir(tmp_path / "cache") as reopened:  # a new process, same cache file
        second = _scan_models_dir(tmp_path / "models", reopened)
    assert (second.hashed, second.cached) == (0, 1)
    assert reads.opened == [] and reads.bytes_read == 0
    assert second.files == first.files


def test_rescan_hashes_only_changed_files(make_tree, tmp_path, cache, reads):
    make_tree({f"models/loras/{i}.safetensors": b"x" * (i + 1) for i in range(5)})
    _backdate_tree(tmp_path / "models")
    _scan_models_dir(tmp_path / "models", cache)
    assert len(reads.opened) == 5

    grown = tmp_path / "models/loras/1.safetensors"
    st = os.stat(grown)
    grown.write_bytes(b"y" * 50)  # size changes
    os.utime(grown, ns=(st.st_atime_ns, st.st_mtime_ns))
    touched = tmp_path / "models/loras/3.safetensors"
    old = os.stat(touched)
    touched.write_bytes(b"z" * 4)  # same size, new bytes, new (but not racy) mtime
    os.utime(touched, ns=(old.st_atime_ns, old.st_mtime_ns + 10**9))
    reads.opened.clear()

    inv = _scan_models_dir(tmp_path / "models", cache)
    assert sorted(p.name for p in reads.opened) == ["1.safetensors", "3.safetensors"]
    assert (inv.hashed, inv.cached) == (2, 3)
    assert inv.find("loras", "3.safetensors").sha256 == hashlib.sha256(b"z" * 4).hexdigest()
    assert inv.find("loras", "1.safetensors").size == 50


def test_stat_only_mode_reads_nothing_but_uses_cache(make_tree, tmp_path, cache, reads):
    make_tree({"models/vae/a.safetensors": b"a", "models/vae/b.safetensors": b"b"})
    _backdate_tree(tmp_path / "models")
    cold = _scan_models_dir(tmp_path / "models", cache, hash=False)
    assert reads.opened == []
    assert [(f.name, f.size, f.sha256) for f in cold.files] == [
        ("a.safetensors", 1, None),
        ("b.safetensors", 1, None),
    ]
    assert cold.hashed == 0

    cached_hash = hashcache.cached_hash(tmp_path / "models/vae/a.safetensors", cache)
    reads.opened.clear()
    warm = _scan_models_dir(tmp_path / "models", cache, hash=False)
    assert reads.opened == []
    assert warm.find("vae", "a.safetensors").sha256 == cached_hash.sha256
    assert warm.find("vae", "b.safetensors").sha256 is None


def test_progress_reaches_total_bytes(make_tree, tmp_path):
    make_tree({"models/vae/a.safetensors": b"a" * 100, "models/vae/b.safetensors": b"b" * 50})
    calls: list[tuple[int, int]] = []
    _scan_models_dir(tmp_path / "models", progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (150, 150)
    assert all(total == 150 and 0 <= done <= 150 for done, total in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_file_unreadable_while_hashing_is_reported_not_fatal(make_tree, tmp_path, monkeypatch):
    make_tree({"models/vae/ok.safetensors": b"ok", "models/vae/gone.safetensors": b"gone"})
    real_open = hashing._open

    def flaky_open(path, *args, **kwargs):
        if str(path).endswith("gone.safetensors"):
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(hashing, "_open", flaky_open)
    inv = _scan_models_dir(tmp_path / "models")
    assert _pairs(inv) == [("vae", "ok.safetensors")]
    assert len(inv.problems) == 1 and "gone.safetensors" in inv.problems[0]


def test_missing_models_dir_is_an_empty_inventory(tmp_path):
    inv = _scan_models_dir(tmp_path / "nothing-here")
    assert inv.files == () and inv.problems == ()


def test_a_pack_registering_the_models_tree_itself_as_a_folder_takes_no_file(
    make_tree, tmp_path, node_table
):
    """A real pack registers ``models`` at ``models/`` (the whole tree): every other
    folder's files would be its own. That directory is no folder; the others keep theirs."""
    node_table(
        {
            "packs": {
                "greedy": {
                    "repo": "https://github.com/x/greedy",
                    "folders": {"models": ["models"]},
                },
                "fine": {"repo": "https://github.com/x/fine", "folders": {"sams": ["models/sams"]}},
            },
            "classes": {},
        }
    )
    make_tree(
        {
            "models/loras/a.safetensors": b"1",
            "models/sams/sam.pth": b"2",
            "models/top-level.safetensors": b"3",
        }
    )
    assert _pairs(_scan_models_dir(tmp_path / "models")) == [
        ("loras", "a.safetensors"),
        ("sams", "sam.pth"),
    ]
