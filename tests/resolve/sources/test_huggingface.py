"""comfylock.resolve.sources.huggingface: URL parsing and HEAD pinning against a loopback hub."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comfylock.errors import AuthError, NotFoundError, UsageError
from comfylock.lock.structs import HuggingFaceSource
from comfylock.net.endpoints import Endpoints
from comfylock.net.httpcache import HttpCache
from comfylock.resolve.sources.huggingface import (
    HfClient,
    HfRef,
    canonical_url,
    parse_hf_spec,
    parse_hf_url,
    resolve_url,
)
from tests.support import fakes

COMMIT = "a" * 39 + "1"
OLD = "b" * 39 + "2"
REPO = "stabilityai/stable-diffusion-xl-base-1.0"
FILE = "sd_xl_base_1.0.safetensors"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"https://huggingface.co/{REPO}/resolve/main/{FILE}",
            HfRef(repo=REPO, revision="main", path=FILE),
        ),
        (
            f"https://huggingface.co/{REPO}/resolve/main/{FILE}?download=true",
            HfRef(repo=REPO, revision="main", path=FILE),
        ),
        (
            f"https://huggingface.co/{REPO}/blob/main/{FILE}",
            HfRef(repo=REPO, revision="main", path=FILE),
        ),
        (
            f"https://hf.co/{REPO}/raw/v1.0/unet/x.json#frag",
            HfRef(repo=REPO, revision="v1.0", path="unet/x.json"),
        ),
        (
            "https://huggingface.co/datasets/o/d/resolve/main/a/b.bin",
            HfRef(repo="o/d", revision="main", path="a/b.bin", repo_type="dataset"),
        ),
        (
            "https://huggingface.co/spaces/o/s/blob/main/app.py",
            HfRef(repo="o/s", revision="main", path="app.py", repo_type="space"),
        ),
        (
            "https://huggingface.co/o/r/resolve/refs%2Fpr%2F3/m.safetensors",
            HfRef(repo="o/r", revision="refs/pr/3", path="m.safetensors"),
        ),
        (
            "https://huggingface.co/o/r/resolve/refs/pr/3/m.safetensors",
            HfRef(repo="o/r", revision="refs/pr/3", path="m.safetensors"),
        ),
        (
            "https://huggingface.co/gpt2/resolve/main/config.json",
            HfRef(repo="gpt2", revision="main", path="config.json"),
        ),
        (
            "https://huggingface.co/o/r/resolve/main/with%20space.safetensors",
            HfRef(repo="o/r", revision="main", path="with space.safetensors"),
        ),
        (f"https://huggingface.co/{REPO}", None),
        (f"https://huggingface.co/{REPO}/tree/main", None),
        ("https://huggingface.co/o/r/resolve/main/../x", None),
        ("https://example.com/o/r/resolve/main/x.bin", None),
        ("ftp://huggingface.co/o/r/resolve/main/x.bin", None),
    ],
)
def test_parse_hf_url(url, expected):
    assert parse_hf_url(url) == expected


def test_parse_hf_url_on_a_mirror_endpoint(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:8080/hub")
    ref = parse_hf_url(f"http://127.0.0.1:8080/hub/{REPO}/blob/{COMMIT}/{FILE}?download=true")
    assert ref == HfRef(repo=REPO, revision=COMMIT, path=FILE)
    assert parse_hf_url("http://127.0.0.1:8080/other/o/r/resolve/main/x") is None
    assert parse_hf_url(f"https://huggingface.co/{REPO}/resolve/main/{FILE}") is not None


def test_resolve_url_quotes_revision():
    ref = HfRef(repo="o/r", revision="refs/pr/1", path="a b/c.bin", repo_type="dataset")
    assert (
        resolve_url(ref, "https://m.example/")
        == "https://m.example/datasets/o/r/resolve/refs%2Fpr%2F1/a%20b/c.bin"
    )


def test_parse_hf_spec():
    assert parse_hf_spec("hf:o/r@v2/sub/x.safetensors") == HfRef(
        repo="o/r", revision="v2", path="sub/x.safetensors"
    )
    assert parse_hf_spec("hf:o/r/x.bin").revision == "main"
    for bad in ("hf:o/x.bin", "hf:o/r/../x", "hf:/r/x"):
        with pytest.raises(UsageError):
            parse_hf_spec(bad)


@pytest.fixture
def hub(server, cdn, monkeypatch):
    fake = fakes.FakeHub(server, cdn, token="hf-right-token")
    monkeypatch.setenv("HF_ENDPOINT", fake.base_url)
    return fake


@pytest.fixture
def hf(hub, client, no_wait):
    return HfClient(client, Endpoints.from_env(), retry=no_wait)


def test_pin_lfs_file_to_commit_without_touching_the_cdn(hub, hf, cdn, server):
    info = hub.add_file(REPO, FILE, commit=COMMIT, content="the weights")
    pin = hf.pin(HfRef(repo=REPO, revision="main", path=FILE))
    assert pin.commit == COMMIT and pin.revision == "main"
    assert pin.sha256 == info["sha256"] and pin.size == info["size"]
    assert cdn.log == []
    request = server.log[0][0]
    assert request.method == "HEAD" and request.headers["Accept-Encoding"] == "identity"
    assert "Authorization" not in request.headers
    assert pin.to_source("url") == HuggingFaceSource(
        matched_by="url", repo=REPO, revision=COMMIT, path=FILE
    )
    assert canonical_url(pin) == f"https://huggingface.co/{REPO}/resolve/{COMMIT}/{FILE}"


def test_pin_from_a_blob_download_url(hub, hf, cdn):
    hub.add_file(REPO, FILE, commit=COMMIT, content="w")
    ref = parse_hf_url(f"https://huggingface.co/{REPO}/blob/main/{FILE}?download=true")
    assert hf.pin(ref).commit == COMMIT
    assert cdn.log == []


def test_pin_regular_git_file_has_no_sha256_but_a_size(hub, hf):
    hub.add_file("o/r", "config.json", commit=COMMIT, content='{"a": 1}', lfs=False)
    pin = hf.pin(HfRef(repo="o/r", revision="main", path="config.json"))
    assert pin.commit == COMMIT
    assert pin.sha256 is None  # the ETag is a git sha1, not a sha256
    assert pin.size == len('{"a": 1}')


def test_redirect_without_linked_size_has_no_size(hub, hf):
    hub.add_file("o/r", "m.bin", commit=COMMIT, content="weights", linked_size=False)
    pin = hf.pin(HfRef(repo="o/r", revision="main", path="m.bin"))
    assert pin.size is None and pin.sha256  # never the redirect's own Content-Length


def test_etag_used_only_when_it_is_a_sha256(hub, hf):
    info = hub.add_file(
        "o/r", "direct.bin", commit=COMMIT, content="weights", lfs=False, etag_is_sha256=True
    )
    pin = hf.pin(HfRef(repo="o/r", revision="main", path="direct.bin"))
    assert pin.sha256 == info["sha256"] and pin.size == info["size"]


def test_pin_by_commit_and_pr_ref(hub, hf):
    hub.add_file("o/r", "m.bin", commit=OLD, content="old", refs=("refs/pr/1",))
    assert hf.pin(HfRef(repo="o/r", revision="refs/pr/1", path="m.bin")).commit == OLD
    assert hf.pin(HfRef(repo="o/r", revision=OLD, path="m.bin")).commit == OLD


def test_renamed_repo_redirect_on_the_hub_is_followed(hub, hf, cdn):
    hub.add_file("new/name", FILE, commit=COMMIT, content="w")
    hub.renamed["old/name"] = "new/name"
    pin = hf.pin(HfRef(repo="old/name", revision="main", path=FILE))
    assert pin.commit == COMMIT and pin.repo == "old/name"
    assert cdn.log == []


@pytest.mark.parametrize(
    ("ref", "code"),
    [
        (HfRef(repo="no/such", revision="main", path=FILE), "RepoNotFound"),
        (HfRef(repo=REPO, revision="nope", path=FILE), "RevisionNotFound"),
        (HfRef(repo=REPO, revision="main", path="missing.bin"), "EntryNotFound"),
    ],
)
def test_not_found_codes(hub, hf, ref, code):
    hub.add_file(REPO, FILE, commit=COMMIT, content="w")
    with pytest.raises(NotFoundError, match=code) as info:
        hf.pin(ref)
    assert info.value.exit_code == 3


def test_gated_repo_is_auth_error_naming_hf_token(hub, hf, monkeypatch):
    hub.add_file("gated/model", FILE, commit=COMMIT, content="w")
    hub.gated.add("gated/model")
    ref = HfRef(repo="gated/model", revision="main", path=FILE)
    with pytest.raises(AuthError) as info:
        hf.pin(ref)
    assert "HF_TOKEN" in str(info.value) and "GatedRepo" in str(info.value)
    monkeypatch.setenv("HF_TOKEN", "hf-right-token")
    assert hf.pin(ref).commit == COMMIT
    assert "hf-right-token" not in repr(hf)


def test_hf_token_is_not_sent_to_the_cdn_or_civitai(hub, hf, cdn, server, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf-right-token")
    hub.add_file(REPO, FILE, commit=COMMIT, content="w")
    hf.pin(HfRef(repo=REPO, revision="main", path=FILE))
    assert server.log[0][0].headers["Authorization"] == "Bearer hf-right-token"
    assert cdn.log == []


def test_pin_is_cached_and_refresh_asks_again(hub, client, server, tmp_path, no_wait):
    hub.add_file(REPO, FILE, commit=COMMIT, content="w")
    ref = HfRef(repo=REPO, revision="main", path=FILE)
    with HttpCache(tmp_path / "http.sqlite") as cache:
        first = HfClient(client, cache=cache, retry=no_wait).pin(ref)
        assert HfClient(client, cache=cache, retry=no_wait).pin(ref) == first
        assert len(server.log) == 1
        assert HfClient(client, cache=cache, retry=no_wait, refresh=True).pin(ref) == first
        assert len(server.log) == 2


def test_not_a_hub(server, client, monkeypatch, no_wait):
    server.expect_request(fakes.ALL).respond_with_data("hello", status=200)
    monkeypatch.setenv("HF_ENDPOINT", server.url_for("/").rstrip("/"))
    with pytest.raises(Exception, match="X-Repo-Commit"):
        HfClient(client, retry=no_wait).pin(HfRef(repo="o/r", path="x"))


_segment = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,15}", fullmatch=True).filter(
    lambda s: s not in (".", "..")
)
_path_part = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/?#%\\"),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", "..") and s.strip() == s)


@settings(max_examples=100, deadline=None)
@given(
    owner=_segment,
    name=_segment,
    revision=st.one_of(st.sampled_from(["main", "v1.0", "refs/pr/12", "a" * 40]), _segment),
    parts=st.lists(_path_part, min_size=1, max_size=3),
    repo_type=st.sampled_from(["model", "dataset", "space"]),
    endpoint=st.sampled_from(["https://huggingface.co", "http://127.0.0.1:9/hub"]),
)
def test_resolve_url_round_trips_through_parse(owner, name, revision, parts, repo_type, endpoint):
    ref = HfRef(
        repo=f"{owner}/{name}", revision=revision, path="/".join(parts), repo_type=repo_type
    )
    assert parse_hf_url(resolve_url(ref, endpoint), endpoint=endpoint) == ref


# --- redirects: the first response carrying X-Repo-Commit gives the pin ---------------------


@pytest.mark.parametrize("mode", ["same-origin", "relative"])
def test_mirror_redirecting_to_its_own_origin_pins_from_the_first_response(
    server, cdn, client, no_wait, monkeypatch, mode
):
    hub = fakes.FakeHub(server, cdn, lfs_redirect=mode)
    monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
    info = hub.add_file(REPO, FILE, commit=COMMIT, content="mirrored weights")
    pin = HfClient(client, Endpoints.from_env(), retry=no_wait).pin(
        HfRef(repo=REPO, revision="main", path=FILE)
    )
    assert (pin.commit, pin.sha256, pin.size) == (COMMIT, info["sha256"], info["size"])
    assert [r.path for r, _ in server.log] == [f"/{REPO}/resolve/main/{FILE}"], (
        "the file itself is never asked for"
    )
    assert cdn.log == []


def test_redirect_without_repo_commit_to_another_origin_is_not_followed(
    server, cdn, client, no_wait, monkeypatch
):
    server.expect_request(fakes.ALL).respond_with_data(
        "", status=302, headers={"Location": cdn.url_for("/elsewhere")}
    )
    cdn.expect_request(fakes.ALL).respond_with_data(
        "", status=200, headers={"X-Repo-Commit": COMMIT}
    )
    monkeypatch.setenv("HF_ENDPOINT", server.url_for("/").rstrip("/"))
    with pytest.raises(Exception, match="X-Repo-Commit"):
        HfClient(client, retry=no_wait).pin(HfRef(repo="o/r", path="x"))
    assert cdn.log == []


# --- history: commits and trees --------------------------------------------------------------


def _history(hub, contents: list[str], path: str = "split/vae/ae.safetensors") -> list[str]:
    commits = [f"{i:040x}" for i in range(1, len(contents) + 1)]
    for commit, content in zip(commits, contents):
        hub.add_file(REPO, path, commit=commit, content=content)
        hub.add_file(REPO, f"other-{commit[-4:]}.txt", commit=commit, content="x", lfs=False)
    return commits


def test_list_commits_pages_newest_first_and_stops_at_the_limit(hub, hf, server):
    hub.page_size = 2
    commits = _history(hub, [f"v{i}" for i in range(7)])
    listed = hf.list_commits(REPO, "main", limit=5)
    assert [c.id for c in listed] == list(reversed(commits))[:5]
    pages = [r for r, _ in server.log if "/commits/" in r.path]
    assert len(pages) == 3, "pages are followed through the Link header, and no further"


def test_tree_entries_carry_the_lfs_sha256(hub, hf):
    commits = _history(hub, ["old bytes", "new bytes"])
    (entry,) = hf.tree_entries(REPO, commits[0], "split/vae")
    assert entry.path == "split/vae/ae.safetensors" and entry.sha256 == fakes.sha("old bytes")
    assert entry.lfs.size == len("old bytes")
    assert hf.tree_entries(REPO, commits[0], "no/such/dir") == []


def test_find_revision_finds_the_declared_bytes_in_history(hub, hf):
    commits = _history(hub, ["declared bytes", "newer bytes", "newest bytes"])
    ref = HfRef(repo=REPO, revision="main", path="split/vae/ae.safetensors")
    assert hf.pin(ref).sha256 == fakes.sha("newest bytes")
    found, looked = hf.find_revision(ref, fakes.sha("declared bytes"))
    assert found is not None and found.commit == commits[0]
    assert (found.sha256, found.size) == (fakes.sha("declared bytes"), len("declared bytes"))
    assert looked == 3
    assert hf.find_revision(ref, fakes.sha("never uploaded")) == (None, 3)


def test_find_revision_is_bounded_and_cached(hub, client, server, tmp_path, no_wait):
    hub.page_size = 3
    _history(hub, ["declared bytes", *(f"v{i}" for i in range(12))])
    ref = HfRef(repo=REPO, revision="main", path="split/vae/ae.safetensors")
    with HttpCache(tmp_path / "http.sqlite") as cache:
        hf = HfClient(client, cache=cache, retry=no_wait)
        assert hf.find_revision(ref, fakes.sha("declared bytes"), limit=5) == (None, 5)
        trees = [r for r, _ in server.log if "/tree/" in r.path]
        assert len(trees) == 5, "at most `limit` commits are looked at"
        asked = len(server.log)
        assert hf.find_revision(ref, fakes.sha("declared bytes"), limit=5) == (None, 5)
        assert len(server.log) == asked, "the second search is answered by the cache"
