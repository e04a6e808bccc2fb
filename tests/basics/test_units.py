"""basics/units.py: sizes in binary units and counts with the right plural, the same everywhere."""

from __future__ import annotations

import pytest

from comfylock.basics.units import count, human_size


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (300_000, "293.0 KiB"),
        (2**20, "1.0 MiB"),
        (5 * 2**30, "5.0 GiB"),
        (3 * 2**40, "3.0 TiB"),
        (2**50, "1024.0 TiB"),  # the largest unit keeps counting
    ],
)
def test_human_size_uses_binary_units(n, text):
    assert human_size(n) == text


def test_human_size_never_says_decimal_units():
    for n in (999, 1000, 10**6, 10**9):
        assert not any(unit in human_size(n) for unit in (" kB", " MB", " GB"))


@pytest.mark.parametrize(
    ("n", "args", "text"),
    [
        (0, ("model",), "0 models"),
        (1, ("model",), "1 model"),
        (2, ("model",), "2 models"),
        (1, ("custom node class", "custom node classes"), "1 custom node class"),
        (3, ("custom node class", "custom node classes"), "3 custom node classes"),
    ],
)
def test_count_picks_the_plural(n, args, text):
    assert count(n, *args) == text
