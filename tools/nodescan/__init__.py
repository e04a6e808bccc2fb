"""Static reading of ComfyUI custom-node packs (``ast`` only; their code is never run).

``scan.scan_pack`` turns one pack's sources into its node classes, model inputs, registered
folders and Hugging Face download directories; ``gitread`` reads a pack from a git snapshot.
"""
