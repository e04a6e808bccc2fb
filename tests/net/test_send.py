"""net/send.py: retries with backoff and ``Retry-After``, redirects decided hop by hop."""

from __future__ import annotations

import time

from comfylock.net.send import Retry, send


def test_backoff_grows_with_jitter_and_retry_after_is_capped():
    policy = Retry(backoff=0.5, max_backoff=30, rng=lambda: 1.0, max_retry_after=60)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert Retry(rng=lambda: 0.0).delay(1) == 0.25  # jitter never makes it zero
    assert policy.delay(1, "3600") == 60
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 3600))
    assert policy.delay(1, future) == 60
    past = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert policy.delay(1, past) == 0


def test_same_origin_redirects_followed_foreign_ones_returned(server, cdn, client):
    server.expect_request("/a").respond_with_data("", status=307, headers={"Location": "/b"})
    server.expect_request("/b").respond_with_data(
        "", status=302, headers={"Location": cdn.url_for("/c")}
    )
    response = send(client, "HEAD", server.url_for("/a"), follow="same-origin")
    assert response.status_code == 302 and cdn.log == []
