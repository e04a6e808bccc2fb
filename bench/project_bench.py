"""Bench sections for the project commands: `check` of 500 workflows and `resolve` of 500
workflows against a fake Civitai that adds 50 ms to every request (SPEC §7)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from common import BIN, DATA, Row, best_of, verdict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fakes' request log is noise here

__all__ = ["section_check", "section_resolve"]

N_WORKFLOWS = 500
N_LORAS = 60


def _names() -> list[str]:
    return [f"style_{i:03d}.safetensors" for i in range(N_LORAS)]


def _project(root: Path) -> Path:
    """500 small API workflows, each naming a checkpoint and two of 60 LoRAs."""
    if (root / ".complete").exists():
        return root
    (root / "workflows").mkdir(parents=True, exist_ok=True)
    names = _names()
    for i in range(N_WORKFLOWS):
        graph = {
            "1": {
                "class_type": "CheckpointLoaderSimple",
                "inputs": {"ckpt_name": "base.safetensors"},
            },
            "2": {
                "class_type": "LoraLoader",
                "inputs": {"lora_name": names[i % N_LORAS], "model": ["1", 0]},
            },
            "3": {
                "class_type": "LoraLoader",
                "inputs": {"lora_name": names[(i * 7) % N_LORAS], "model": ["2", 0]},
            },
            "4": {"class_type": "KSampler", "inputs": {"seed": i, "steps": 20, "model": ["3", 0]}},
        }
        (root / "workflows" / f"w{i:03d}.json").write_text(json.dumps(graph))
    (root / ".complete").write_text("")
    return root


class _FakeCivitai:
    """A fake Civitai with 50 ms latency per request, on 127.0.0.1 (tests/support/fakes.py shapes)."""

    def __enter__(self):
        from tests.support.fakes import FakeCivitai, LoopbackServer, civitai_file, civitai_model

        self.srv = LoopbackServer().__enter__()
        fake = FakeCivitai(self.srv)
        for i, name in enumerate(["base.safetensors", *_names()]):
            sha = hashlib.sha256(name.encode()).hexdigest()
            kind = "Checkpoint" if name.startswith("base") else "LORA"
            fake.add(
                civitai_model(
                    1000 + i,
                    name.split(".")[0],
                    kind,
                    [
                        (
                            2000 + i,
                            "v1",
                            [civitai_file(3000 + i, name, size=4096 + i, sha256=sha, primary=True)],
                        )
                    ],
                )
            )
        handler = fake._handle

        def slow(request):
            time.sleep(0.05)
            return handler(request)

        self.srv.clear_all_handlers()
        self.srv.expect_request(re.compile(".*")).respond_with_handler(slow)
        return self

    @property
    def url(self) -> str:
        return self.srv.url_for("/").rstrip("/")

    def __exit__(self, *exc):
        self.srv.__exit__(*exc)


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CIVITAI_API_KEY", "HF_TOKEN")}
    env.update(extra)
    return env


def section_resolve() -> list[Row]:
    project = _project(DATA / "resolve500")
    exe = str(BIN / "comfylock")
    rows: list[Row] = []
    with _FakeCivitai() as fake:
        cache = DATA / "resolve500-cache"
        subprocess.run(["rm", "-rf", str(cache)], check=True)
        (project / "comfy.lock").unlink(missing_ok=True)
        env = _env({"COMFYLOCK_CIVITAI_URL": fake.url, "COMFYLOCK_CACHE_DIR": str(cache)})
        start = time.perf_counter()
        code = subprocess.run(
            [exe, "resolve"], cwd=project, env=env, capture_output=True
        ).returncode
        cold = time.perf_counter() - start
        requests = len(fake.srv.log)
        distinct = len({req.full_path for req, _ in fake.srv.log})
        sequential = requests * 0.05
        rows.append(
            Row(
                "resolve 500",
                f"resolve, cold cache, 50 ms/request ({N_LORAS + 1} distinct files)",
                f"{cold:.2f} s",
                f"{sequential / cold:.1f}x vs one-by-one",
                "each request once",
                verdict(code == 0 and requests == distinct),
                f"{requests} requests, {distinct} distinct",
            )
        )
        fake.srv.clear_log()
        (project / "comfy.lock").unlink()
        warm = best_of(
            3, lambda: subprocess.run([exe, "resolve"], cwd=project, env=env, capture_output=True)
        )
        rows.append(
            Row(
                "resolve 500",
                "resolve again, response cache warm",
                f"{warm:.2f} s",
                "",
                "",
                "",
                f"{len(fake.srv.log)} requests",
            )
        )
    return rows


def section_check() -> list[Row]:
    project = _project(DATA / "resolve500")
    exe = str(BIN / "comfylock")
    if not (project / "comfy.lock").exists():
        section_resolve()
    env = _env({"COMFYLOCK_CACHE_DIR": str(DATA / "resolve500-cache")})
    code = subprocess.run([exe, "check"], cwd=project, env=env, capture_output=True).returncode
    t = best_of(
        5, lambda: subprocess.run([exe, "check"], cwd=project, env=env, capture_output=True)
    )
    return [
        Row(
            "check 500",
            "comfylock check, 500 workflows (CLI start-up included)",
            f"{t * 1000:.0f} ms",
            "",
            "< 150 ms",
            verdict(t < 0.15 and code == 0),
            f"exit {code}",
        )
    ]
