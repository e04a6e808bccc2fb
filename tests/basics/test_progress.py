"""basics/progress.py: readable on a terminal and in a CI log."""

from __future__ import annotations

import io


def test_terminal_rows_fit_80_columns():
    from rich.console import Console

    from comfylock.basics.progress import RichProgress

    progress = RichProgress()
    progress._start()
    progress._progress.stop()
    update = progress.task("checkpoints/SDXL/juggernautXL_v9Rdphoto2Lightning.safetensors", 10**9)
    update(5 * 10**8)
    console = Console(width=80, file=io.StringIO(), force_terminal=True)
    table = progress._progress.make_tasks_table(progress._progress.tasks)
    lines = console.render_lines(table, console.options.update(width=80), pad=False)
    text = ["".join(seg.text for seg in line).rstrip() for line in lines]
    assert len(text) == 2, text  # one row per task: nothing wraps
    assert all(len(line) <= 80 for line in text), text
    assert any("476.8 MiB/953.7 MiB" in line for line in text), text


def test_plain_progress_counts_from_the_plan_and_prints_a_periodic_total():
    from comfylock.basics.progress import PlainProgress

    now = [0.0]
    out = io.StringIO()
    progress = PlainProgress(out, every=10.0, clock=lambda: now[0])
    progress.expect(3, 3 * 2**20)
    update = progress.task("loras/a.safetensors", 2**20)
    now[0] = 11.0
    update(2**19)
    now[0] = 12.0
    progress.finished("loras/a.safetensors", 2**20)
    lines = out.getvalue().splitlines()
    assert lines[0] == "  512.0 KiB of 3.0 MiB (16%), 46.5 KiB/s, 0 of 3 files done", lines
    assert lines[1].startswith("fetched loras/a.safetensors (1.0 MiB, ") and lines[1].endswith(
        "[1/3]"
    ), lines


def test_rows_keep_the_folder():
    """Issue 19: "…s/big_model_2.safetensors" could be any folder."""
    from comfylock.basics.progress import LABEL_WIDTH, _short

    for folder in ("loras", "checkpoints", "diffusion_models"):
        shown = _short(f"{folder}/some/deep/dir/big_model_2.safetensors")
        assert shown.startswith(f"{folder}/…") and shown.endswith("tensors"), shown
        assert len(shown) <= LABEL_WIDTH


def test_a_resumed_download_reports_only_the_bytes_fetched_now():
    from comfylock.basics.progress import PlainProgress

    now = [0.0]
    out = io.StringIO()
    progress = PlainProgress(out, clock=lambda: now[0])
    progress.task("loras/a.safetensors", 4 * 2**20, resumed=3 * 2**20)
    now[0] = 1.0
    progress.finished("loras/a.safetensors", 4 * 2**20)
    line = out.getvalue().splitlines()[0]
    assert line.startswith("fetched loras/a.safetensors (1.0 MiB, 1.0 MiB/s; resumed: 3.0 MiB"), (
        line
    )
