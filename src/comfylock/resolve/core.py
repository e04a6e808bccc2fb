"""Turn workflows' references into a lock: the resolution order of SPEC §4.

For each distinct (folder, name), first hit wins and fixes the bytes (sha256 + size):

1. an existing pin in the lock (unless ``upgrade``);
2. a hand pin in ``comfylock.toml`` ``[sources]``;
3. a local file in the models tree (hashed; then looked up on Civitai by hash);
4. metadata the workflow carries (``properties.models`` / ``models[]`` url + hash);
5. the known-models index (ComfyUI-Manager ``model-list.json`` format);
6. Civitai search by exact file name.

Repos that download-and-load nodes fetch whole (``WorkflowInfo.repos``) become snapshots:
an existing pin for the same (dir, repo) is kept unless ``upgrade``; else ``Sources.snapshot``
pins the repo's default branch to a commit and lists every file with its sha256. Two
workflows that want different repos in one directory are reported, never a silent pick.

Input files (folder ``input``: the images, masks, audio and video ``LoadImage`` and friends
read from ComfyUI's ``input/``) are never looked up online: a file beside the workflow (part
of the project, so its bytes win over an older pin) or else the existing pin, else the
ComfyUI root's ``input/`` file; absent everywhere, the reference is unresolved with that
reason (``_InputResolver``). Pinned models then get what their sources publish about them
(licence, permissions, base model, trained words: ``Sources.about``) when the lock does not
already record it.

Later steps that find the *same bytes* add their source too, so a lock says every place a
file can come from. Network and disk go through the injected ``Sources``; this module only
decides. Node packs follow the same idea: existing pin, ``[nodes]`` hand pin, the workflow's
``cnr_id``/``aux_id``/``ver``, then the class→pack lookups; ambiguity is reported. Packs and
snapshots are pinned in ``nodeneeds.py``; this module keeps the models and calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

import msgspec

from ..basics.redact import redact
from ..config import Config
from ..errors import RemoteError
from ..lock.keys import find_locked, lock_keys, placeholder_version
from ..lock.structs import (
    CivitaiSource,
    FileSource,
    HuggingFaceSource,
    Lock,
    LockedModel,
    LockedNode,
    LockedSnapshot,
    LockedWorkflow,
    Source,
    Unresolved,
)
from ..lock.unpinned import UNPLACED
from ..pathsafe import unsafe_reason
from ..workflows.digest import custom_classes, lockable_refs, workflow_digest
from ..workflows.refs import ModelRef, NodeUse, WorkflowInput
from ..workflows.tables import INPUT_FOLDER
from .nodeneeds import resolve_nodes, resolve_snapshots
from .placement import placed_here
from .samefile import FileId, disagreeing_urls, file_of_source

__all__ = [
    "PINNED_ROWS",
    "About",
    "Found",
    "NodeCandidate",
    "PinConflict",
    "Resolution",
    "Sources",
    "resolve",
    "source_key",
]


class Found(msgspec.Struct, frozen=True, kw_only=True):
    """Bytes identified by one source."""

    sha256: str | None
    size: int | None
    source: Source | None
    blake3: str | None = None
    file_name: str | None = None  # the real file name, when it completes the reference's
    note: str | None = None  # why these bytes are all there is (e.g. the history searched)


class About(msgspec.Struct, frozen=True, kw_only=True):
    """What one source publishes about a file (the ``LockedModel`` fields of that name)."""

    license: str | None = None
    gated: str | None = None
    allow_commercial_use: tuple[str, ...] | None = None
    allow_derivatives: bool | None = None
    allow_different_license: bool | None = None
    allow_no_credit: bool | None = None
    base_model: str | None = None
    trained_words: tuple[str, ...] = ()


ABOUT_FIELDS = tuple(About.__struct_fields__)
_SAID_NOTHING = About()  # each field's "not published" value (None; no trained words)


class NodeCandidate(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    repo: str
    version: str | None = None
    commit: str | None = None


class Sources(Protocol):
    """Everything resolution needs from the outside world (network, disk, caches)."""

    def local_file(self, folder: str, name: str) -> Found | None: ...
    def local_folders(self, folders: tuple[str, ...], name: str) -> list[str]: ...
    def civitai_by_hash(self, sha256: str) -> Found | None: ...
    def hand_pin(self, spec: str, ref: ModelRef) -> Found | None: ...
    def from_url(self, url: str, declared_sha256: str | None) -> Found | None: ...
    def model_list(self, folder: str, name: str) -> list[str]: ...
    def civitai_search(self, folder: str, name: str) -> Found | None: ...
    def node_candidates(self, node: NodeUse) -> list[NodeCandidate]: ...
    def pin_node(self, candidate: NodeCandidate) -> LockedNode | None: ...
    def settle_pin(
        self, class_name: str, candidates: list[NodeCandidate], pin: str
    ) -> NodeCandidate: ...
    def snapshot(
        self, repo: str, dir: str, *, allow: tuple[str, ...] = ()
    ) -> LockedSnapshot | None: ...
    def input_files(self, workflow: str, name: str) -> list[Found]: ...
    def about(self, source: Source) -> About | None: ...


class PinConflict(msgspec.Struct, frozen=True):
    """Two workflows want different files for one (folder, name): ``what`` they disagree on
    is the declared ``"sha256"``, the ``"url"`` (URLs naming different files) or the
    ``"file"`` of an input beside each of them."""

    key: str
    first: tuple[str, str]  # (workflow, sha256 or URL)
    second: tuple[str, str]
    what: str = "sha256"


class Resolution(msgspec.Struct, frozen=True, kw_only=True):
    lock: Lock
    unresolved: tuple[Unresolved, ...]
    conflicts: tuple[PinConflict, ...]
    ambiguous: tuple[tuple[str, tuple[str, ...]], ...]  # (class, candidate pack ids)
    stats: dict[str, int]


def source_key(source: Source) -> tuple:
    """Identity of a source regardless of how it was matched (for de-duplication)."""
    if isinstance(source, CivitaiSource):
        return ("civitai", source.version_id, source.file_id)
    if isinstance(source, HuggingFaceSource):
        return ("huggingface", source.repo, source.revision, source.path)
    if isinstance(source, FileSource):
        return ("file", source.root, source.path)
    return ("url", source.url)


def _merge_sources(existing: Iterable[Source], new: Iterable[Source]) -> tuple[Source, ...]:
    seen = {}
    for source in [*existing, *new]:
        seen.setdefault(source_key(source), source)
    return tuple(seen.values())


class _Outcome(msgspec.Struct, frozen=True):
    model: LockedModel | None
    reason: str  # why it is unresolved
    how: str  # how it was found
    conflict: PinConflict | None = None


class _Candidates:
    """The hits for one reference; with a declared sha256, hits of other bytes are rejected
    and remembered so the reason can name both hashes."""

    def __init__(self, want: str | None) -> None:
        self.want = want
        self.found: list[Found] = []
        self.rejected: list[tuple[str, Found]] = []  # (where, hit)
        self.notes: list[str] = []

    def offer(self, hit: Found | None, where: str) -> bool:
        if hit is None:
            return False
        if self.want and hit.sha256 and hit.sha256 != self.want:
            self.rejected.append((where, hit))
            return False
        first = next((f.sha256 for f in self.found if f.sha256), None)
        if first and hit.sha256 and hit.sha256 != first:
            return False
        self.found.append(hit)
        return True

    def has_source(self) -> bool:
        return any(f.source is not None for f in self.found)

    def reason(self) -> str:
        parts = [
            f"{redact(where)} has sha256 {hit.sha256}" + (f" ({hit.note})" if hit.note else "")
            for where, hit in self.rejected
        ]
        if not parts:
            return "; ".join(self.notes)
        return f"the workflow declares sha256 {self.want}, but " + "; ".join(parts + self.notes)


class _ModelResolver:
    """Resolves one distinct (folder, name); collects every matching source."""

    def __init__(
        self, sources: Sources, config: Config, old: dict[str, LockedModel], upgrade: bool
    ) -> None:
        self.sources = sources
        self.config = config
        self.old = old
        self.upgrade = upgrade

    def __call__(self, uses: list[tuple[str, ModelRef]]) -> _Outcome:
        """``uses``: (workflow path, reference) pairs naming one (folder, name)."""
        ref = uses[0][1]
        declared = sorted({r.sha256 for _, r in uses if r.sha256})
        if len(declared) > 1:  # reported as a conflict between the workflows
            return _Outcome(None, f"workflows declare different sha256: {', '.join(declared)}", "")
        want = declared[0] if declared else None
        kept = find_locked(ref, self.old)
        if not self.upgrade and kept is not None and want in (None, kept.sha256):
            return _Outcome(kept, "", "kept", self._url_conflict(uses, {}, kept))
        found = _Candidates(want)
        urls = sorted({r.url for _, r in uses if r.url})
        how, url_hits = self._lookup(msgspec.structs.replace(ref, sha256=want), urls, found)
        if isinstance(how, _Outcome):
            return how
        offline = getattr(self.sources, "offline", False)
        locked, reason, how = _assemble(ref, found.found, how, offline=offline)
        if locked is None and (found.rejected or found.notes):
            reason = found.reason()
        return _Outcome(locked, reason, how, self._url_conflict(uses, url_hits, None))

    def _lookup(
        self, ref: ModelRef, urls: list[str], found: _Candidates
    ) -> tuple[str | _Outcome, dict]:
        """Steps 2-6 of SPEC §4; returns (how it was found, or an early outcome; URL hits)."""
        how = ""
        spec = self.config.sources.get(f"{ref.folder}/{ref.name}")
        if spec:
            hit = self.sources.hand_pin(spec, ref)
            if hit is None:
                offline = " (offline)" if getattr(self.sources, "offline", False) else ""
                why = f"hand pin {spec!r} in comfylock.toml did not resolve{offline}"
                return _Outcome(None, why, ""), {}
            if not found.offer(hit, f"the hand pin {spec!r}"):
                return _Outcome(None, found.reason(), ""), {}
            how = "pin"
        local = self.sources.local_file(ref.folder, ref.name) if not found.found else None
        if found.offer(local, "the local file"):
            how = how or "local"
            found.offer(self.sources.civitai_by_hash(local.sha256), "Civitai")
        url_hits: dict[str, Found | None] = {}
        for url in urls:
            url_hits[url] = hit = self.sources.from_url(url, ref.sha256)
            if found.offer(hit, url):
                how = how or "url"
        if ref.sha256 and not found.has_source() and found.offer(self._by_hash(ref, found), ""):
            how = how or "hash"
        if not found.has_source():
            for url in self.sources.model_list(ref.folder, ref.name):
                if found.offer(self.sources.from_url(url, ref.sha256), url):
                    how = how or "index"
                    break
        # NOTE: with a declared sha256 a name search adds nothing the hash lookup missed
        if (
            not ref.sha256
            and not found.has_source()
            and found.offer(self.sources.civitai_search(ref.folder, ref.name), "Civitai search")
        ):
            how = how or "name"
        return how, url_hits

    def _by_hash(self, ref: ModelRef, found: _Candidates) -> Found | None:
        """The declared bytes wherever Civitai has them: best effort, after the workflow's own
        sources; if Civitai cannot be asked, the reason says so."""
        try:
            return self.sources.civitai_by_hash(ref.sha256)
        except RemoteError as exc:
            found.notes.append(f"Civitai could not be asked ({exc.message.rsplit(': ', 1)[-1]})")
            return None

    def _url_conflict(
        self, uses: list[tuple[str, ModelRef]], hits: dict[str, Found | None], kept
    ) -> PinConflict | None:
        """Two URLs for this reference not known to give the same bytes (SPEC §1)."""
        known = {f for s in (kept.source if kept else ()) for f in file_of_source(s)}

        def sha_of(url: str, file: FileId) -> str | None:
            if kept is not None and file in known:
                return kept.sha256
            hit = hits[url] if url in hits else self.sources.from_url(url, None)
            return hit.sha256 if hit is not None else None

        pair = disagreeing_urls(uses, sha_of, compare_all=len(hits) > 1)
        return None if pair is None else PinConflict(uses[0][1].key, *pair, what="url")


def _assemble(
    ref: ModelRef, found: list[Found], how: str, *, offline: bool = False
) -> tuple[LockedModel | None, str, str]:
    with_hash = [f for f in found if f.sha256 and f.size is not None]
    if not with_hash:
        if found:
            return None, "found a source but no published sha256/size (try `resolve --fetch`)", ""
        return None, _not_found_reason(ref, offline=offline), ""
    sha, size = with_hash[0].sha256, with_hash[0].size
    blake3 = next((f.blake3 for f in found if f.blake3 and f.sha256 == sha), None)
    sources = _merge_sources(
        (), (f.source for f in found if f.source is not None and f.sha256 in (sha, None))
    )
    if not sources:
        if offline:  # the fix is to look (lock/unpinned.py says so), not to pin by hand
            return (
                None,
                f"local file only (sha256 {sha[:12]}…): Civitai not looked up (offline)",
                "",
            )
        return (
            None,
            f"local file only (sha256 {sha[:12]}…): not found on Civitai by hash and no URL",
            "",
        )
    name = ref.name
    real = next((f.file_name for f in found if f.file_name and f.sha256 == sha), None)
    if len(lock_keys(ref.folder, ref.name)) > 1:  # an embedding named without its extension
        if real and "." in real:
            name = f"{ref.name}{real[real.rfind('.') :]}"
    elif placeholder_version(ref) is not None and real and unsafe_reason(real) is None:
        name = real  # a Civitai download URL names no file: the version's file names it
    return (
        LockedModel(
            folder=ref.folder, name=name, size=size, sha256=sha, blake3=blake3, source=sources
        ),
        "",
        how,
    )


def _not_found_reason(ref: ModelRef, *, offline: bool = False) -> str:
    if ref.url:
        if offline:
            return f"the workflow's URL was not looked up (offline): {ref.url}"
        return f"the workflow's URL could not be pinned ({ref.url})"
    if offline:
        return (
            "no local file, no URL in the workflow; the known-models index and Civitai were "
            "not looked up (offline)"
        )
    return "no local file, no URL in the workflow, not in the known-models index, not found on Civitai by exact name"


def resolve(
    workflows: list[WorkflowInput],
    *,
    old: Lock | None,
    config: Config,
    sources: Sources,
    upgrade: bool = False,
    map_fn: Callable | None = None,
    hand_pinned: frozenset[str] = frozenset(),
) -> Resolution:
    """Resolve every reference of every workflow. Pure but for ``sources``. ``hand_pinned``:
    keys of pins ``add`` just made (in ``old``, but new to the user: counted as by hand)."""
    map_fn = map_fn or (lambda fn, items: [fn(i) for i in items])
    old_models = {m.key: m for m in (old.model if old else ())}
    groups: dict[str, list[tuple[str, ModelRef]]] = {}
    unresolved: list[Unresolved] = []
    placed = placed_here(workflows, sources)
    for wf in workflows:
        for ref in lockable_refs(wf.info):
            if ref.folder is None and (ref.folders, ref.name) in placed:
                ref = msgspec.structs.replace(
                    ref, folder=placed[ref.folders, ref.name], reason=None
                )
            if ref.folder is None:
                why = (ref.reason or "").removeprefix("cannot tell: ")
                unresolved.append(
                    Unresolved(
                        folder=UNPLACED,
                        name=ref.name,
                        reason=f"{wf.path}: cannot tell which folder it belongs in"
                        + (f" ({why})" if why else ""),
                    )
                )
                continue
            groups.setdefault(f"{ref.folder}/{ref.name}", []).append((wf.path, ref))
    conflicts = _declared_conflicts(workflows)
    resolver = _ModelResolver(sources, config, old_models, upgrade)
    inputs = _InputResolver(sources, old_models, upgrade)
    keys = sorted(groups)
    results = map_fn(lambda k: (inputs if _is_input(k) else resolver)(groups[k]), keys)
    models: list[LockedModel] = []
    resolved_key: dict[str, str] = {}
    stats = dict.fromkeys(("pinned", *PINNED_ROWS, "unresolved"), 0)
    for key, outcome in zip(keys, results):
        locked, reason, how = outcome.model, outcome.reason, outcome.how
        if outcome.conflict is not None and not any(c.key == key for c in conflicts):
            conflicts.append(outcome.conflict)
        if locked is not None:
            resolved_key[key] = locked.key
        if locked is None:
            ref = groups[key][0][1]
            unresolved.append(Unresolved(folder=ref.folder, name=ref.name, reason=reason))
            continue
        models.append(locked)
        stats["pinned"] += 1
        stats[_pinned_row(how, key in hand_pinned)] += 1
    models = _describe(models, sources, map_fn)
    nodes, node_unresolved, ambiguous, pack_of = resolve_nodes(
        workflows, old, config, sources, upgrade, map_fn
    )
    unresolved += node_unresolved
    snapshots, snapshot_unresolved = resolve_snapshots(workflows, old, sources, upgrade, map_fn)
    unresolved += snapshot_unresolved
    stats["unresolved"] = len(unresolved)
    stats["packs"] = len(nodes)
    stats["snapshots"] = len(snapshots)
    locked_workflows = tuple(
        LockedWorkflow(
            path=wf.path,
            digest=workflow_digest(wf.info),
            models=tuple(
                sorted(
                    {
                        resolved_key.get(f"{folder}/{r.name}", f"{folder}/{r.name}")
                        for r in lockable_refs(wf.info)
                        if (folder := r.folder or placed.get((r.folders, r.name)))
                    }
                )
            ),
            nodes=tuple(
                sorted(
                    {
                        pack_of[n.class_type]
                        for n in custom_classes(wf.info)
                        if n.class_type in pack_of
                    }
                )
            ),
            snapshots=tuple(sorted({r.dir for r in wf.info.repos})),
        )
        for wf in workflows
    )
    lock = Lock(
        version=1,
        workflow=locked_workflows,
        model=tuple(models),
        node=tuple(nodes),
        snapshot=tuple(snapshots),
        unresolved=tuple(unresolved),
    )
    return Resolution(
        lock=lock,
        unresolved=tuple(unresolved),
        conflicts=tuple(sorted(conflicts, key=lambda c: c.key)),
        ambiguous=tuple(ambiguous),
        stats=stats,
    )


def _is_input(key: str) -> bool:
    return key.startswith(INPUT_FOLDER + "/")


class _InputResolver:
    """Pins one input file (folder ``input``) from this machine's files, never the network."""

    def __init__(self, sources: Sources, old: dict[str, LockedModel], upgrade: bool) -> None:
        self.sources = sources
        self.old = old
        self.upgrade = upgrade

    def __call__(self, uses: list[tuple[str, ModelRef]]) -> _Outcome:
        ref = uses[0][1]
        workflows = dict.fromkeys(w for w, _ in uses)
        hits = [(wf, h) for wf in workflows for h in self._look(wf, ref.name)]
        beside = [(wf, h) for wf, h in hits if h.source.root == "project"]
        shas = {h.sha256: wf for wf, h in beside}
        if len(shas) > 1:
            (a, wf_a), (b, wf_b) = list(shas.items())[:2]
            conflict = PinConflict(ref.key, (wf_a, a), (wf_b, b), what="file")
            return _Outcome(
                None, "workflows have different files of this name beside them", "", conflict
            )
        kept = None if self.upgrade else self.old.get(ref.key)
        want = next(iter(shas), None) or (kept.sha256 if kept else None)
        if want is None and hits:
            want = hits[0][1].sha256  # the ComfyUI root's input/ file
        same = [h for _, h in hits if h.sha256 == want]
        if kept is not None and kept.sha256 == want:
            found = _merge_sources(kept.source, (h.source for h in same))
            return _Outcome(msgspec.structs.replace(kept, source=found), "", "kept")
        if not same:
            return _Outcome(None, self._absent(uses), "")
        first = same[0]
        sources = _merge_sources((), (h.source for h in same))
        model = LockedModel(
            folder=INPUT_FOLDER,
            name=ref.name,
            size=first.size,
            sha256=want,
            blake3=first.blake3,
            source=sources,
        )
        return _Outcome(model, "", "local")

    def _look(self, workflow: str, name: str) -> list[Found]:
        """The files of this name beside ``workflow``, then in the ComfyUI root's input/."""
        look = getattr(self.sources, "input_files", None)
        return [h for h in look(workflow, name) if h.sha256] if look is not None else []

    def _absent(self, uses) -> str:
        where = ", ".join(sorted({_beside(wf) for wf, _ in uses}))
        return f"input file not found on this machine: not beside the workflow ({where}), not in the ComfyUI root's input/"


