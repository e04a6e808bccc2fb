"""The references a custom node's run-time downloads make: what its code fetches for a value
(the table's ``fetches``), a repo id it downloads whole (``downloads``), what it fetches
whatever its values (``always``), and a repo id in a node nobody read. Each is locked or
"cannot tell" with the reason, never dropped. A mixin of the reader (``reader._Reader``)."""

from __future__ import annotations

from . import nodetable, tables
from .inference import is_model_filename
from .refs import RepoRef
from .repos import ALWAYS_INPUT, always_fetched, fetched, is_repo_id, repo_reference
from .widgets import NONE_VALUES, POSITION, last_key

__all__ = ["DownloadReads"]

# The top-level media types (RFC 6838): ``image/gif``, ``video/h264-mp4`` are formats a node
# offers, shaped like a repo id but naming none.
_MEDIA_TYPES = frozenset(
    {"application", "audio", "font", "image", "message", "model", "multipart", "text", "video"}
)


class DownloadReads:
    """The reader provides ``repos`` and ``add_ref``."""

    repos: list[RepoRef]

    def _read_always(self, node_type, node_id, active) -> None:
        """What the node downloads whatever its values (a preprocessor's annotator weights):
        references of the node itself, input ``(first run)``."""
        fixed = always_fetched(node_type, node_id=node_id, active=active)
        if fixed is not None:
            self.repos.extend(fixed.repos)
            for file in fixed.files:
                self._add_fetched_file(file, node_type, node_id, ALWAYS_INPUT, active)

    def _read_fetches(self, node_type, node_id, active, pairs) -> list:
        """Values whose node downloads what its code maps them to (the table's ``fetches``):
        repos and files to lock, or "cannot tell"; returns the other (path, value) pairs."""
        rest = []
        for path, value in pairs:
            got = None
            named = not path.startswith("widgets_values[")
            if named and isinstance(value, str) and value.strip() not in NONE_VALUES:
                got = fetched(node_type, last_key(path), value, node_id=node_id, active=active)
            if got is None:
                rest.append((path, value))
                continue
            self.repos.extend(got.repos)
            for file in got.files:
                self._add_fetched_file(file, node_type, node_id, path, active)
        return rest

    def _read_repos(self, node_type, node_id, active, pairs) -> list:
        """Widgets the knowledge table marks as whole-repo downloads become repo references
        (a repo id the table cannot place is "cannot tell", never dropped); returns the other
        (path, value) pairs."""
        rest = []
        for path, value in pairs:
            if not is_repo_id(value) or is_model_filename(value):  # most values: no lookup
                rest.append((path, value))
                continue
            name = last_key(path)
            ref = repo_reference(node_type, name, value, node_id=node_id, active=active)
            if ref is not None:
                self.repos.append(ref)
            elif dirs := nodetable.download_dirs(node_type, name):
                where = "a place the table cannot name"
                if all(d.startswith("hf-cache") for d in dirs):
                    where = "the Hugging Face cache, which comfylock does not fill"
                why = f"cannot tell: {node_type}.{name} downloads the repo to {where}"
                self._add_unplaced(value, why, node_type, node_id, path, active)
            elif POSITION.match(path) and nodetable.has_unplaced_inputs(node_type):
                # no name for this value, and the class downloads what some input names
                why = f"cannot tell: the file does not name {node_type}'s widget {POSITION.match(path)[1]}, and the node downloads what some of its inputs name"
                self._add_unplaced(value, why, node_type, node_id, path, active)
            elif _may_download(node_type, value) and not _names_a_file_too(pairs):
                why = f"cannot tell: unknown custom node {node_type}: {value!r} names a Hugging Face repo it may download"
                self._add_unplaced(value, why, node_type, node_id, path, active)
            else:
                rest.append((path, value))
        return rest

    def _add_unplaced(self, value, why: str, node_type, node_id, path, active) -> None:
        file = {"folder": None, "name": value, "reason": why}
        self._add_fetched_file(file, node_type, node_id, path, active)

    def _add_fetched_file(self, file: dict, node_type, node_id, path, active) -> None:
        self.add_ref(
            folder=file["folder"],
            name=file["name"],
            node_id=node_id,
            node_type=node_type,
            input=path,
            active=active,
            url=file.get("url"),
            reason=file.get("reason"),
        )


def _names_a_file_too(pairs: list) -> bool:
    """A node that names a model file too (``repo_id`` + ``filename``): the repo is that
    file's source, not a repo to download whole."""
    return any(is_model_filename(v) for _, v in pairs)


def _may_download(class_type: str, value: str) -> bool:
    """A repo id in a node whose code no one read (neither the table nor an installed pack):
    it may be a repo the node downloads, so it is reported, never silently dropped."""
    if value.split("/", 1)[0].lower() in _MEDIA_TYPES or class_type in tables.core_nodes():
        return False
    return nodetable.is_unread(class_type)
