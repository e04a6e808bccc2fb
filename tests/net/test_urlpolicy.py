"""net/urlpolicy.py: the one https-only rule."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "value",
    [
        "https://a/b\nc",
        "https://a/b\x00c",
        "https://a/b\x1fc",
        "https://a/b\x7fc",
        "https://a\\b/x",
        "https://[::1/x",
        "https://a:99999/x",
        "https://[zz::1]/r",
    ],
)
def test_net_url_rules_raise_input_errors_for_malformed_values(value):
    """Whatever reaches the URL rule (workflow URLs at resolve, registry repos at ls-remote)
    gets exit 2 with a message, never a ValueError from the URL parser (exit 70)."""
    from comfylock.errors import InputError
    from comfylock.net.urlpolicy import check_repo, check_url

    for check in (check_url, check_repo):
        with pytest.raises(InputError):
            check(value)


def test_net_url_rules_keep_every_printable_character():
    """Only C0 controls and DEL are refused: a space, a percent escape or a non-ASCII
    letter in a path is the server's to judge."""
    from comfylock.net.urlpolicy import check_url

    for value in ("https://a/b c", "https://a/b%00c", "https://a/caf\u00e9~x"):
        assert check_url(value) == value
