"""Hypothesis settings shared by the property tests: bounded example counts keep `make test` fast."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
