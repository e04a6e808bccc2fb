"""machine.diskuse's pure parts: folders by size, what each lock uses alone, unnamed files."""

from __future__ import annotations

from comfylock.machine.diskuse import folder_use, lock_use, unnamed_files
from comfylock.machine.inventory import Inventory, LocalFile


def test_folders_split_own_bytes_from_links_and_sort_by_size():
    rows = folder_use(
        [("loras", 10, False), ("checkpoints", 100, True), ("loras", 5, True), ("vae", 7, False)]
    )
    assert [(r.folder, r.files, r.bytes, r.own) for r in rows] == [
        ("checkpoints", 1, 100, 0),
        ("loras", 2, 15, 10),
        ("vae", 1, 7, 7),
    ]


def test_each_lock_and_the_bytes_only_it_uses():
    sizes = {"a": 10, "b": 20, "c": 40}
    use = lock_use(sizes, {"/p1": {"a", "b", "gone"}, "/p2": {"b", "c"}})
    assert [(u.path, u.blobs, u.bytes, u.only) for u in use] == [
        ("/p1", 2, 30, 10),
        ("/p2", 2, 60, 40),
    ]


def test_unnamed_files_biggest_first_legacy_folders_canonical():
    inv = Inventory(
        files=(
            LocalFile("clip", "t5.safetensors", "/m/clip/t5.safetensors", 5),
            LocalFile("loras", "a.safetensors", "/m/loras/a.safetensors", 1),
            LocalFile("loras", "b.safetensors", "/m/loras/b.safetensors", 9),
        )
    )
    named = {("text_encoders", "t5.safetensors"), ("loras", "a.safetensors")}
    assert [u.name for u in unnamed_files(inv, named)] == ["b.safetensors"]
