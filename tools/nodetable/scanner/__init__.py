"""Static reading of ComfyUI custom-node packs (``ast`` only; their code is never run).

``scan.scan_pack`` turns one pack's sources into its node classes, model inputs, registered
folders and Hugging Face download directories; ``gitread`` reads a pack from a git snapshot.
"""

__all__ = ["SCANNER_VERSION"]

# Recorded in the generated tables. Bump it in any change that can change what scan_pack
# returns for the same sources (a new registration style read, a fact added or dropped): the
# same pack commits then give other facts, and the tables must say which reading they hold.
# 1: the scanner as of issue 15 (earlier readings were not numbered).
SCANNER_VERSION = 1
