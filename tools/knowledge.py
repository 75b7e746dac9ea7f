"""Knowledge tools the planner can call, and the functions the nodes use to read and learn.

Tools: ``character_info``, ``style_guide``, ``similar_generations`` (category "knowledge";
each returns ``{"items": [{"text", "source", "score", ...}]}`` with relevance scores in 0..1).
Nodes: ``build_brief`` (retrieve), ``record_generation`` (respond writes successes back),
``ensure_seeded`` (the first run ingests configs/knowledge/).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

from langchain_core.tools import InjectedToolArg

from configs.settings import PACKAGE_DIR, Settings, get_settings
from services import knowledge_brief
from services.knowledge_base import (
    CHARACTERS,
    PAST,
    STYLES,
    KnowledgeBaseError,
    Record,
    check_server,
    dumps,
    get_knowledge_base,
    stable_id,
)
from state.models import Brief, Intent, KnowledgeItem, StepResult
from tools.registry import Availability, ToolContext, ToolRegistry, make_spec

SEED_DIR = PACKAGE_DIR / "knowledge"
SEED_FOLDERS = ("characters", "styles")
# Step arguments that name characters, so past generations can be filtered by character.
CHARACTER_ARGS = ("character", "characters", "speaker", "speakers")


def _settings(ctx: ToolContext | None) -> Settings:
    return ctx.settings if ctx is not None else get_settings()


def _items(found: list[KnowledgeItem]) -> dict[str, Any]:
    return {
        "items": [
            {
                "text": i.text,
                "source": i.source,
                "score": round(i.score, 4),
                "collection": i.collection,
                "id": i.metadata.get("id", ""),
            }
            for i in found
        ]
    }


def character_info(
    name: str,
    context: str = "",
    ctx: Annotated[ToolContext | None, InjectedToolArg] = None,
) -> dict[str, Any]:
    """Look up what the studio knows about a character: personality, appearance, voice.

    Args:
        name: The character's name, as in the request.
        context: What the information is for (e.g. "voice for a calm dialogue"), to pick the
            most useful notes.
        ctx: The run's context (injected, never shown to the model).
    """
    settings = _settings(ctx)
    kb = get_knowledge_base(settings)
    known = kb.metadata_values(CHARACTERS, "character")
    stored = knowledge_brief.resolve_character(name, known)
    found = kb.query(
        CHARACTERS,
        f"{name}: {context}".strip(),
        k=settings.agent.top_k,
        where={"character": stored},
    )
    return {**_items(found), "character": stored, "known": sorted(known)[:50]}


def style_guide(
    description: str,
    ctx: Annotated[ToolContext | None, InjectedToolArg] = None,
) -> dict[str, Any]:
    """Find the studio's style guides that match a described look (palette, lighting, staging).

    Args:
        description: The look or situation, e.g. "warm sunset on a beach".
        ctx: The run's context (injected, never shown to the model).
    """
    settings = _settings(ctx)
    found = get_knowledge_base(settings).query(STYLES, description, k=settings.agent.top_k)
    return _items(found)


def similar_generations(
    description: str,
    character: str = "",
    min_quality: float = 0.0,
    ctx: Annotated[ToolContext | None, InjectedToolArg] = None,
) -> dict[str, Any]:
    """Find past successful generations similar to a description, with their parameters.

    Args:
        description: What is being made, e.g. "two boys talking on a beach at sunset".
        character: Only generations featuring this character (empty: any).
        min_quality: Only generations that scored at least this (0..1).
        ctx: The run's context (injected, never shown to the model).
    """
    settings = _settings(ctx)
    clauses: list[dict[str, Any]] = []
    if character.strip():
        clauses.append({"characters": {"$contains": " ".join(character.lower().split())}})
    if min_quality > 0:
        clauses.append({"quality": {"$gte": float(min_quality)}})
    where = clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else None)
    found = get_knowledge_base(settings).query(
        PAST, description, k=settings.agent.top_k, where=where
    )
    out = _items(found)
    for row, item in zip(out["items"], found, strict=True):
        for key in ("tool", "params", "quality", "artifact_paths", "request"):
            row[key] = item.metadata.get(key)
    return out


def probe_knowledge(settings: Settings) -> Availability:
    """Available unless switched off, the server is down, or the embedding model is missing."""
    cfg = settings.knowledge
    if not cfg.enabled:
        return Availability(
            False,
            "knowledge base disabled: set knowledge.enabled: true (ANIMAGENT_KNOWLEDGE__ENABLED=1)",
        )
    try:
        if cfg.mode == "http":
            check_server(cfg.host, cfg.port, min(cfg.timeout_s, 2.0))
        if cfg.embedding_model_path is not None:
            if not (Path(cfg.embedding_model_path) / "modules.json").is_file():
                raise KnowledgeBaseError(
                    f"no embedding model at {cfg.embedding_model_path}: fix "
                    "knowledge.embedding_model_path or leave it empty for the packaged MiniLM"
                )
        else:
            from services.embeddings import EmbeddingModelError, default_model_path

            try:
                default_model_path()
            except EmbeddingModelError as exc:
                raise KnowledgeBaseError(str(exc)) from exc
    except KnowledgeBaseError as exc:
        return Availability(False, str(exc))
    return Availability(True)


def register(registry: ToolRegistry) -> None:
    """Add the three knowledge tools (light: they run beside other steps)."""
    for func in (character_info, style_guide, similar_generations):
        registry.add(
            make_spec(
                func,
                category="knowledge",
                est_seconds=0.1,
                model="all-MiniLM-L6-v2",
                outputs=("items",),
                produces={"items": "knowledge"},
                probe=probe_knowledge,
            )
        )


def build_brief(
    request: str, intent: Intent | None, *, top_k: int, settings: Settings | None = None
) -> Brief:
    """The retrieve node's brief: characters, styles and past successes, with sources named.

    Never raises for an empty store; raises KnowledgeBaseError only for real failures
    (unreachable server, missing embedding model).
    """
    return knowledge_brief.build_brief(request, intent, top_k=top_k, settings=settings)


past_parameters = knowledge_brief.past_parameters


def _characters(step: StepResult, request: str, known: set[str]) -> list[str]:
    names: list[str] = []
    for key in CHARACTER_ARGS:
        value = step.args.get(key)
        values = value if isinstance(value, list) else [value]
        names += [" ".join(str(v).lower().split()) for v in values if isinstance(v, str) and v]
    lowered = f" {' '.join(request.lower().split())} "
    names += [k for k in sorted(known) if any(f" {w} " in lowered for w in k.split())]
    return list(dict.fromkeys(n for n in names if n))


def record_generation(
    *,
    request: str,
    step: StepResult,
    score: float,
    run_dir: Path,
    settings: Settings | None = None,
    lessons: list[str] | None = None,
) -> str:
    """Write an accepted step result to past_generations so later runs can learn from it.

    ``lessons`` are the Reflexion critiques of the step's earlier attempts in this run.

    The id depends on the run folder, step and attempt, so recording again (a resumed run)
    updates the same record. Returns the id.
    """
    settings = settings or get_settings()
    kb = get_knowledge_base(settings)
    prompt = str(step.args.get("prompt") or step.args.get("text") or step.args.get("line") or "")
    text = "\n".join(p for p in (request, f"{step.tool}: {prompt}" if prompt else step.tool) if p)
    characters = _characters(step, request, kb.metadata_values(CHARACTERS, "character"))
    meta: dict[str, Any] = {
        "source": f"{PAST}/{Path(run_dir).name}/{step.step_id}",
        "kind": "generation",
        "tool": step.tool,
        "quality": max(0.0, min(1.0, float(score))),
        "created": time.time(),
        "request": request[:2000],
        "prompt": prompt[:2000],
        "params": dumps(step.args),
        "artifact_paths": dumps([str(Path(run_dir) / a.path) for a in step.artifacts]),
        "step_id": step.step_id,
        "attempt": step.attempt,
        "run_dir": str(run_dir),
    }
    if characters:
        meta["characters"] = characters
        meta["character"] = characters[0]
    if lessons:
        # Reflexion memory: what earlier attempts of this step learned, for later runs.
        meta["lessons"] = dumps(lessons[-3:])
    record_id = stable_id(Path(run_dir).resolve(), step.step_id, step.attempt)
    kb.upsert(PAST, [Record(record_id, text, meta, kb.embed([text])[0])])
    return record_id


def ensure_seeded(settings: Settings | None = None) -> int:
    """Ingest configs/knowledge/ once, when seeding is on and the store holds no knowledge.

    Returns the number of chunks added (0 when nothing had to be done).
    """
    from services.ingest import ingest_paths

    settings = settings or get_settings()
    cfg = settings.knowledge
    if not (cfg.enabled and cfg.seed_on_first_run):
        return 0
    kb = get_knowledge_base(settings)
    if kb.count(CHARACTERS) or kb.count(STYLES):
        return 0
    folders = [SEED_DIR / name for name in SEED_FOLDERS if (SEED_DIR / name).is_dir()]
    return ingest_paths(kb, folders).chunks if folders else 0
