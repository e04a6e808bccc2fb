"""The custom-node knowledge table: the static reader on fake packs, the shipped table's shape
and provenance, the accessors, lazy loading, and drift against the packs' snapshots."""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from comfylock.packcode import SCANNER_VERSION
from comfylock.workflows import nodetable, tables
from tests.support.paths import FIXTURES, ROOT
from tools.nodetable import generate
from tools.nodetable.layout import NODE_MAP_LINES, TABLE_LINES, dumps

PACKS = FIXTURES / "nodepacks"
DATA = ROOT / "src" / "comfylock" / "workflows" / "data"
MIRROR = Path(os.environ.get("COMFYLOCK_MIRROR_DIR", ROOT.parent / ".mirror"))


@pytest.fixture(scope="module")
def fake_pack() -> dict:
    return generate.scan_dir(PACKS / "FakePack")


# ---- the reader, on packs written for these tests ------------------------------------------
def test_mappings_from_every_registration_style(fake_pack):
    assert set(fake_pack["classes"]) == {
        "FakeEllaLoader",
        "FakeLoraPick",
        "FakeCkptFromMethod",
        "FakeOwnDir",
        "FakeLegacy",
        "FakeTwoFolders",
        "FakeDynamic",
        "FakeDownloadRepo",
        "FakeDownloadViaHelper",
        "FromComprehension",  # {c.__name__: c for c in [...]}
        "FakePrefixed",  # {f"Fake{name}": cls for name, cls in [...]}, via .update()
        "Fake Item Assigned",  # NODE_CLASS_MAPPINGS["..."] = cls
        "FakeOrMerged",  # NODE_CLASS_MAPPINGS |= {...}
        "FakeLowVramLoader",
        "FakePlainSubclass",
        "FakeDecorated",  # @register(name="FakeDecorated"), a decorator that fills the mapping
        "Formatted (fake)",  # {Formatted.NAME: ...}, NAME = "{} ({})".format(...)
    }


@pytest.mark.parametrize(
    ("cls", "inputs"),
    [
        ("FakeEllaLoader", {"name": "ella"}),  # a folder the pack registers
        ("FakeLoraPick", {"lora": "loras", "lora2": "loras", "xlora": "xlabs_loras"}),
        ("FakeCkptFromMethod", {"ckpt": "checkpoints"}),  # a classmethod returning the list
        ("FakeLegacy", {"clip_name": "text_encoders"}),  # legacy key canonicalised
        # two folders at the same directories (unet_fake is registered at diffusion_models' own)
        ("FakeTwoFolders", {"unet_name": "diffusion_models"}),
        ("FromComprehension", {"vae_name": "vae"}),  # inherited INPUT_TYPES
        ("Fake Item Assigned", {"vae_name": "vae"}),  # **super().INPUT_TYPES()["required"]
        ("FakeOwnDir", {"weights": "custom_nodes/FakePack/models"}),  # fonts are not models
        ("FakeLowVramLoader", {"ckpt_name": "checkpoints"}),  # super() of a core loader
        ("FakePlainSubclass", {"ckpt_name": "checkpoints"}),  # a core loader as it is
        ("FakeDecorated", {"upscaler": "upscale_models"}),
    ],
)
def test_model_inputs_and_their_folders(fake_pack, cls, inputs):
    assert fake_pack["classes"][cls].get("inputs") == inputs


def test_inputs_keep_input_types_order_and_widget_layout(fake_pack):
    entry = fake_pack["classes"]["FakeLoraPick"]
    assert list(entry["inputs"]) == ["lora", "lora2", "xlora"]  # required, then optional
    assert entry["widgets"] == ["lora", "strength", "lora2", "xlora"]
    # a seed INT carries the UI's control-after-generate value; links are not widgets
    assert fake_pack["classes"]["FakeDynamic"]["widgets"] == ["model", "seed", ""]


def test_a_core_base_gives_its_recorded_widget_order(fake_pack):
    # ComfyUI's own loaders' inputs are recorded in order (comfyui.json core_inputs); the
    # optional "*" input the subclass adds is a link, not a widget
    assert fake_pack["classes"]["FakeLowVramLoader"]["widgets"] == ["ckpt_name"]
    assert fake_pack["classes"]["FakePlainSubclass"]["widgets"] == ["ckpt_name"]


