"""The environment a workflow runs in (SPEC §9): the ComfyUI core and the Python packages of
ComfyUI and its node packs, locked with uv and installed into ComfyUI's interpreter.

A stage beside the models, in data-flow order:

* ``gitobjects``: read files of a repository at a commit from git's objects (never a
  checkout, never running a pack's code); the local mirrors that hold those objects;
* ``requirements``: a pack's ``requirements.txt`` / ``[project] dependencies`` through the
  line policy (what is refused, what is lifted) — pure;
* ``uvtool``: the real ``uv`` binary (compile to PEP 751 ``pylock.<name>.toml``, install,
  venv, what an interpreter has);
* ``conflicts``: which packs clash, found by resolving them one by one and in pairs;
* ``pin``: ``[comfyui]`` and ``[python]`` for the lock (the resolve side);
* ``interpreter``: which Python is ComfyUI's (``--python``, ``COMFYLOCK_PYTHON``, the root's
  ``.venv``/``venv``, ``VIRTUAL_ENV``; a Windows portable ``python_embeded`` recognised);
* ``steps``: the core and Python entries of a sync plan (pure), and ``survey``: what they
  are made from (the root's git state, the interpreter and its packages, the pylock);
* ``install``: the only code here that changes a machine (clone/checkout the core, create
  the venv, install and remove packages).
"""

__all__: list[str] = []
