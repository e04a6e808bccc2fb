"""Which folder a custom node's model file belongs in.

Custom nodes name model files in widgets whose folder ComfyUI's core table cannot know. The
custom-node knowledge table (``nodetable``, generated from the packs' own code) answers
first; for a class whose code was read, a file name in an input it does not list is "cannot
tell", never guessed from the input's name. Only where it knows nothing does a narrow
heuristic speak: a widget named like a core
loader's input (``ckpt_name``, ``lora_name``, ``vae_name``, …) reads the same folder, and such
references are marked ``inferred``. Nothing else is guessed: a file name (``…BakedVAE…``, a
``.pth``) or a class name says too little, and a wrong folder sends ``sync`` to a place the
node never reads. "Cannot tell" is an honest answer and carries its reason.

URL values are sources, not paths: ``url_reference_name`` names the file a URL serves.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple
from urllib.parse import quote, unquote, urlsplit

from . import nodetable, tables
from .refs import url_placeholder
from .widgets import POSITION

__all__ = [
    "Guess",
    "custom_folder",
    "folders_by_position",
    "hub_file_url",
    "inputs_by_order",
    "is_model_filename",
    "is_url_value",
    "url_reference_name",
]

# Widget names that mean one folder in every pack that uses them (ComfyUI's core loaders'
# own input names, plus the numbered and dict forms LoRA stacks use).
_WIDGET_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), folder)
    for p, folder in (
        (r"^ckpt_name(_?\d+)?$", "checkpoints"),
        (r"^vae_name(_?\d+)?$", "vae"),
        (r"^(lora|lora_name|loras)(_?\d+)?$", "loras"),
        (r"^control_net_name(_?\d+)?$", "controlnet"),
        (r"^unet_name$", "diffusion_models"),
        (r"^clip_name\d$", "text_encoders"),
        (r"^style_model_name$", "style_models"),
        (r"^gligen_name$", "gligen"),
        (r"^hypernetwork_name$", "hypernetworks"),
    )
)
_SPACE = re.compile(r"\s")
_HUB_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class Guess(NamedTuple):
    """A folder (or None), whether it was inferred, and why there is none."""

    folder: str | None
    inferred: bool = False
    reason: str | None = None
    folders: tuple[str, ...] = ()  # an input listing several folders: one of them


def is_model_filename(value: Any) -> bool:
    """A string that plausibly names a model file: one line, a model extension, no URL."""
    if not isinstance(value, str) or not value or len(value) > 512 or "\n" in value:
        return False
    lower = value.lower()
    if "://" in lower or "embedding:" in lower or ", " in value:
        return False  # a URL or prompt text, not a file name
    return lower.endswith(tables.model_extensions())


def is_url_value(value: Any) -> bool:
    """An ``https://`` (or ``http://``) URL in a widget: a source of a model, never a path."""
    if not isinstance(value, str) or not value[:8].lower().startswith(("https://", "http://")):
        return False  # the common case (prompt text, numbers) leaves here
    return len("https://x") < len(value) <= 2048 and not _SPACE.search(value)


def url_reference_name(url: str) -> str:
    """The file name a URL serves: the last path segment (a Hugging Face ``resolve`` URL's
    file), or, for a Civitai download URL that names no file, ``civitai-<version id>``: a
    placeholder without an extension that resolve completes with the real file name."""
    parts = urlsplit(url)
    placeholder = url_placeholder(parts.path)
    if placeholder:
        return placeholder
    segment = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    return segment or (parts.hostname or "download")


def hub_file_url(named: dict[str, Any]) -> str | None:
    """The file a node names by Hugging Face ``repo_id`` + (``subfolder``) + ``filename``
    widgets (``HFHubLoraLoader``-style), as its public ``resolve`` URL on ``main``."""
    repo, filename = named.get("repo_id"), named.get("filename")
    if not (isinstance(repo, str) and _HUB_REPO.match(repo.strip())):
        return None
    if not is_model_filename(filename):
        return None
    sub = named.get("subfolder")
    path = "/".join(
        p.strip().strip("/") for p in (sub, filename) if isinstance(p, str) and p.strip()
    )
    return f"https://huggingface.co/{repo.strip()}/resolve/main/{quote(path)}"


def _by_widget_name(widget: str) -> str | None:
    for pattern, folder in _WIDGET_RULES:
        if pattern.match(widget):
            return folder
    return None


