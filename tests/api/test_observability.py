"""/metrics in Prometheus format and /readyz by part, on a real server with a real assistant."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import of_type


def _samples(server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{server.http}/metrics", timeout=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


async def test_metrics_count_turns_stages_payments_errors_and_load(server, connect_client):
    before = _samples(server)
    assert before[("lui_live_sessions", ())] == 0
    client, _ = await connect_client(user="u_li", lang="zh")
    await client.say("我还有多少钱")
    request = of_type(await client.say("帮我把水费交了"), "confirm.request")[0]
    await client.send(type="confirm", confirmation_id=request["confirmation_id"], accept=True)
    await client.until_terminal()
    await client.send_raw("{not json")
    assert (await client.recv())["code"] == "bad-json"

    after = _samples(server)
    turns = {labels: v for (name, labels), v in after.items() if name == "lui_turns_total"}
    assert turns[(("intent", "check_balance"), ("outcome", "reply"), ("source", "router"))] == 1
    assert turns[(("intent", "pay_bill"), ("outcome", "reply"), ("source", "router"))] == 1
    assert after[("lui_payments_total", (("action", "prepare"), ("outcome", "ok")))] == 1
    assert after[("lui_payments_total", (("action", "confirm"), ("outcome", "ok")))] == 1
    assert after[("lui_errors_total", (("code", "bad-json"),))] == 1
    assert after[("lui_stage_ms_count", (("stage", "total"),))] == 3  # two text turns and the confirm
    assert after[("lui_stage_ms_count", (("stage", "understand"),))] == 2
    assert after[("lui_live_sessions", ())] == 1
    assert ("lui_pool_busy", (("pool", "db"),)) in after and ("lui_pool_saturated", (("pool", "router"),)) in after


def test_readyz_reports_parts_and_fails_without_a_database(server, assistant):
    ready = httpx.get(f"{server.http}/readyz", timeout=10)
    body = ready.json()
    assert ready.status_code == 200 and body["parts"]["database"] == "ok" and body["parts"]["router"] == "ok"
    # this test assistant has no service lookup: ready, but degraded, and it says which part
    assert body["status"] == "degraded" and body["degraded"] == ["vector_store"]
    assistant.conversations.engine = sa.create_engine("sqlite:////dev/null/lui.db")  # a folder that cannot exist
    down = httpx.get(f"{server.http}/readyz", timeout=10)
    assert down.status_code == 503 and down.json()["parts"]["database"].startswith("down")
    assert httpx.get(f"{server.http}/healthz", timeout=10).status_code == 200  # liveness is not readiness
