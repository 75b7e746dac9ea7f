"""Checkpointer factories: SQLite file by default, memory for tests, Postgres for many workers.

``open_checkpointer`` is for Python and CLI runs. Under ``langgraph dev`` / LangGraph Server
the graph is exported without one and the server supplies its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver

from configs.settings import Settings, get_settings


class CheckpointError(RuntimeError):
    """The configured checkpoint store cannot be opened; the message names the fix."""


@contextmanager
def open_checkpointer(settings: Settings | None = None) -> Iterator[BaseCheckpointSaver[str]]:
    """Open the configured checkpointer for the duration of the block."""
    s = settings or get_settings()
    match s.checkpoint.backend:
        case "memory":
            from langgraph.checkpoint.memory import InMemorySaver

            yield InMemorySaver()
        case "sqlite":
            from langgraph.checkpoint.sqlite import SqliteSaver

            path = Path(s.checkpoint_path).expanduser()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(path), check_same_thread=False)
            except (OSError, sqlite3.Error) as exc:
                raise CheckpointError(
                    f"Cannot open the checkpoint file {path}: {exc}. Fix ANIMAGENT_DATA_DIR or "
                    "ANIMAGENT_CHECKPOINT__SQLITE_FILE."
                ) from exc
            try:
                saver = SqliteSaver(conn)
                saver.setup()
                yield saver
            finally:
                conn.close()
        case "postgres":
            if s.checkpoint.postgres_url is None:
                raise CheckpointError(
                    "checkpoint.backend is postgres: set ANIMAGENT_CHECKPOINT__POSTGRES_URL."
                )
            try:
                from langgraph.checkpoint.postgres import PostgresSaver
            except ImportError as exc:
                raise CheckpointError(
                    "Postgres checkpoints need `pip install '.[postgres]'`."
                ) from exc
            with PostgresSaver.from_conn_string(s.checkpoint.postgres_url.get_secret_value()) as pg:
                pg.setup()
                yield pg


def serde_allowlist() -> set[tuple[str, ...]]:
    """The types our checkpoints may deserialize: our domain models and chat messages."""
    import langchain_core.messages as lc_messages
    from pydantic import BaseModel

    from state import models

    allowed: set[tuple[str, ...]] = {
        (cls.__module__, cls.__name__)
        for cls in vars(models).values()
        if isinstance(cls, type)
        and issubclass(cls, BaseModel)
        and cls.__module__ == models.__name__
    }
    for name in lc_messages.__all__:
        cls = getattr(lc_messages, name, None)
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            allowed.add((cls.__module__, cls.__name__))
    return allowed


def with_allowlist(checkpointer: BaseCheckpointSaver[str]) -> BaseCheckpointSaver[str]:
    """A shallow copy of the saver whose serializer revives only ``serde_allowlist`` types.

    LangGraph's default serializer revives any type with a warning (to be blocked later);
    ``with_allowlist`` leaves a permissive serializer as it is, so we install a strict one.
    """
    import copy

    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    clone = copy.copy(checkpointer)
    clone.serde = JsonPlusSerializer(allowed_msgpack_modules=tuple(sorted(serde_allowlist())))
    return clone