def custom_folder(class_type: str, widget: str) -> Guess:
    """The folder a custom node's input reads: the table's answer, else a widget named like a
    core loader's input (inferred), else "cannot tell" with the reason."""
    position = POSITION.match(widget)
    packs = nodetable.disagreeing_packs(class_type)
    if position and packs:
        return Guess(None, reason=_disagree(class_type, f"widget {position.group(1)}", packs))
    if position and nodetable.knows(class_type):
        if not nodetable.model_inputs(class_type):
            return Guess(
                None, reason=f"cannot tell: the table knows no model input of {class_type}"
            )
        return Guess(
            None,
            reason=f"cannot tell: the file does not name {class_type}'s widget {position.group(1)}",
        )
    folder = nodetable.folder_of(class_type, widget)
    if isinstance(folder, str) and folder:
        return Guess(folder)
    several = nodetable.model_inputs(class_type).get(widget)
    if isinstance(several, list):  # the table knows better than a name: several folders
        listed = ", ".join(several)
        why = f"cannot tell: {class_type}.{widget} lists files of {listed}"
        return Guess(None, reason=why, folders=tuple(several))
    if nodetable.knows(class_type):  # never a name's guess for a class whose code was read
        packs = nodetable.disagreeing_packs(class_type, widget)
        if packs and nodetable.is_dynamic(class_type, widget):
            return Guess(None, reason=_disagree(class_type, widget, packs))
        if nodetable.is_dynamic(class_type, widget):
            why = f"{class_type}.{widget} lists files its code builds beyond static reading"
            return Guess(None, reason=f"cannot tell: {why}")
        # a file name in an input the code does not list (a stale value, or one static
        # reading missed): reported, never silently dropped, never guessed
        return Guess(None, reason=f"cannot tell: {class_type}.{widget} reads no model folder")
    guessed = _by_widget_name(widget)
    if guessed:
        return Guess(guessed, inferred=True)
    if "*" in (nodetable.class_facts(class_type) or {}).get("dynamic", ()):
        pack = nodetable.pack_of(class_type) or "its pack"
        why = f"{class_type}'s code ({pack}) is more than static reading follows"
        return Guess(None, reason=f"cannot tell: {why}")
    return Guess(None, reason=f"cannot tell: unknown custom node {class_type}")


def _disagree(class_type: str, what: str, packs: tuple[str, ...]) -> str:
    """The reason for a value of a class whose providing packs' code differs."""
    return (
        f"cannot tell: the packs providing {class_type} read its {what} differently "
        f"({', '.join(packs)}): name one in comfylock.toml [nodes]"
    )


def folders_by_position(class_type: str, positions: list[str]) -> dict[str, Guess]:
    """Folders for a UI node's model values that carry no widget name (``widgets_values[i]``,
    neither the node's ``inputs`` nor the table's widget order names them): when every model
    input of the class reads one folder, that folder; otherwise nothing (which value is which
    input is unknown, and a wrong pairing would be a confident wrong folder). An input whose
    place the table cannot tell (built beyond reading, a download) counts as another folder."""
    if not positions or nodetable.has_unplaced_inputs(class_type):
        return {}
    keys = list(nodetable.model_inputs(class_type).values())
    if not keys or not all(isinstance(f, str) for f in keys) or len(set(keys)) != 1:
        return {}  # several folders (or one input listing several): which is which is unknown
    return {p: Guess(keys[0]) for p in positions}


def inputs_by_order(class_type: str, positions: list[str], named: set[str]) -> dict[str, str]:
    """The model input each unnamed model value (``widgets_values[i]``) of a UI node stands
    for, when its layout departs from the code's (a node saved by another version of its
    pack, so naming by position stopped early): the frontend hands values to widgets in
    order, and a pack that adds inputs keeps its model inputs in their order. When exactly as
    many model values are unnamed as the class has model inputs left unnamed (``named``),
    each of one folder, the k-th value is the k-th input. Otherwise nothing: which value is
    which input is unknown, and a wrong pairing would be a confident wrong folder."""
    if not positions or nodetable.has_unplaced_inputs(class_type):
        return {}
    if nodetable.disagreeing_packs(class_type):
        return {}
    inputs = nodetable.model_inputs(class_type)
    order = [name.removeprefix("?") for name in nodetable.widget_order(class_type)]
    if not inputs or any(name not in order for name in inputs):
        return {}  # an input outside the order (``"*"``, a stack's): the count says nothing
    left = [name for name in order if name in inputs and name not in named]
    if len(left) != len(positions) or not all(isinstance(inputs[n], str) for n in left):
        return {}
    ranked = sorted(positions, key=lambda p: int(POSITION.match(p)[1]))
    return dict(zip(ranked, left, strict=True))
