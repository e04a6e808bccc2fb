"""The packs installed in a ComfyUI root, read from their code once per pack and commit:
a second run reads nothing but the cache, a new commit or edited sources are read again, a
broken cache only costs time, and a pack the shipped table read at that commit adds nothing."""

from __future__ import annotations

import pytest

from comfylock.machine import packfacts
from tests.support.nodepacks import install_pack

C1, C2 = "1" * 40, "2" * 40


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "ComfyUI"
    (root / "custom_nodes").mkdir(parents=True)
    install_pack(
        root, "FakeLocalPack", commit=C1, remote="https://github.com/example/FakeLocalPack"
    )
    return root


def _no_reading(monkeypatch):
    def refuse(path):
        raise AssertionError(f"read {path} again")

    monkeypatch.setattr(packfacts, "read_installed_pack", refuse)


def test_a_second_run_reads_only_the_cache(root, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    (first,) = packfacts.installed_packs(root, cache)
    assert first.ident == C1 and first.origin == f"installed pack at {C1[:12]}"
    assert "FakeLocalCheckpointLoader" in first.facts["classes"]
    _no_reading(monkeypatch)
    assert packfacts.installed_packs(root, cache) == [first]


def test_another_commit_is_read_again(root, tmp_path):
    cache = tmp_path / "cache"
    packfacts.installed_packs(root, cache)
    (root / "custom_nodes" / "FakeLocalPack" / ".git" / "HEAD").write_text(C2 + "\n")
    (again,) = packfacts.installed_packs(root, cache)
    assert again.ident == C2


def test_a_pack_without_git_is_known_by_its_sources(root, tmp_path):
    pack = root / "custom_nodes" / "FakeLocalPack"
    for name in ("HEAD", "config"):
        (pack / ".git" / name).unlink()
    (pack / ".git").rmdir()
    cache = tmp_path / "cache"
    (first,) = packfacts.installed_packs(root, cache)
    assert first.ident.startswith("content:")
    assert first.origin == "installed pack (not a git checkout)"
    init = pack / "__init__.py"
    init.write_text(init.read_text() + "\n# edited\n")
    (second,) = packfacts.installed_packs(root, cache)
    assert second.ident != first.ident


def test_a_broken_cache_only_costs_time(root, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "packfacts.sqlite").write_bytes(b"not a database at all" * 100)
    (pack,) = packfacts.installed_packs(root, cache)
    assert "FakeLocalCheckpointLoader" in pack.facts["classes"]


def test_a_pack_the_table_read_at_that_commit_adds_nothing(root, tmp_path, node_table):
    knowledge = packfacts.installed_knowledge(root, tmp_path / "cache")
    assert "FakeLocalCheckpointLoader" in knowledge.classes
    (pack_id,) = knowledge.packs
    node_table(
        {
            "generator": {"scanner-version": packfacts.SCANNER_VERSION},
            "packs": {pack_id: {"repo": "https://github.com/example/FakeLocalPack", "commit": C1}},
        }
    )
    again = packfacts.installed_knowledge(root, tmp_path / "cache")
    assert not again.packs and not again.classes


def test_a_pack_the_table_holds_is_not_read_at_all(root, tmp_path, node_table, monkeypatch):
    # told from its checkout (origin, commit) before any source is read: a machine with
    # many table packs installed pays nothing for them, even with an empty cache
    pack_id = "example/FakeLocalPack"
    node_table(
        {
            "generator": {"scanner-version": packfacts.SCANNER_VERSION},
            "packs": {pack_id: {"repo": "https://github.com/example/FakeLocalPack", "commit": C1}},
        }
    )
    _no_reading(monkeypatch)
    knowledge = packfacts.installed_knowledge(root, tmp_path / "fresh-cache")
    assert not knowledge.packs and not knowledge.classes


def test_a_pack_an_older_scanner_read_at_that_commit_is_read_again(root, tmp_path, node_table):
    """The table may hold a pack read by an older scanner (its snapshot was missing when the
    table was made): the installed copy is read with this one, which may see more."""
    (pack_id,) = packfacts.installed_knowledge(root, tmp_path / "cache").packs
    pack = {"repo": "https://github.com/example/FakeLocalPack", "commit": C1}
    node_table(
        {
            "generator": {"scanner-version": packfacts.SCANNER_VERSION},
            "packs": {pack_id: {**pack, "scanner": packfacts.SCANNER_VERSION - 1}},
        }
    )
    again = packfacts.installed_knowledge(root, tmp_path / "cache")
    assert "FakeLocalCheckpointLoader" in again.classes


def test_of_the_packs_a_class_has_variants_in_the_one_installed_here_is_read(
    root, tmp_path, node_table
):
    # the table knows two packs whose code reads the class differently; this machine has
    # one of them (the table's commit): its reading answers, no "packs disagree"
    ours, fork = "example/FakeLocalPack", "someone/FakeLocalFork"
    folders = {ours: "checkpoints", fork: "loras"}
    variants = {p: {"inputs": {"ckpt": f}} for p, f in folders.items()}
    node_table(
        {
            "generator": {"scanner-version": packfacts.SCANNER_VERSION},
            "packs": {
                ours: {"repo": "https://github.com/example/FakeLocalPack", "commit": C1},
                fork: {"repo": "https://github.com/someone/FakeLocalFork", "commit": C2},
            },
            "classes": {
                "FakeSharedLoader": {"pack": ours, "packs": [ours, fork], "variants": variants}
            },
        }
    )
    knowledge = packfacts.installed_knowledge(root, tmp_path / "cache")
    chosen = knowledge.classes["FakeSharedLoader"]
    assert chosen.pack == ours and chosen.inputs == {"ckpt": "checkpoints"}
    assert not knowledge.packs  # the pack itself is the table's: not read again
