"""sync/applytypes.py: what applying a plan takes and gives back; one failure per item, with
the exit code the CLI maps it to."""

from __future__ import annotations

import errno
import os

from comfylock.errors import IntegrityError, RemoteError
from comfylock.store.blobs import Store
from comfylock.sync.applytypes import ApplyContext, ApplyReport, Failure, failure_of, model_roots


def test_a_comfylock_error_keeps_its_message_hint_and_exit_code():
    exc = RemoteError("civitai answered 503", hint="try again later")
    assert failure_of("loras/a.safetensors", exc) == Failure(
        "loras/a.safetensors", "civitai answered 503", 3, "try again later"
    )
    assert failure_of("x", IntegrityError("wrong bytes")).exit_code == 4


def test_a_local_disk_error_is_exit_6_and_says_what_to_do():
    exc = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/store/tmp/x.part")
    failure = failure_of("loras/a.safetensors", exc)
    assert failure.exit_code == 6
    assert failure.error.startswith("disk full (/store/tmp/x.part); free some space")


def test_any_other_exception_is_exit_6_with_its_text_or_type():
    assert failure_of("x", ValueError("odd")) == Failure("x", "odd", 6)
    assert failure_of("x", ValueError()) == Failure("x", "ValueError", 6)


def test_an_empty_report_has_nothing_and_reports_are_values():
    report = ApplyReport()
    assert report.fetched == report.failures == report.from_remote == ()
    assert report.link_modes == {}
    assert ApplyReport(fetched=("a",)) == ApplyReport(fetched=("a",))


def test_model_roots_default_to_the_real_models_root(tmp_path):
    store = Store(tmp_path / "store")
    real = tmp_path / "disk" / "models"
    real.mkdir(parents=True)
    (tmp_path / "models").symlink_to(real)
    ctx = ApplyContext(store=store, lock_path="comfy.lock", models_root=tmp_path / "models")
    assert model_roots(ctx) == (str(real),)
    given = ApplyContext(store=store, lock_path="comfy.lock", roots=("/a", "/b"))
    assert model_roots(given) == ("/a", "/b")
    assert model_roots(ApplyContext(store=store, lock_path="comfy.lock")) == ()