def _beside(workflow: str) -> str:
    parent = workflow.rpartition("/")[0]
    return f"{parent}/" if parent else "the project folder"


def _describe(models: list[LockedModel], sources: Sources, map_fn) -> list[LockedModel]:
    """Each model that records nothing of what its sources publish, with what they say now."""
    about = getattr(sources, "about", None)  # a Sources that knows no such thing: nothing
    if about is None:
        return models
    todo = [i for i, m in enumerate(models) if not _is_described(m) and m.folder != INPUT_FOLDER]
    found = map_fn(lambda i: [about(s) for s in models[i].source], todo)
    out = list(models)
    for i, abouts in zip(todo, found):
        out[i] = _with_about(models[i], [a for a in abouts if a is not None])
    return out


def _said(value, field: str) -> bool:
    """Whether a value says something (an empty list of commercial uses does: none)."""
    return value != getattr(_SAID_NOTHING, field)


def _is_described(model: LockedModel) -> bool:
    return any(_said(getattr(model, f), f) for f in ABOUT_FIELDS)


def _with_about(model: LockedModel, abouts: list[About]) -> LockedModel:
    """The first source that says something wins each field (the lock's source order)."""
    fields = {}
    for field in ABOUT_FIELDS:
        said = [getattr(a, field) for a in abouts if _said(getattr(a, field), field)]
        if said:
            fields[field] = said[0]
    return msgspec.structs.replace(model, **fields) if fields else model


