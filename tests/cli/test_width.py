"""Every terminal line fits the width it is given (issue 19): `inspect` over every fixture,
`doctor`, `status`, `resolve`, `check` and `report` rendered at 80 columns; plain lines,
as long as they are, when no width is given (a log, a pipe)."""

from __future__ import annotations

import pytest

from tests.support.paths import FIXTURES, SHARED

WIDTH = "80"


def _wide(text: str) -> list[str]:
    return [line for line in text.splitlines() if len(line) > int(WIDTH)]


@pytest.mark.parametrize(
    "where", ["workflows", "templates", "demo/workflows", "broken"], ids=lambda w: w
)
def test_inspect_over_the_fixtures_fits_80_columns(run_cli, where):
    result = run_cli("inspect", str(FIXTURES / where), env={"COLUMNS": WIDTH})
    assert result.stdout, result
    assert not _wide(result.output), "\n".join(_wide(result.output))


def test_inspect_over_the_corpus_fits_80_columns(run_cli):
    corpus = SHARED / "corpus"
    if not corpus.is_dir():
        pytest.skip(f"no corpus at {corpus} (set COMFYLOCK_SHARED_DIR)")
    result = run_cli("inspect", str(corpus), env={"COLUMNS": WIDTH})
    assert result.stdout.count("\n") > 100, result
    assert not _wide(result.output), "\n".join(_wide(result.output)[:20])


def test_without_a_width_lines_are_plain(run_cli):
    """Not a terminal and no COLUMNS: a log gets each line whole, never re-wrapped."""
    result = run_cli("inspect", str(FIXTURES / "workflows"), env={"COLUMNS": ""})
    assert _wide(result.stdout), "the fixtures do have lines wider than 80"
    json_out = run_cli("inspect", "--json", str(FIXTURES / "workflows"), env={"COLUMNS": WIDTH})
    assert _wide(json_out.stdout), "data is never wrapped"


def test_doctor_status_resolve_check_and_report_fit_80_columns(world, run_cli, tmp_path):
    env = {"COLUMNS": WIDTH}
    args = ["--lock", str(world["lock"]), "--comfyui-root", str(world["root"])]
    other = tmp_path / "other.lock"
    other.write_text(world["lock"].read_text().replace("detail.safetensors", "detail2.safetensors"))
    for command in (
        ["du"],
        ["du", "--unused"],
        ["diff", str(other)],
        ["report", "--licenses"],
        ["check", "--deny-license", "cc-by-nc-*"],
        ["doctor"],
        ["status"],
        ["sync", "--dry-run"],
        ["check"],
        ["check", "--strict"],
        ["resolve", "--offline", "--check"],
        ["report", str(FIXTURES / "workflows")],
        ["why", "nothing-at-all.safetensors"],
        ["synk"],
        ["help"],
        ["sync", "--help"],
    ):
        result = run_cli(*args, *command, env=env)
        assert result.output, command
        assert not _wide(result.output), (command, _wide(result.output))
