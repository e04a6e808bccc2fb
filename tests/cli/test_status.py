"""``comfylock status``."""

from __future__ import annotations

import json


def test_json_is_indented_and_offered_where_output_is_data(world, run_cli):
    status = run_cli(*world["args"], "status", "--json")
    assert status.stdout.startswith("{\n  "), status.stdout[:40]
    cleared = run_cli("cache", "clear", "--json")
    assert cleared.exit_code == 0 and json.loads(cleared.stdout) == {"removed": 0}