# How each pinned model was found, one row each: the rows add up to ``stats["pinned"]``.
PINNED_ROWS = ("kept", "by_pin", "by_hash", "by_url", "by_name")
_ROW_OF_HOW = {"kept": "kept", "pin": "by_pin", "local": "by_hash", "hash": "by_hash"}
_ROW_OF_HOW |= {"url": "by_url", "index": "by_url", "name": "by_name"}


def _pinned_row(how: str, hand_pinned: bool) -> str:
    """The one row a pinned model counts in (a pin ``add`` just made is by hand, not kept)."""
    return "by_pin" if hand_pinned else _ROW_OF_HOW.get(how, "by_url")


def _declared_conflicts(workflows: list[WorkflowInput]) -> list[PinConflict]:
    """One (folder, name) whose workflows declare two different sha256: never a silent pick."""
    seen: dict[str, tuple[str, str]] = {}
    conflicts: list[PinConflict] = []
    for wf in workflows:
        for ref in lockable_refs(wf.info):
            if not ref.sha256 or not ref.folder:
                continue
            key = f"{ref.folder}/{ref.name}"
            first = seen.setdefault(key, (wf.path, ref.sha256))
            if first[1] != ref.sha256 and not any(c.key == key for c in conflicts):
                conflicts.append(PinConflict(key, first, (wf.path, ref.sha256)))
    return conflicts