def test_classes_without_model_inputs_say_nothing(fake_pack):
    assert fake_pack["classes"]["FakeOrMerged"] == {}
    assert fake_pack["classes"]["FakePrefixed"] == {}


def test_dynamic_folder_is_marked_not_guessed(fake_pack):
    entry = fake_pack["classes"]["FakeDynamic"]
    assert entry["dynamic"] == ["model"]
    assert "inputs" not in entry


def test_registered_folders_with_their_directories(fake_pack):
    assert fake_pack["folders"] == {
        "ella": ["models/ella"],
        "xlabs_loras": ["models/xlabs/loras"],
        "unet_fake": [f"models/{d}" for d in tables.default_dirs("diffusion_models")],
        "custom_nodes/FakePack/models": ["custom_nodes/FakePack/models"],
    }


def test_download_directories(fake_pack):
    assert fake_pack["classes"]["FakeDownloadRepo"]["downloads"] == {
        "model": "models/CogVideo/{repo_name}"
    }
    # followed into a module-level helper; no local_dir: the Hugging Face cache
    assert fake_pack["classes"]["FakeDownloadViaHelper"]["downloads"] == {"repo": "hf-cache"}


def test_v3_schema_nodes():
    got = generate.scan_dir(PACKS / "FakeV3Pack")
    assert got["classes"] == {
        "FakeV3Loader": {
            "inputs": {"lora_name": "loras", "vae_name": "vae"},  # options= and positional
            "widgets": ["lora_name", "vae_name"],
        }
    }


def test_modules_imported_through_sys_path():
    """The *pack* puts a directory on ``sys.path`` and imports its modules by plain name
    (Impact Pack does): the scanner follows it."""
    got = generate.scan_dir(PACKS / "FakePathPack")
    assert got["classes"] == {
        "FakeSAMLoader": {
            "inputs": {"model_name": "sams"},
            "fileless": {"model_name": ["ESAM"]},  # sam_models() + ["ESAM"]: the node's word
            "widgets": ["model_name", "device"],
        }
    }


@pytest.fixture(scope="module")
def file_pack() -> dict:
    return generate.scan_dir(PACKS / "FakeFilePack")


@pytest.mark.parametrize(
    ("cls", "facts"),
    [
        # os.path.join(models_dir, "clip", model): a core folder's directory, by its key
        ("FixedClipLoader", {"inputs": {"model": "text_encoders"}, "widgets": ["model"]}),
        # a plain models subdirectory, even when the code may rename the file inside it
        (
            "FixedSubdirLoader",
            {"inputs": {"model": "checkpoints/fakecrafter"}, "widgets": ["model", "precision"]},
        ),
        # folder_paths.get_full_path("clip_vision", clip_name)
        ("FixedVisionLoader", {"inputs": {"clip_name": "clip_vision"}, "widgets": ["clip_name"]}),
        # the directory comes from another input: cannot tell, not a guess
        (
            "FixedUnreadLoader",
            {"dynamic": ["model"], "widgets": ["model", "where"], "widget-kinds": "cs"},
        ),
        ("FixedModeLoader", {}),  # a fixed list of words, not of files
    ],
)
def test_fixed_file_lists_get_the_folder_the_loader_reads(file_pack, cls, facts):
    # (what they download for each file is tests/packcode's business)
    got = {k: v for k, v in file_pack["classes"][cls].items() if k != "fetches"}
    assert got == facts


def test_fixed_file_list_directories_become_folders(file_pack):
    assert file_pack["folders"]["checkpoints/fakecrafter"] == ["models/checkpoints/fakecrafter"]
    assert "clip" not in file_pack["folders"] and "text_encoders" not in file_pack["folders"]


def test_prefixed_file_lists_read_the_parent_folder(file_pack):
    """``"bbox/" + x for x in files of K`` names files relative to the folder whose directory
    holds K's under ``bbox/``; a prefix that is not K's subdirectory is cannot tell."""
    classes = file_pack["classes"]
    assert classes["PrefixedDetector"] == {
        "inputs": {"model_name": "fakeyolo"},
        "widgets": ["model_name"],
    }
    assert classes["MisPrefixedDetector"] == {
        "dynamic": ["model_name"],
        "widgets": ["model_name"],
    }


