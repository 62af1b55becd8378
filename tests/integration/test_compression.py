"""Large answers go out gzip-compressed, as API Gateway's MinimumCompressionSize does, when the client accepts it."""

from __future__ import annotations

import gzip

import pytest

from devtools.apigw import compression_threshold
from tests.support import ApiClient, TenantHandle


@pytest.mark.parametrize("path", ["/docs", "/openapi.json"])
def test_large_public_answers_are_gzipped_for_a_client_that_accepts_it(api: ApiClient, path: str) -> None:
    plain = api.client.get(path)
    compressed = api.client.get(path, headers={"Accept-Encoding": "gzip, deflate"})

    assert plain.status_code == compressed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(compressed.get_data()) == plain.get_data()
    assert int(compressed.headers["Content-Length"]) == len(compressed.get_data()) < len(plain.get_data()) / 3


def test_a_client_that_refuses_gzip_gets_the_answer_as_it_is(api: ApiClient) -> None:
    answer = api.client.get("/openapi.json", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in answer.headers
    assert answer.get_data().startswith(b"{")


def test_answers_under_the_threshold_are_not_compressed(tenant: TenantHandle) -> None:
    answer = tenant.call("GET", "/v1/limits", headers={"Accept-Encoding": "gzip"})
    assert answer.status == 200
    assert len(answer.text.encode()) < (compression_threshold() or 0)
    assert "Content-Encoding" not in answer.headers
