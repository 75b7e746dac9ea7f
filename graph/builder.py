"""Wiring only: the nodes, the edges, the routes. ``graph`` is what langgraph.json exports."""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from graph import routes
from graph.persistence import with_allowlist
from nodes.act import act
from nodes.approve import approve
from nodes.clarify import clarify
from nodes.evaluate import evaluate
from nodes.gpu import gpu
from nodes.plan import plan
from nodes.reflect import reflect
from nodes.respond import respond
from nodes.retrieve import retrieve
from nodes.understand import understand
from state import Context, InputState, State, StepTask


def build_graph(
    checkpointer: BaseCheckpointSaver[str] | None = None,
) -> CompiledStateGraph[State, Context, InputState, State]:
    """Compile the director graph (with ``checkpointer`` for Python and CLI runs)."""
    builder = StateGraph(State, context_schema=Context, input_schema=InputState)
    builder.add_node("understand", understand)
    builder.add_node("clarify", clarify)
    builder.add_node("retrieve", retrieve)
    builder.add_node("plan", plan)
    builder.add_node("approve", approve)
    # act and gpu are Send targets: their input is one StepTask, not the whole State.
    builder.add_node("act", act, input_schema=StepTask)  # type: ignore[arg-type]
    builder.add_node("gpu", gpu, input_schema=StepTask)  # type: ignore[arg-type]
    builder.add_node("evaluate", evaluate)
    builder.add_node("reflect", reflect)
    builder.add_node("respond", respond)

    builder.add_edge(START, "understand")
    builder.add_conditional_edges(
        "understand", routes.route_after_understand, {"clarify": "clarify", "retrieve": "retrieve"}
    )
    builder.add_edge("clarify", "understand")
    builder.add_edge("retrieve", "plan")
    builder.add_conditional_edges(
        "plan", routes.route_after_plan, ["approve", "act", "gpu", "respond"]
    )
    builder.add_conditional_edges("approve", routes.route_after_approve, ["act", "gpu", "respond"])
    builder.add_edge("act", "evaluate")
    builder.add_edge("gpu", "evaluate")
    builder.add_edge("evaluate", "reflect")
    builder.add_conditional_edges(
        "reflect", routes.route_after_reflect, ["plan", "act", "gpu", "respond"]
    )
    builder.add_edge("respond", END)
    saver = with_allowlist(checkpointer) if checkpointer is not None else None
    return builder.compile(checkpointer=saver, name="animagent")


graph = build_graph()
"""The graph for langgraph.json: no checkpointer, the server supplies one."""
