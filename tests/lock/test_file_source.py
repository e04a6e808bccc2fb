"""A lock's file sources (input files) are paths joined to a project or a ComfyUI root:
read, rendered and refused like any other untrusted path."""

from __future__ import annotations

import pytest

from comfylock.errors import LockfileError
from comfylock.lock import file as lockfile
from comfylock.lock.structs import FileSource

LOCK = """version = 1

[[model]]
folder = "input"
name = "a.png"
size = 1
sha256 = "{sha}"

[[model.source]]
type = "file"
path = "{path}"
{root}"""


def _lock(path="wf/a.png", root=""):
    return LOCK.format(sha="a" * 64, path=path, root=root)


def test_a_file_source_round_trips():
    text = lockfile.render(lockfile.loads(_lock(root='root = "comfyui"\n')))
    lock = lockfile.loads(text)
    assert lock.model[0].source == (FileSource(path="wf/a.png", root="comfyui"),)
    assert lockfile.render(lock) == text


@pytest.mark.parametrize(
    "path", ["../a.png", "/etc/passwd", "wf\\\\..\\\\a.png", "C:/a.png", "wf//a.png"]
)
def test_an_unsafe_file_source_is_refused(path):
    with pytest.raises(LockfileError) as exc:
        lockfile.loads(_lock(path=path))
    assert "file source" in str(exc.value) and exc.value.exit_code == 2


def test_an_unknown_root_is_refused():
    with pytest.raises(LockfileError):
        lockfile.loads(_lock(root='root = "home"\n'))
