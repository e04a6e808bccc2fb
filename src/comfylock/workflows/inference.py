"""Which folder a custom node's model file belongs in, when nothing in the workflow says so.

Custom nodes name model files in widgets whose folder ComfyUI's core table cannot know. The
widget's name, then the node's class name, then the file name hint at it; references
found this way are marked ``inferred``.
"""

from __future__ import annotations

import re
from typing import Any

from . import tables

__all__ = ["infer_folder", "is_model_filename"]

# (pattern, folder): the first hit on the widget name, then the class name, then the file
# name wins. Order matters: "clip_vision" before "clip", "ipadapter" before "adapter".
_INFER_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), folder)
    for p, folder in (
        (r"lora|lycoris|locon", "loras"),
        (r"clip[_-]?vision|image[_-]?encoder", "clip_vision"),
        (r"ip[_-]?adapter", "ipadapter"),
        (r"control[_-]?net|t2i[_-]?adapter|controllllite", "controlnet"),
        (r"upscale|esrgan|swinir|realesr|4x|2x", "upscale_models"),
        (r"vae", "vae"),
        (r"t5|umt5|text[_-]?encoder|clip|llava|llama|qwen.*vl|gemma|mistral|byt5", "text_encoders"),
        (r"unet|diffusion|transformer|dit\b", "diffusion_models"),
        (r"ckpt|checkpoint", "checkpoints"),
        (r"embedding|textual[_-]?inversion", "embeddings"),
        (r"hypernet", "hypernetworks"),
        (r"style[_-]?model", "style_models"),
        (r"gligen", "gligen"),
        (r"photomaker", "photomaker"),
        (r"ultralytics|yolo|\bbbox/|\bsegm/", "ultralytics"),
        (r"sam[_-]?(vit|hq)|samloader|sam_model", "sams"),
    )
)
_MODEL_LOADER = re.compile(r"model[_-]?loader", re.IGNORECASE)


def is_model_filename(value: Any) -> bool:
    """A string that plausibly names a model file: one line, a model extension, no URL."""
    if not isinstance(value, str) or not value or len(value) > 512 or "\n" in value:
        return False
    lower = value.lower()
    if "://" in lower or "embedding:" in lower or ", " in value:
        return False  # a URL or prompt text, not a file name
    return lower.endswith(tables.model_extensions())


def infer_folder(widget: str, class_type: str, name: str) -> str | None:
    """Best guess of a custom node's model folder, or None when nothing hints at one."""
    for text in (widget, class_type, name):
        for pattern, folder in _INFER_RULES:
            if pattern.search(text):
                return folder
    if _MODEL_LOADER.search(class_type):
        return "diffusion_models"
    return None
