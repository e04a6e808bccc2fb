"""Test support shared by the suite, ``bench/`` and ``tools/demo.py``: loopback fakes of the
services, hand-written locks and worlds, real remotes on loopback, a read counter, paths."""
