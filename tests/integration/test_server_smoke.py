"""`langgraph dev` serves our langgraph.json: what Studio reads, plus a paused and resumed run.

The server runs from the repository root (its paths and `.langgraph_api/` are relative to the
current directory; `.langgraph_api/` is gitignored). Its graph talks to a fake OpenAI-compatible
server on loopback (llm.provider=openai), so the run takes seconds; voices are real espeak-ng.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_openai import fake_openai_server

pytestmark = [pytest.mark.integration, pytest.mark.server]

ROOT = Path(__file__).resolve().parents[2]
NODES = {
    "understand",
    "clarify",
    "retrieve",
    "plan",
    "act",
    "gpu",
    "evaluate",
    "reflect",
    "respond",
}
ANSWER = "a short scene where Luca and Alberto talk on the beach at sunset"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, limit_s: float = 90) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"langgraph dev exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"langgraph dev not ready in {limit_s}s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A `langgraph dev` process on a free loopback port, stopped (process group) afterwards."""
    tmp = tmp_path_factory.mktemp("server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp / "server.log"
    with fake_openai_server() as (llm_url, llm_calls):
        env = {
            **os.environ,
            "LANGGRAPH_CLI_NO_ANALYTICS": "1",
            "LANGGRAPH_NO_VERSION_CHECK": "true",
            "LANGSMITH_TRACING": "false",
            "ANIMAGENT_OUTPUTS_DIR": str(tmp / "outputs"),
            "ANIMAGENT_DATA_DIR": str(tmp / "data"),
            "ANIMAGENT_LLM__PROVIDER": "openai",
            "ANIMAGENT_LLM__BASE_URL": llm_url,
            "ANIMAGENT_LLM__MODEL": "fake",
            "ANIMAGENT_KNOWLEDGE__ENABLED": "false",
            "OMP_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
        env.pop("ANIMAGENT_ALLOW_MODEL_REQUESTS", None)
        langgraph = Path(sys.executable).with_name("langgraph")
        cmd = [str(langgraph), "dev", "--no-browser", "--host", "127.0.0.1", "--port", str(port)]
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [*cmd, "--no-reload"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: we stop it and its workers
            )
        try:
            _wait_ready(url, proc, log)
            yield {"url": url, "outputs": tmp / "outputs", "llm_calls": llm_calls, "log": log}
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)


def test_studio_endpoints_describe_the_graph(server: dict[str, Any]) -> None:
    from langgraph_sdk import get_sync_client

    with get_sync_client(url=server["url"]) as client:
        _check_studio_endpoints(client)


def _check_studio_endpoints(client: Any) -> None:
    assistants = client.assistants.search(graph_id="animagent")
    assert assistants, "no assistant for graph 'animagent' (langgraph.json graphs)"
    assistant_id = assistants[0]["assistant_id"]

    drawn = client.assistants.get_graph(assistant_id, xray=True)
    assert NODES <= {n["id"] for n in drawn["nodes"]}
    edges = {(e["source"], e["target"]) for e in drawn["edges"]}
    assert ("clarify", "understand") in edges and ("respond", "__end__") in edges

    schemas = client.assistants.get_schemas(assistant_id)
    assert {"request", "messages"} <= set(schemas["input_schema"]["properties"])
    assert {"intent", "plan", "results", "final"} <= set(schemas["state_schema"]["properties"])
    context = schemas["context_schema"]["properties"]
    assert {"quality_threshold", "strategy", "proceed_on_guess"} <= set(context)
    assert context["quality_threshold"]["type"] == "number"


def test_run_pauses_at_clarify_and_resumes_to_the_final_report(server: dict[str, Any]) -> None:
    from langgraph_sdk import get_sync_client

    with get_sync_client(url=server["url"]) as client:
        _pause_and_resume(client, server)


def _pause_and_resume(client: Any, server: dict[str, Any]) -> None:
    thread_id = client.threads.create()["thread_id"]

    events = list(
        client.runs.stream(thread_id, "animagent", input={"request": "hmm"}, stream_mode="updates")
    )
    assert [e.event for e in events if e.event == "error"] == [], events
    interrupts = [e.data["__interrupt__"] for e in events if "__interrupt__" in (e.data or {})]
    assert interrupts, [e.data for e in events]
    paused = client.threads.get_state(thread_id)
    assert paused["next"] == ["clarify"]
    value = paused["interrupts"][0]["value"]
    assert value["request"] == "hmm" and value["question"].endswith("?")
    assert paused["values"].get("final") is None

    resumed = list(
        client.runs.stream(
            thread_id, "animagent", command={"resume": ANSWER}, stream_mode="updates"
        )
    )
    assert [e.data for e in resumed if e.event == "error"] == []
    ran = [next(iter(e.data)) for e in resumed if e.event == "updates"]
    assert ran[0] == "clarify" and ran[-1] == "respond"
    assert {"understand", "plan", "act", "evaluate", "reflect"} <= set(ran)

    done = client.threads.get_state(thread_id)
    assert done["next"] == []
    final = done["values"]["final"]
    assert ANSWER in final["request"]
    assert isinstance(final["not_done"], list)
    out_dir = Path(final["output_dir"])
    assert out_dir.is_relative_to(server["outputs"])
    wavs = [a["path"] for a in final["artifacts"] if a["path"].endswith(".wav")]
    assert any(p.startswith("voice/") for p in wavs), final["artifacts"]
    for rel in wavs:
        with wave.open(str(out_dir / rel)) as wav:
            assert wav.getnframes() > 0
    assert (out_dir / "manifest.json").is_file()
    assert "IntentDraft" in server["llm_calls"] and "Dialogue" in server["llm_calls"]

    history = client.threads.get_history(thread_id, limit=100)
    assert len(history) >= 10  # a checkpoint per superstep, across both runs
    assert any(h["next"] == ["clarify"] for h in history)
