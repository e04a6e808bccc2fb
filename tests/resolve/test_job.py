"""resolve/job.py: the resolve job against hostile answers: tokens never reach the lock, bad answers
end in exit 3, plain-http redirects are refused."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from werkzeug import Response

from tests.support.hostile import TOKEN
from tests.support.output import error_line as _error_line
from tests.support.output import one_line_error as _one_line_error


def test_net_tokens_in_workflow_urls_never_reach_the_lock_or_reports(
    origin, project, run_cli, tmp_path
):
    data = b"weights " * 500
    origin.expect_request("/files/canny.safetensors").respond_with_data(
        data, content_type="application/octet-stream"
    )
    url = origin.url_for("/files/canny.safetensors") + f"?type=Model&token={TOKEN}"
    proj = project(url)
    result = run_cli("resolve", "--fetch")
    assert result.exit_code == 0, result
    lock = (proj / "comfy.lock").read_text()
    assert TOKEN not in lock and "type=Model" in lock
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    for fmt in ("markdown", "json", "script"):
        report = run_cli(
            "--comfyui-root", str(root), "report", "--format", fmt, str(proj / "w.json")
        )
        assert TOKEN not in report.stdout + report.stderr, fmt
    inspect = run_cli("inspect", str(proj / "w.json"))
    assert TOKEN not in inspect.stdout + inspect.stderr


@pytest.mark.parametrize("what", ["corrupt-gzip", "redirect-loop"])
def test_net_bad_api_answers_end_in_exit_3(what, origin, project, run_cli):
    """Civitai's search answers with a corrupt gzip body, or redirects in a circle."""
    origin.clear_all_handlers()
    if what == "corrupt-gzip":
        origin.expect_request("/civitai/api/v1/models").respond_with_data(
            b"\x1f\x8b\x08\x00garbage-not-deflate" * 10,
            headers={"Content-Encoding": "gzip"},
            content_type="application/json",
        )
    else:
        origin.expect_request("/civitai/api/v1/models").respond_with_handler(
            lambda r: Response(status=302, headers={"Location": r.url})
        )
    project("")
    result = run_cli("resolve")
    assert result.exit_code == 3, result
    _error_line(result.stderr)


def test_net_api_redirect_to_plain_http_elsewhere_is_refused(origin, elsewhere, project, run_cli):
    """API clients obey the https-only rule on every hop too (SPEC §6)."""
    origin.clear_all_handlers()
    mapped = f"http://[::ffff:127.0.0.1]:{elsewhere.port}/api/v1/models"
    origin.expect_request("/civitai/api/v1/models").respond_with_handler(
        lambda r: Response(status=302, headers={"Location": mapped})
    )
    elsewhere.expect_request("/api/v1/models").respond_with_json({"items": [], "metadata": {}})
    project("")
    result = run_cli("resolve")
    assert result.exit_code == 2, result
    assert "refusing" in _error_line(result.stderr)
    assert elsewhere.log == []


def test_ctrl_c_during_resolve_exits_130_without_writing_the_lock(tmp_path):
    from tests.support.fakes import FakeCivitai, LoopbackServer

    project = tmp_path / "project"
    (project / "workflows").mkdir(parents=True)
    graph = {
        str(i): {"class_type": "LoraLoader", "inputs": {"lora_name": f"style_{i}.safetensors"}}
        for i in range(8)
    }
    (project / "workflows" / "w.json").write_text(json.dumps(graph))
    release, started = threading.Event(), threading.Event()
    with LoopbackServer() as srv:
        fake = FakeCivitai(srv)
        handler = fake._handle

        def slow(request):
            started.set()
            release.wait(60)  # hold every request until the test is done
            return handler(request)

        srv.clear_all_handlers()
        srv.expect_request(re.compile(".*")).respond_with_handler(slow)
        env = {
            **os.environ,
            "COMFYLOCK_CIVITAI_URL": srv.url_for("/").rstrip("/"),
            "HF_ENDPOINT": srv.url_for("/").rstrip("/"),
            "COMFYLOCK_REGISTRY_URL": srv.url_for("/").rstrip("/"),
            "COMFYLOCK_MODEL_LIST_URL": srv.url_for("/model-list.json"),
            "COMFYLOCK_NODE_MAP_URL": srv.url_for("/node-map.json"),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "comfylock", "resolve"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not started.wait(0.05) and proc.poll() is None and time.monotonic() < deadline:
                pass
            assert proc.poll() is None, proc.communicate()
            assert started.is_set(), "resolve never asked the fake anything"
            proc.send_signal(signal.SIGINT)
            try:
                out, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                pytest.fail(f"resolve did not stop on SIGINT while requests were held:\n{err}")
        finally:
            release.set()
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 130, (out, err)
    _one_line_error(err, "interrupted")
    assert not (project / "comfy.lock").exists()
