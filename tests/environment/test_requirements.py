"""The requirement-line policy (SPEC §9): what a pack's requirements.txt may say."""

from __future__ import annotations

import pytest

from comfylock.environment.requirements import (
    RefusedRequirement,
    parse_pyproject,
    parse_requirements,
)


def test_plain_lines_comments_continuations_and_hashes_are_read():
    text = (
        "# header\n"
        "numpy>=1.25  # inline comment\n"
        "opencv-python-headless \\\n"
        "  ==4.9.0.80\n"
        "torch; sys_platform != 'darwin'\n"
        "scipy==1.13.0 --hash=sha256:abc\n"
        "--pre\n"
        "\n"
    )
    reqs = parse_requirements(text, "pack-x")
    assert reqs.specs == (
        "numpy>=1.25",
        "opencv-python-headless ==4.9.0.80",
        "scipy==1.13.0",
        "torch; sys_platform != 'darwin'",
    )


def test_extra_index_url_is_lifted_not_refused():
    text = "--extra-index-url https://wheels.example.com/whl/cu128\ntorch\n"
    reqs = parse_requirements(text, "pack-x")
    assert reqs.indexes == ("https://wheels.example.com/whl/cu128",)
    assert reqs.specs == ("torch",)


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("-e git+https://github.com/o/r@" + "a" * 40 + "#egg=r", "editable"),
        ("--editable .", "editable"),
        ("-r ../../other/requirements.txt", "outside the pack"),
        ("-r /etc/requirements.txt", "outside the pack"),
        ("--find-links https://example.org/wheels", "outside any index"),
        ("-f ./wheels", "outside any index"),
        ("file:///tmp/x-1.0-py3-none-any.whl", "local file"),
        ("x @ file:///tmp/x-1.0-py3-none-any.whl", "local file"),
        ("./vendor/x", "local file"),
        ("git+https://github.com/o/r", "without a 40-hex commit"),
        ("git+https://github.com/o/r@main", "without a 40-hex commit"),
        ("x @ git+https://github.com/o/r@v1.2", "without a 40-hex commit"),
        ("-c constraints.txt", "constraints"),
        ("--unknown-option", "does not know"),
    ],
)
def test_refused_lines_name_the_pack_and_the_line(line, why):
    with pytest.raises(RefusedRequirement) as info:
        parse_requirements(f"numpy\n{line}\n", "pack-x")
    assert "node pack pack-x" in info.value.message
    assert why in info.value.message
    assert info.value.exit_code == 2


def test_git_url_with_a_commit_is_kept():
    line = "x @ git+https://github.com/o/r@" + "b" * 40
    assert parse_requirements(line, "p").specs == (line,)


def test_r_inside_the_pack_is_read_at_the_same_commit():
    files = {"reqs/base.txt": "pillow\n-r extra.txt\n", "reqs/extra.txt": "tqdm\n"}
    reqs = parse_requirements("-r reqs/base.txt\nnumpy\n", "p", read=files.get)
    assert reqs.specs == ("numpy", "pillow", "tqdm")


def test_r_naming_a_file_the_pack_lacks_is_refused():
    with pytest.raises(RefusedRequirement, match="does not have"):
        parse_requirements("-r missing.txt\n", "p", read=lambda path: None)


def test_pyproject_dependencies_and_none():
    deps = '[project]\nname = "p"\ndependencies = ["beta>=1,<2", "  gamma  "]\n'
    assert parse_pyproject(deps, "p").specs == ("beta>=1,<2", "gamma")
    assert parse_pyproject('[project]\nname = "p"\n', "p") is None
    assert parse_pyproject("[tool.comfy]\nPublisherId = 'x'\n", "p") is None
    with pytest.raises(RefusedRequirement, match="local file"):
        parse_pyproject('[project]\ndependencies = ["x @ file:///tmp/x"]\n', "p")