def test_unparsable_file_is_reported_not_fatal(tmp_path):
    pack = tmp_path / "Broken"
    pack.mkdir()
    (pack / "__init__.py").write_text("print 'python 2'\nNODE_CLASS_MAPPINGS = {}\n")
    (pack / "ok.py").write_text(
        "import folder_paths\n"
        "class A:\n    @classmethod\n    def INPUT_TYPES(s):\n"
        "        return {'required': {'m': (folder_paths.get_filename_list('vae'),)}}\n"
        "NODE_CLASS_MAPPINGS = {'A': A}\n"
    )
    got = generate.scan_dir(pack)
    assert got["classes"] == {"A": {"inputs": {"m": "vae"}, "widgets": ["m"]}}
    assert got["notes"] == ["__init__.py: not Python 3"]


# ---- the shipped table --------------------------------------------------------------------
@pytest.fixture(scope="module")
def shipped() -> dict:
    return json.loads((DATA / "custom_nodes.json").read_text())


def _safe_rel(path: str) -> bool:
    parts = path.split("/")
    return not path.startswith("/") and ".." not in parts and "\\" not in path and all(parts)


def test_shipped_table_provenance(shipped):
    assert shipped["version"] == 1
    assert len(shipped["packs"]) >= 300
    for pid, pack in shipped["packs"].items():
        assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", pack["repo"]), pid
        assert re.fullmatch(r"[0-9a-f]{40}", pack["commit"]), pid
        for folder, dirs in pack.get("folders", {}).items():
            assert folder and dirs and all(_safe_rel(d) for d in dirs), (pid, folder)


def test_shipped_files_record_their_generator_and_upstreams(shipped):
    nmap = json.loads((DATA / "node_map.json").read_text())
    for data in (shipped, nmap):  # a scanner change means every pack read again
        assert data["generator"]["scanner-version"] == SCANNER_VERSION, "make node-table"
    dates = [p["commit-date"] for p in shipped["packs"].values() if "commit-date" in p]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", d) for d in dates)
    source = nmap["source"]  # third-party data: where from, which bytes, which licence
    assert source["repo"].startswith("https://github.com/") and source["license"] == "GPL-3.0"
    assert re.fullmatch(r"[0-9a-f]{40}", source["blob"])
    assert source["commit"] is None or re.fullmatch(r"[0-9a-f]{40}", source["commit"])


def test_shipped_files_are_laid_out_one_entry_a_line():
    for name, lines in (("custom_nodes.json", TABLE_LINES), ("node_map.json", NODE_MAP_LINES)):
        text = (DATA / name).read_text()
        assert dumps(json.loads(text), lines) == text, f"{name}: make node-table"


def test_a_changed_class_is_a_one_line_diff():
    table = {
        "version": 1,
        "packs": {"p": {"repo": "https://github.com/o/p", "nodes": ["A", "B"]}},
        "classes": {"A": {"pack": "p", "inputs": {"ckpt": "checkpoints"}}, "B": {"pack": "p"}},
    }
    before = dumps(table, TABLE_LINES).splitlines()
    table["classes"]["A"]["inputs"]["vae"] = "vae"
    table["packs"]["p"]["nodes"].append("C")
    after = dumps(table, TABLE_LINES).splitlines()
    changed = [line[:1] + line[2:] for line in difflib.ndiff(before, after) if line[:1] in "+-"]
    assert changed == [
        '-    "B"',
        '+    "B",',
        '+    "C"',
        '-  "A": {"pack": "p", "inputs": {"ckpt": "checkpoints"}},',
        '+  "A": {"pack": "p", "inputs": {"ckpt": "checkpoints", "vae": "vae"}},',
    ]


def test_node_map_patterns_name_their_pack_by_repo():
    nmap = json.loads((DATA / "node_map.json").read_text())
    index = {repo: i for i, (_pid, repo, _names) in enumerate(nmap["packs"])}
    loaded = nodetable._node_map()
    assert loaded.patterns == [(regex, index[repo]) for regex, repo in nmap["patterns"]]
    assert [tuple(p) for p in loaded.packs] == [tuple(p) for p in nmap["packs"]]


