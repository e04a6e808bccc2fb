"""Unpinned entries named for what they are: a file a node keeps in its pack's own directory
(``custom_nodes/<pack>/<dir>/<name>``) is a model, not a node class."""

from __future__ import annotations

from comfylock.lock.unpinned import ambiguous_reason, fixes, label, suggested_pack, summary

PACK_LOCAL = "custom_nodes/FakeLocalPack/checkpoints/fake-local-v1.safetensors"


def test_a_pack_local_file_is_a_model_and_a_class_is_a_class():
    assert label("custom_nodes/MysteryLoader") == "node class MysteryLoader"
    assert label(PACK_LOCAL) == PACK_LOCAL
    assert summary(["custom_nodes/MysteryLoader", PACK_LOCAL]) == "1 model and 1 node class"


def test_the_hand_pin_of_a_pack_local_file_names_its_directory():
    (hint,) = fixes([(PACK_LOCAL, "no source found")])
    assert (
        "--folder custom_nodes/FakeLocalPack/checkpoints --name fake-local-v1.safetensors" in hint
    )
    (hint,) = fixes([("loras/sub/x.safetensors", "no source found")])
    assert "--folder loras --name sub/x.safetensors" in hint


def test_a_file_no_one_can_place_gets_the_real_fix_never_folder_question_mark():
    # "cannot tell which folder": `add --folder ?` would pin it nowhere; the fix is the pack's
    # code (installed, read with --comfyui-root) or the folder the node reads, by hand
    reason = "flow.json: cannot tell which folder it belongs in (unknown custom node Mystery)"
    (hint,) = fixes([("?/mystery.safetensors", reason)])
    assert "--folder ?" not in hint
    assert "--comfyui-root" in hint
    assert "--folder FOLDER --name mystery.safetensors" in hint
    assert label("?/mystery.safetensors") == "mystery.safetensors (folder unknown)"


def test_an_ambiguity_a_needed_pack_settles_gets_its_own_copyable_pin():
    settled = ambiguous_reason("ImageResizeKJ", ["kjnodes", "fork"], needed={"kjnodes", "vhs"})
    assert suggested_pack(settled) == "kjnodes"
    # two needed claimants (or none): only the user can choose
    open_one = ambiguous_reason("Shared", ["kjnodes", "fork"], needed={"kjnodes", "fork"})
    assert suggested_pack(open_one) is None
    assert suggested_pack(ambiguous_reason("X", ["a", "b"], needed=())) is None
    lines = fixes(
        [
            ("custom_nodes/ImageResizeKJ", settled),
            (
                "custom_nodes/GetLatent",
                ambiguous_reason("GetLatent", ["kjnodes", "fork"], {"kjnodes"}),
            ),
            ("custom_nodes/Shared", open_one),
        ]
    )
    assert lines == [
        'add to comfylock.toml\'s [nodes]: "ImageResizeKJ" = "kjnodes" (and 1 more class the '
        "same way): a pack this project needs provides them; then run `comfylock resolve`",
        'name the pack in comfylock.toml, [nodes] "Shared" = "OWNER/REPO" (one line per node '
        "class), then run `comfylock resolve`",
    ]
