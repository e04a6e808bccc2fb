from comfylock import __version__


def test_version(run_cli):
    result = run_cli("--version")
    assert result.exit_code == 0
    assert __version__ in result.stdout


def test_unknown_option_is_usage_error(run_cli):
    result = run_cli("--no-such-flag")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_unknown_command_is_usage_error(run_cli):
    result = run_cli("frobnicate")
    assert result.exit_code == 2
