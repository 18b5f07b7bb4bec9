"""The data-plane driver against a transport double: routing, headers, answers, refusals."""

from __future__ import annotations

import json

import httpx
import pytest

from pytest_mc.drivers.dataplane import DataPlaneClient, statuses
from pytest_mc.errors import InputError, UnreachableError, UnsafeTargetError
from pytest_mc.target.profile import TargetProfile


def _profile(*, us_host: str = "127.0.0.1") -> TargetProfile:
    return TargetProfile.model_validate(
        {
            "name": "t",
            "environment": "staging",
            "allowed_hosts": ["127.0.0.1"],
            "glb_url": "http://127.0.0.1:1",
            "metrics": {"source": "prometheus", "prometheus_url": "http://127.0.0.1:2"},
            "regions": [
                {"id": "eu-a", "jurisdiction": "eu", "url": "http://127.0.0.1:10"},
                {"id": "eu-b", "jurisdiction": "eu"},
                {"id": "us-a", "jurisdiction": "us", "url": f"http://{us_host}:11"},
            ],
            "tenants": [
                {
                    "id": "T1",
                    "wave": "A",
                    "residency": "eu",
                    "regions": ["eu-a", "eu-b"],
                    "slo_baseline": {"availability": 0.999, "latency_p95_ms": 250},
                }
            ],
        }
    )


def _client(handler: httpx.MockTransport, **profile: str) -> DataPlaneClient:
    return DataPlaneClient(_profile(**profile), transport=handler)


def test_a_write_carries_purpose_and_op_id_and_reads_the_serving_region() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"data": {"key": "k", "version": 3, "idempotent_replay": True}, "region": "eu-a"}
        return httpx.Response(200, json=body, headers={"X-MC-Region": "eu-b"})

    with _client(httpx.MockTransport(handler)) as client:
        answer = client.put("T1", "k", "v", op_id="op-1")
    [request] = seen
    assert str(request.url) == "http://127.0.0.1:1/v1/tenants/T1/query"
    assert request.headers["X-MC-Purpose"] == "service"
    assert request.headers["Idempotency-Key"] == "op-1"
    assert json.loads(request.content) == {
        "id": "put_entity",
        "variables": {"key": "k", "value": "v"},
    }
    assert answer.ok
    assert answer.served_by == "eu-b"  # the GLB's header wins over the body
    assert answer.entity is not None
    assert (answer.entity.version, answer.entity.idempotent_replay) == (3, True)


def test_a_refusal_keeps_status_and_error_code() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert str(request.url).startswith("http://127.0.0.1:11/")
        return httpx.Response(451, json={"error": "residency_denied", "message": "no"})

    with _client(httpx.MockTransport(handler)) as client:
        answer = client.put("T1", "k", "v", via="us-a")
    assert (answer.status, answer.error, answer.ok) == (451, "residency_denied", False)
    assert answer.describe() == "451 residency_denied via us-a (served by none)"
    assert statuses([answer, answer]) == {"451 residency_denied": 2}


def test_an_adhoc_query_and_a_listing_are_read() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if "query" in body:
            return httpx.Response(403, json={"error": "persisted_only", "message": "x"})
        return httpx.Response(200, json={"data": {"keys": ["a", "b"]}, "region": "eu-a"})

    with _client(httpx.MockTransport(handler)) as client:
        assert client.adhoc("T1", "get a").error == "persisted_only"
        assert client.list_keys("T1").keys == ("a", "b")


def test_regions_outside_a_jurisdiction() -> None:
    assert DataPlaneClient(_profile()).regions_outside("eu") == ("us-a",)


def test_unknown_region_and_region_without_url_are_input_errors() -> None:
    client = DataPlaneClient(_profile())
    with pytest.raises(InputError, match="region 'mars' is not in the target profile"):
        client.base_url("mars")
    with pytest.raises(InputError, match="region 'eu-b' has no url"):
        client.base_url("eu-b")


def test_a_host_outside_allowed_hosts_is_refused() -> None:
    client = DataPlaneClient(_profile(us_host="10.0.0.9"))
    with pytest.raises(UnsafeTargetError, match=r"host '10\.0\.0\.9' is not in allowed_hosts"):
        client.put("T1", "k", "v", via="us-a")


def test_a_body_outside_the_contract_and_a_dead_target_are_unreachable_errors() -> None:
    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>")

    with (
        _client(httpx.MockTransport(garbage)) as client,
        pytest.raises(UnreachableError, match="outside the target contract"),
    ):
        client.get("T1", "k")

    def dead(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with (
        _client(httpx.MockTransport(dead)) as client,
        pytest.raises(UnreachableError, match="data plane of glb unreachable"),
    ):
        client.get("T1", "k")
