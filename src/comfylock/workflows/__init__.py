"""Workflow files of any format -> model references and node classes.

Pure: the reader takes bytes; only discovery looks at directory names. The ComfyUI facts
tables (core loaders, folders, core classes) live here too.
"""

__all__: list[str] = []