def test_shipped_classes_belong_to_their_packs(shipped):
    core = tables.core_nodes()
    owners: dict[str, set] = {}
    for pid, pack in shipped["packs"].items():
        assert not core & set(pack["nodes"]), pid  # core classes are not packs
        for name in pack["nodes"]:
            owners.setdefault(name, set()).add(pid)
    for name, entry in shipped["classes"].items():
        assert {entry["pack"], *entry.get("claimed-by", ())} == owners[name], name
        for dirs in entry.get("downloads", {}).values():
            for d in [dirs] if isinstance(dirs, str) else dirs:
                assert d.startswith("hf-cache") or _safe_rel(d), (name, d)


def _first(shipped, test):
    return next((n, e) for n, e in shipped["classes"].items() if test(e))


def test_accessors_answer_from_the_shipped_table(shipped):
    name, entry = _first(
        shipped,
        lambda e: (
            "claimed-by" not in e and any(isinstance(v, str) for v in e.get("inputs", {}).values())
        ),
    )
    input_name, folder = next((k, v) for k, v in entry["inputs"].items() if isinstance(v, str))
    assert nodetable.folder_of(name, input_name) == folder
    assert nodetable.folders_of(name, input_name) == (folder,)
    assert nodetable.model_inputs(name) == entry["inputs"]
    assert nodetable.pack_of(name) == entry["pack"]
    assert nodetable.knows(name)
    pack = shipped["packs"][entry["pack"]]
    assert nodetable.pack_repo(entry["pack"]) == pack["repo"]
    assert nodetable.pack_commit(entry["pack"]) == pack["commit"]
    assert nodetable.knows(name)
    assert nodetable.folder_of(name, "no such input") is None
    assert nodetable.folder_of("NoSuchClassAnywhere", "x") is None
    assert nodetable.pack_of("NoSuchClassAnywhere") is None


def test_several_folders_name_no_single_folder(shipped):
    # several keys of one place (GGUF's clip_gguf registered at the text encoders' own
    # directories) are that one folder; keys of different places are no single folder
    several = [
        (name, input_name, tuple(keys))
        for name, entry in shipped["classes"].items()
        for input_name, keys in entry.get("inputs", {}).items()
        if isinstance(keys, list)
    ]
    answers = {}
    for name, input_name, keys in several:
        assert nodetable.folders_of(name, input_name) == keys
        answers[frozenset(keys)] = nodetable.folder_of(name, input_name)
    assert answers.get(frozenset({"checkpoints", "diffusion_models"}), "?") is None
    assert answers.get(frozenset({"clip_gguf", "text_encoders"})) == "text_encoders"


def test_ambiguous_classes_list_every_pack(shipped):
    name, entry = _first(shipped, lambda e: "claimed-by" in e)
    assert nodetable.packs_of(name) == (entry["pack"], *entry["claimed-by"])
    assert nodetable.pack_of(name) is None  # never the first match


def test_registered_folder_dirs_and_downloads(shipped):
    pack = next(v for v in shipped["packs"].values() if v.get("folders"))
    folder, dirs = next(iter(pack["folders"].items()))
    assert set(dirs) <= set(nodetable.folder_dirs(folder))
    name, entry = _first(shipped, lambda e: "downloads" in e)
    input_name, where = next(iter(entry["downloads"].items()))
    want = (where,) if isinstance(where, str) else tuple(where)
    assert nodetable.download_dirs(name, input_name) == want
    assert nodetable.download_dir(name, input_name) == (where if len(want) == 1 else None)


def test_dynamic_inputs_are_cannot_tell(shipped):
    name, entry = _first(shipped, lambda e: "*" not in e.get("dynamic", "*"))
    assert nodetable.is_dynamic(name, entry["dynamic"][0])
    assert nodetable.knows(name)
    whole, _ = _first(shipped, lambda e: "*" in e.get("dynamic", ()))
    assert nodetable.is_dynamic(whole, "anything")
    assert not nodetable.knows(whole)  # its inputs are not known
    assert not nodetable.is_dynamic("NoSuchClassAnywhere", "x")


def test_a_class_known_without_facts_takes_no_model(shipped):
    pid, name = next(
        (p, n)
        for p, v in shipped["packs"].items()
        for n in v["nodes"]
        if n not in shipped["classes"]
    )
    assert nodetable.knows(name)
    assert nodetable.packs_of(name) == (pid,)
    assert nodetable.model_inputs(name) == {}


