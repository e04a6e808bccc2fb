"""What a custom-node pack's code says: its node classes, the folder each model input reads,
the folders it registers and what its nodes download at run time. Read with ``ast`` from the
pack's source text; the code is never imported or run. Pure: source text in, facts out.

``facts.pack_facts`` reads one pack (``source.SourcePack``: path -> text) given ComfyUI's own
facts (``CoreFacts``); ``entries`` turns what it found into the knowledge table's entries.
The generator (``tools/nodetable``) runs it over pack snapshots to build the shipped table;
``machine.packfacts`` runs it over the packs installed in a ComfyUI root.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["SCANNER_VERSION", "CoreFacts"]

# Recorded in the generated tables and the installed-pack cache. Bump it in any change that can
# change what pack_facts returns for the same sources (a new registration style read, a fact
# added or dropped): the same pack commits then give other facts, and the tables must say which
# reading they hold.
# 1: the scanner as of issue 15 (earlier readings were not numbered).
# 2: issue 17: helpers followed into folder_paths, core loaders' inputs copied by wrappers,
#    label -> repo/URL maps, file downloads, pack-local directories, data files.
# 3: issue 17, second round: widget orders keep inputs whose kind cannot be read ("?name")
#    and gaps of unnamed inputs ("*"); listings filtered by extension are their folder's;
#    the node's own words beside files; classes packs disagree on keep what they agree on;
#    nodes registered in the pack's browser code.
# 4: issue 17, third round: a default file offered before a directory's files is that
#    directory's; loops over a progress bar (tqdm) iterate its items; a pack directory
#    holding data files the pack ships is its data, not a model directory; a listed name
#    whose separators are made "/" is still that name.
# 5: issue 17, fourth round: a value handed to another pack's node
#    (``NODE_CLASS_MAPPINGS["X"]().load(value)``) is recorded as ``delegates``; wrappers that
#    pass their inputs on (``getattr(super(), cls.FUNCTION)(*args, **kwargs)``) are followed;
#    what a class's ``__init__`` sets on ``self`` is read (the node's, before its function,
#    and each helper's it makes); a dict indexed by a node's value gives any of its entries.
# 6: issue 17, fifth round: ``NODE_CLASS_MAPPINGS.get("X")`` names X as its subscript does;
#    a file starting with a byte order mark is read (it was "not Python 3"); a class several
#    modules define is the one in the modules the pack's ``__init__.py`` reaches by import;
#    ``dict.fromkeys(names)`` is the names; a module loaded by its path
#    (``spec_from_file_location``) is that pack module; numbers are added and multiplied,
#    ``range`` of known bounds is its numbers and f-strings and ``%`` format them (one input
#    per slot made in a loop, ``lora_{i}_name``, is named).
# 7: issue 17, sixth round: ``a or b`` / ``a and b`` short-circuit on a constant (``det_repo or
#    pose_repo`` no longer mixes in the other input's repo); a choice whose value the node's
#    function hands on to a download static reading cannot follow is "cannot tell" for each
#    of its values (``fetches`` with ``dynamic`` targets, read back along the calls made).
# 8: issue 17, sixth round continued: what a node downloads whatever its values (into a place
#    comfylock fills) is recorded as ``always``; a value of a deciding input that downloads
#    nothing of its own maps to ``[]`` (it was "not one of them": "cannot tell").
# 9: ``always`` only names a file the reading with the inputs as they come names alike (a
#    download into a temporary directory, moved to a name a value makes, was taken for one).
SCANNER_VERSION = 9


class CoreFacts(NamedTuple):
    """ComfyUI's own facts the reader needs: ``folders`` (core folder key -> its directories
    relative to ``models/``), ``aliases`` (legacy folder names, ``clip`` -> ``text_encoders``)
    and ``inputs`` (core class -> its inputs in ``INPUT_TYPES`` order as ``(name, kind,
    folder, optional)``: kind ``link``, ``int`` or ``widget``; folder the key a model input
    lists; optional when in its optional section),
    for packs that subclass or copy ComfyUI's own loaders."""

    folders: dict[str, list[str]]
    aliases: dict[str, str]
    inputs: dict[str, tuple[tuple[str, str, str | None, bool], ...]] = {}
    classes: frozenset[str] = frozenset()  # every core class name (``nodes.X`` is ComfyUI's)
