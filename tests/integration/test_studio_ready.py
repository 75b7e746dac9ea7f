"""What LangGraph Studio shows, read from a real `langgraph dev` the way Studio reads it.

Studio is a hosted page (it cannot load offline); everything it draws comes from the local
server's ``/assistants/{id}/graph?xray=true`` and ``/assistants/{id}/schemas``, and its live
progress from the run's ``custom`` stream. This reads those endpoints over plain HTTP.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from test_server_smoke import ANSWER, server  # noqa: F401  (the module's langgraph dev fixture)

pytestmark = [pytest.mark.integration, pytest.mark.server]

NODES = {"understand", "clarify", "retrieve", "plan", "approve", "act", "gpu", "evaluate"}
NODES |= {"reflect", "respond"}
EDGES = {
    ("__start__", "understand"),
    ("understand", "clarify"),
    ("understand", "retrieve"),
    ("clarify", "understand"),
    ("retrieve", "plan"),
    ("plan", "approve"),
    ("plan", "act"),
    ("plan", "gpu"),
    ("approve", "gpu"),
    ("act", "evaluate"),
    ("gpu", "evaluate"),
    ("evaluate", "reflect"),
    ("reflect", "plan"),
    ("reflect", "act"),
    ("reflect", "respond"),
    ("respond", "__end__"),
}


def _assistant(url: str) -> str:
    found = httpx.post(f"{url}/assistants/search", json={"graph_id": "animagent"}, timeout=10)
    found.raise_for_status()
    assert found.json(), "no assistant for graph 'animagent' (langgraph.json graphs)"
    return str(found.json()[0]["assistant_id"])


def test_studio_graph_has_named_nodes_and_every_edge(server: dict[str, Any]) -> None:  # noqa: F811
    url = server["url"]
    drawn = httpx.get(f"{url}/assistants/{_assistant(url)}/graph", params={"xray": "true"})
    drawn.raise_for_status()
    nodes = {n["id"]: n for n in drawn.json()["nodes"]}
    assert set(nodes) == NODES | {"__start__", "__end__"}
    for name in NODES:  # Studio labels a node with its data name: the same clear word
        assert nodes[name]["data"]["name"] == name, nodes[name]
    edges = {(e["source"], e["target"]) for e in drawn.json()["edges"]}
    assert EDGES <= edges, EDGES - edges
    conditional = {
        (e["source"], e["target"]) for e in drawn.json()["edges"] if e.get("conditional")
    }
    assert ("understand", "clarify") in conditional and ("retrieve", "plan") not in conditional


def test_studio_forms_are_narrow_and_described(server: dict[str, Any]) -> None:  # noqa: F811
    url = server["url"]
    got = httpx.get(f"{url}/assistants/{_assistant(url)}/schemas", timeout=10)
    got.raise_for_status()
    schemas = got.json()
    inputs = schemas["input_schema"]["properties"]
    assert set(inputs) == {"request", "messages"}  # not the internal state
    context = schemas["context_schema"]["properties"]
    assert {"quality_threshold", "strategy", "approve_plan", "output_subdir"} <= set(context)
    undescribed = [k for k, v in {**inputs, **context}.items() if not v.get("description")]
    assert undescribed == []
    assert context["strategy"]["enum"] == [
        "auto",
        "plan_execute",
        "react",
        "cot",
        "tot",
        "reflexion",
    ]
    assert "final" in schemas["state_schema"]["properties"]


def test_run_streams_progress_with_node_step_and_fraction(server: dict[str, Any]) -> None:  # noqa: F811
    from langgraph_sdk import get_sync_client

    with get_sync_client(url=server["url"]) as client:
        thread = client.threads.create()["thread_id"]
        events = list(
            client.runs.stream(
                thread,
                "animagent",
                input={"request": ANSWER},
                context={"proceed_on_guess": True},
                stream_mode=["custom", "updates"],
            )
        )
    assert [e.data for e in events if e.event == "error"] == []
    progress = [e.data for e in events if e.event == "custom" and e.data.get("event") == "progress"]
    assert progress, [e.event for e in events]
    for item in progress:
        assert item["node"] in {"act", "gpu"} and item["step"] and item["tool"]
        assert 0.0 <= item["fraction"] <= 1.0
    voice = [p["fraction"] for p in progress if p["tool"] == "synthesize_voice"]
    assert voice == sorted(voice) and voice[-1] == 1.0
    ran = [next(iter(e.data)) for e in events if e.event == "updates"]
    assert ran[-1] == "respond"