def test_node_map_names_classes_the_table_did_not_read(shipped):
    nmap = json.loads((DATA / "node_map.json").read_text())
    covered = {n for p in shipped["packs"].values() for n in p["nodes"]}
    mapped = {n for _, _, names in nmap["packs"] for n in names}
    assert mapped and not covered & mapped  # the table wins where it read the code
    pid, repo, [name] = next(p for p in nmap["packs"] if len(p[2]) == 1)
    if sum(name in p[2] for p in nmap["packs"]) == 1:
        assert nodetable.mapped_packs(name) == ((pid, repo),)
    assert pid in {p for p, _ in nodetable.mapped_packs(name)}
    assert nodetable.packs_of(name) == ()  # the map is not the table: resolve still asks
    assert not nodetable.knows(name)
    assert nodetable.mapped_packs("NoSuchClassAnywhere") == ()


def test_table_loads_lazily():
    code = (
        "import sys\nfrom comfylock.cli import main\ntry:\n    main(['--help'])\n"
        "except SystemExit: pass\nm = sys.modules.get('comfylock.workflows.nodetable')\n"
        "k = sys.modules.get('comfylock.workflows.nodeknowledge')\n"
        "print((0 if k is None else k._load.cache_info().currsize)"
        " + (0 if m is None else m._node_map.cache_info().currsize))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0"


# ---- drift: the same snapshots give the same table ---------------------------------------
# A deterministic sample keeps this test to seconds; `python -m tools.nodetable.generate
# --at-shipped` regenerates all of it (and prints what changed).
SAMPLE = ("comfyui-wanvideowrapper", "comfyui-kjnodes", "comfyui-videohelpersuite", "ella", "pulid")


def test_regenerating_from_snapshots_reproduces_the_shipped_table(shipped, shared_dir):
    packs = {pid: shipped["packs"][pid] for pid in SAMPLE if pid in shipped["packs"]}
    owner_repos = [p["repo"].removeprefix("https://github.com/") for p in packs.values()]
    gitdirs = [MIRROR / o.replace("/", "+", 1) / "repo" for o in owner_repos]
    if not all(g.is_dir() for g in gitdirs):
        pytest.skip(f"pack snapshots are absent under {MIRROR}; the fake packs cover the reader")
    at = {generate.norm_repo(p["repo"]): p["commit"] for p in packs.values()}
    manager = shared_dir / "comfyui" / "manager"
    table, report = generate.build(MIRROR, manager, owner_repos, at)
    assert not report["missing"]
    assert table["packs"] == packs
    for pack in packs.values():
        for name in pack["nodes"]:
            if "claimed-by" not in shipped["classes"].get(name, {}):
                assert table["classes"].get(name) == shipped["classes"].get(name), name


def _snapshot(
    mirror: Path, owner_repo: str, source: Path, date: str = "2025-01-02T03:04:05Z", extra=None
) -> None:
    """A bare git snapshot of ``source`` (plus ``extra`` files) at
    ``<mirror>/<owner>+<repo>/repo``, committed at ``date``."""
    work = mirror / "work" / owner_repo.replace("/", "+")
    shutil.copytree(source, work)
    for name, text in (extra or {}).items():
        (work / name).write_text(text)
    env = {**os.environ, "GIT_AUTHOR_DATE": date}
    env |= {"GIT_COMMITTER_DATE": env["GIT_AUTHOR_DATE"], "GIT_CONFIG_GLOBAL": os.devnull}
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for args in (["init", "-q"], ["add", "-A"], [*ident, "commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", "-C", str(work), *args], check=True, env=env)
    gitdir = mirror / owner_repo.replace("/", "+") / "repo"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(gitdir)], check=True, env=env)


def _two_pack_mirror(tmp_path) -> tuple[Path, Path, list[str], dict]:
    """(mirror, manager dir, listed packs, the table built from them) of two fake packs."""
    mirror, manager = tmp_path / "mirror", tmp_path / "manager"
    manager.mkdir()
    (manager / "custom-node-list.slim.json").write_text('{"custom_nodes": []}')
    for name in ("FakePack", "FakeV3Pack"):
        _snapshot(mirror, f"someone/{name}", PACKS / name)
    listed = ["someone/FakePack", "someone/FakeV3Pack"]
    full, _ = generate.build(mirror, manager, listed)
    return mirror, manager, listed, full


