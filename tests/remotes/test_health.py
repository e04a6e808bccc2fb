"""remotes/health.py: does each configured remote answer (``doctor``)?"""

from __future__ import annotations

import os

from tests.support.remoteutil import BUCKET, forget_credentials, free_port
from tests.support.remoteutil import no_secret as _no_secret


def test_remote_health_says_which_remote_answers(world, s3, monkeypatch):
    from comfylock.project.loading import Project
    from comfylock.remotes.health import remote_health
    from comfylock.settings import make_settings

    def health_now():
        project = Project(make_settings(lock=str(world["lock"])))
        return remote_health(project.remote_specs, project.allow_http)

    dead = f"http://127.0.0.1:{free_port()}/m"
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"team=s3://{BUCKET}/p,cdn={dead}")
    health = health_now()
    assert [(h.name, h.ok) for h in health] == [("team", True), ("cdn", False)]
    assert "unreachable" in health[1].detail and health[0].push
    forget_credentials(monkeypatch)
    health = health_now()
    assert not health[0].ok and "AWS_ACCESS_KEY_ID" in health[0].fix
    _no_secret(repr(health))


def test_doctor_shows_each_remote_and_whether_it_answers(world, s3, run_cli, monkeypatch):
    import json

    dead = f"http://127.0.0.1:{free_port()}/m"
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"team=s3://{BUCKET}/p,cdn={dead}")
    result = run_cli(*world["args"], "doctor")
    assert result.exit_code == 1, result  # a remote that does not answer is a problem
    assert "remote team" in result.stdout and "remote cdn" in result.stdout
    data = json.loads(run_cli(*world["args"], "doctor", "--json").stdout)
    checks = {c["name"]: c for c in data["checks"]}
    assert checks["remote team"]["ok"] and not checks["remote cdn"]["ok"]
    if os.environ.get("AWS_SECRET_ACCESS_KEY"):  # keys in the environment, not a profile
        assert "AWS_SECRET_ACCESS_KEY" in checks["tokens"]["detail"].partition(";")[0]
    _no_secret(result.output, json.dumps(data))