def test_reading_one_pack_keeps_the_others_as_they_were(tmp_path):
    mirror, manager, listed, full = _two_pack_mirror(tmp_path)
    assert full["packs"]["someone/FakePack"]["commit-date"] == "2025-01-02T03:04:05Z"
    only = generate.parse_only(["someone/FakeV3Pack"])
    again, report = generate.build(mirror, manager, listed, old=full, only=only)
    assert dumps(again, TABLE_LINES) == dumps(full, TABLE_LINES)  # byte for byte
    assert report["kept"] == ["someone/FakePack"] and not report["missing"]
    shutil.rmtree(mirror / "someone+FakePack")  # a partial mirror keeps what it lacks
    partial, report = generate.build(mirror, manager, listed, old=full)
    assert partial == full and report["kept"] == ["someone/FakePack"]


def test_two_repositories_of_one_registry_id_are_one_pack_the_newer(tmp_path):
    """A moved repository whose old copy is listed too (both name one registry id): the
    newer commit is the pack, and no class names a pack the table does not hold."""
    mirror, manager = tmp_path / "mirror", tmp_path / "manager"
    manager.mkdir()
    (manager / "custom-node-list.slim.json").write_text('{"custom_nodes": []}')
    pyproject = {"pyproject.toml": '[project]\nname = "fake-pack"\n[tool.comfy]\n'}
    _snapshot(mirror, "old/FakePack", PACKS / "FakePack", "2024-01-01T00:00:00Z", pyproject)
    _snapshot(mirror, "new/FakePack", PACKS / "FakePack", "2026-01-01T00:00:00Z", pyproject)
    for listed in (["old/FakePack", "new/FakePack"], ["new/FakePack", "old/FakePack"]):
        table, report = generate.build(mirror, manager, listed)
        assert list(table["packs"]) == ["fake-pack"]
        assert table["packs"]["fake-pack"]["repo"] == "https://github.com/new/FakePack"
        assert report["same-id"] == [
            "fake-pack: https://github.com/new/FakePack kept, "
            "https://github.com/old/FakePack left out"
        ]
        for name, entry in table["classes"].items():
            assert entry["pack"] == "fake-pack" and not entry.get("claimed-by"), name


def test_a_pack_the_mirror_lacks_keeps_an_older_scanners_reading_marked(tmp_path):
    """A new scanner reads what the mirror has; a listed pack it lacks keeps the reading of
    the scanner that made it, saying so, until its snapshot is there (no mirror of this
    workplace holds every listed pack at once)."""
    mirror, manager, listed, full = _two_pack_mirror(tmp_path)
    older = {**full, "generator": {**full["generator"], "scanner-version": SCANNER_VERSION - 1}}
    shutil.rmtree(mirror / "someone+FakePack")
    table, report = generate.build(mirror, manager, listed, old=older)
    assert report["older"] == ["someone/FakePack"]
    assert table["packs"]["someone/FakePack"]["scanner"] == SCANNER_VERSION - 1
    assert "scanner" not in table["packs"]["someone/FakeV3Pack"]  # read again: this scanner's
    # read again later (the snapshot is back): the mark goes
    shutil.rmtree(mirror / "work" / "someone+FakePack")
    _snapshot(mirror, "someone/FakePack", PACKS / "FakePack")
    again, report = generate.build(mirror, manager, listed, old=table)
    assert "scanner" not in again["packs"]["someone/FakePack"] and not report["older"]


def test_a_kept_pack_keeps_its_own_facts_of_a_class_packs_disagree_on(tmp_path):
    """The previous table holds such a class's facts per pack (``variants``): a kept pack
    takes its own, never the merged entry with every pack's variants nested in it."""
    old = {
        "classes": {
            "Shared": {
                "pack": "a",
                "dynamic": ["model"],
                "variants": {"a": {"inputs": {"model": "checkpoints"}}, "b": {"dynamic": ["*"]}},
                "claimed-by": ["b"],
            },
            "Alone": {"pack": "a", "inputs": {"x": "loras"}},
        }
    }
    assert generate._facts_of(old, "Shared", "a") == {"inputs": {"model": "checkpoints"}}
    assert generate._facts_of(old, "Shared", "b") == {"dynamic": ["*"]}
    assert generate._facts_of(old, "Alone", "a") == {"inputs": {"x": "loras"}}
