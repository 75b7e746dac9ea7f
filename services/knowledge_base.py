"""The studio's memory: three Chroma collections searched with all-MiniLM-L6-v2 vectors.

Raw ``chromadb`` with vectors computed here (docs/decisions/0005-knowledge-base.md): every
collection is created with ``embedding_function=None`` and cosine space, every write passes
``embeddings=`` and every query ``query_embeddings=``, so Chroma's downloading default never
runs. Embedded mode keeps a ``PersistentClient`` folder under the data directory; ``mode:
http`` talks to a Chroma server (``chroma run``) through ``chromadb.HttpClient``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from configs.settings import Settings, get_settings
from services.embeddings import Embedder, EmbeddingModelError, get_embedder
from state.models import KnowledgeItem

CHARACTERS = "character_knowledge"
STYLES = "style_guides"
PAST = "past_generations"
COLLECTIONS = (CHARACTERS, STYLES, PAST)
# Web answers offered to the studio (services/web_offers.py); retrieval reads accepted ones only.
WEB_NOTES = "web_notes"
SPACE = "cosine"


class KnowledgeBaseError(RuntimeError):
    """The knowledge base cannot do what was asked; the message says why and what fixes it."""


def relevance(distance: float, space: str = SPACE) -> float:
    """A Chroma distance turned into a relevance in 0..1 (1 = same meaning, 0 = unrelated).

    The vectors are unit length, so every space reduces to the cosine similarity: cosine
    distance is ``1 - cos``, squared L2 is ``2 - 2 cos``, inner product distance is
    ``1 - dot``. Negative similarity (opposed meaning) is as useless as none, so it clamps to 0.
    """
    match space:
        case "l2":
            similarity = 1.0 - distance / 2.0
        case "cosine" | "ip":
            similarity = 1.0 - distance
        case _:
            raise ValueError(f"unknown Chroma distance space {space!r}")
    return min(1.0, max(0.0, similarity))


def stable_id(*parts: object) -> str:
    """A short id that depends only on ``parts`` (so re-ingesting updates, never duplicates)."""
    return hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Record:
    """One text ready to store: id, text, metadata and its vector."""

    id: str
    text: str
    metadata: dict[str, Any]
    embedding: list[float]


def _chroma_error(exc: Exception, what: str) -> KnowledgeBaseError:
    return KnowledgeBaseError(f"Chroma refused to {what}: {exc}")


class KnowledgeBase:
    """Store and search the studio's knowledge (thread-safe for concurrent readers)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        client: Any = None,
        embedder: Embedder | None = None,
    ) -> None:
        """Connect lazily: nothing heavy happens until the first read or write.

        Args:
            settings: Where the store is and how to reach it (default: the process settings).
            client: A ready chromadb client (tests); otherwise built from the settings.
            embedder: A ready embedder (tests, benchmarks); otherwise the packaged MiniLM.
        """
        self.settings = settings or get_settings()
        self._client = client
        self._embedder = embedder
        self._collections: dict[str, Any] = {}
        self._lock = threading.RLock()

    # -- connections -------------------------------------------------------------------

    @property
    def location(self) -> str:
        """Where the store lives, for messages."""
        cfg = self.settings.knowledge
        if cfg.mode == "http":
            return f"Chroma server http://{cfg.host}:{cfg.port}"
        return f"Chroma folder {self.settings.data_dir / cfg.chroma_dir}"

    @property
    def client(self) -> Any:
        """The chromadb client (embedded folder or HTTP server), created once."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        cfg = self.settings.knowledge
        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if cfg.mode == "http":
            check_server(cfg.host, cfg.port, cfg.timeout_s)
            try:
                client = chromadb.HttpClient(host=cfg.host, port=cfg.port, settings=chroma_settings)
            except Exception as exc:
                raise KnowledgeBaseError(unreachable_message(cfg.host, cfg.port, exc)) from exc
            # chromadb's HTTP session waits forever (timeout=None): a server that stops answering
            # mid-run would hang the run. Bound every request; a slow query gets 6x the connect.
            session = getattr(getattr(client, "_server", None), "_session", None)
            if session is not None:
                import httpx

                session.timeout = httpx.Timeout(cfg.timeout_s * 6, connect=cfg.timeout_s)
            return client
        path = self.settings.data_dir / cfg.chroma_dir
        try:
            path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except Exception as exc:
            raise KnowledgeBaseError(
                f"Cannot open the knowledge base folder {path}: {exc}. Check that it is writable, "
                "or set data_dir / knowledge.chroma_dir (ANIMAGENT_KNOWLEDGE__CHROMA_DIR)."
            ) from exc

    def close(self) -> None:
        """Release the client (HTTP connections, SQLite handles); the next use reconnects."""
        with self._lock:
            client, self._client = self._client, None
            self._collections.clear()
        if client is None or not hasattr(client, "close"):
            return
        # chromadb 1.5.9 stops the shared System on the last close but leaves HTTP connection
        # pools open (ResourceWarning): the client's own, and the one of the private System its
        # AdminClient built from the same settings. Close them once no other client shares them.
        from chromadb.api.shared_system_client import SharedSystemClient

        admin = getattr(client, "_admin_client", None)
        admin_session = getattr(getattr(admin, "_server", None), "_session", None)
        main_session = getattr(getattr(client, "_server", None), "_session", None)
        client.close()
        if admin_session is not None and admin_session is not main_session:
            admin_session.close()
        if main_session is not None:
            if getattr(client, "_identifier", None) not in SharedSystemClient._identifier_to_system:
                main_session.close()

    @property
    def embedder(self) -> Embedder:
        """The sentence embedder (loaded at its first use)."""
        if self._embedder is None:
            cfg = self.settings.knowledge
            try:
                self._embedder = get_embedder(cfg.embedding_model_path, cfg.embedding_threads)
            except EmbeddingModelError as exc:
                raise KnowledgeBaseError(str(exc)) from exc
        return self._embedder

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors for ``texts``; a missing model raises KnowledgeBaseError naming the fix."""
        try:
            return self.embedder.embed(texts)
        except EmbeddingModelError as exc:
            raise KnowledgeBaseError(str(exc)) from exc

    def collection(self, name: str) -> Any:
        """The collection ``name``, created (cosine space, no embedding function) if missing."""
        with self._lock:
            if name not in self._collections:
                try:
                    self._collections[name] = self.client.get_or_create_collection(
                        name,
                        embedding_function=None,
                        configuration={"hnsw": {"space": SPACE}},
                        metadata={
                            "animagent": "knowledge",
                            "embedding": "all-MiniLM-L6-v2",
                            "space": SPACE,
                        },
                    )
                except KnowledgeBaseError:
                    raise
                except Exception as exc:
                    if "name" not in str(exc).lower():
                        raise _chroma_error(
                            exc, f"open collection {name!r} ({self.location})"
                        ) from exc
                    raise KnowledgeBaseError(
                        f"Chroma refused the collection name {name!r}: {exc}. Use 3-512 "
                        "characters from a-z, A-Z, 0-9, '.', '_', '-', starting and ending with a "
                        f"letter or digit (the built-in collections are {', '.join(COLLECTIONS)})."
                    ) from exc
            return self._collections[name]

    def _space(self, col: Any) -> str:
        # Our collections name their space in their metadata; for one made elsewhere, read
        # the raw configuration (the parsed ``col.configuration`` warns about legacy configs).
        meta = getattr(col, "metadata", None) or {}
        if meta.get("space"):
            return str(meta["space"])
        raw = getattr(getattr(col, "_model", None), "configuration_json", None) or {}
        hnsw = raw.get("hnsw") if isinstance(raw, Mapping) else None
        space = hnsw.get("space") if isinstance(hnsw, Mapping) else None
        return str(space or "l2")

    # -- writes ------------------------------------------------------------------------

    def _batch(self) -> int:
        try:
            return max(1, int(self.client.get_max_batch_size()) - 1)
        except Exception:
            return 1000

    def upsert(self, name: str, records: Sequence[Record]) -> None:
        """Insert or replace ``records`` in batches below Chroma's maximum batch size."""
        col = self.collection(name)
        step = self._batch()
        for start in range(0, len(records), step):
            part = records[start : start + step]
            try:
                col.upsert(
                    ids=[r.id for r in part],
                    documents=[r.text for r in part],
                    metadatas=[r.metadata for r in part],
                    embeddings=[r.embedding for r in part],
                )
            except Exception as exc:
                raise _chroma_error(exc, f"write {len(part)} record(s) to {name!r}") from exc

    def snapshot(self, name: str, where: dict[str, Any]) -> list[Record]:
        """Every stored record matching ``where`` (with vectors), to restore after a failure."""
        col = self.collection(name)
        got = col.get(where=where, include=["documents", "metadatas", "embeddings"])
        embeddings = got.get("embeddings")
        return [
            Record(
                id=got["ids"][i],
                text=(got.get("documents") or [""] * len(got["ids"]))[i] or "",
                metadata=dict((got.get("metadatas") or [{}] * len(got["ids"]))[i] or {}),
                embedding=[float(x) for x in embeddings[i]] if embeddings is not None else [],
            )
            for i in range(len(got["ids"]))
        ]

    def delete(self, name: str, ids: Sequence[str]) -> None:
        """Delete these ids from ``name`` (missing ids are ignored)."""
        if ids:
            try:
                self.collection(name).delete(ids=list(ids))
            except Exception as exc:
                raise _chroma_error(exc, f"delete from {name!r}") from exc

    def replace_source(self, name: str, source: str, records: Sequence[Record]) -> int:
        """Make ``records`` the only stored chunks of ``source``, all or nothing.

        New chunks are upserted, then chunks of the same source that the new version no longer
        has are deleted (in every collection, in case the file moved to another one). If any
        write fails, the previous chunks are put back and the new ones removed.

        Returns:
            How many stale chunks were removed.
        """
        where = {"source": source}
        names = [name, *[c for c in COLLECTIONS if c != name and c != PAST]]
        before = {n: self.snapshot(n, where) for n in names}
        keep = {r.id for r in records}
        stale = {
            n: [r.id for r in recs if n != name or r.id not in keep] for n, recs in before.items()
        }
        try:
            self.upsert(name, records)
            for n, ids in stale.items():
                self.delete(n, ids)
        except KnowledgeBaseError:
            self._restore(name, records, before)
            raise
        return sum(len(ids) for ids in stale.values())

    def _restore(
        self, name: str, written: Sequence[Record], before: dict[str, list[Record]]
    ) -> None:
        try:
            previous = {r.id for r in before.get(name, [])}
            self.delete(name, [r.id for r in written if r.id not in previous])
            for n, recs in before.items():
                if recs:
                    self.upsert(n, recs)
        except KnowledgeBaseError:
            pass  # the original error is the one to report; this was a best effort

    # -- reads -------------------------------------------------------------------------

    def count(self, name: str) -> int:
        """How many records ``name`` holds."""
        try:
            return int(self.collection(name).count())
        except KnowledgeBaseError:
            raise
        except Exception as exc:
            raise _chroma_error(exc, f"count {name!r}") from exc

    def counts(self) -> dict[str, int]:
        """Records per built-in collection."""
        return {name: self.count(name) for name in COLLECTIONS}

    def query(
        self,
        name: str,
        text: str,
        *,
        k: int = 4,
        where: dict[str, Any] | None = None,
        embedding: list[float] | None = None,
    ) -> list[KnowledgeItem]:
        """The ``k`` records of ``name`` closest in meaning to ``text``, best first.

        Returns an empty list for an empty collection. ``score`` is the relevance in 0..1.
        """
        col = self.collection(name)
        if self.count(name) == 0:
            return []
        vector = embedding if embedding is not None else self.embed([text])[0]
        try:
            res = col.query(
                query_embeddings=[vector],
                n_results=k,
                where=where or None,
                include=["documents", "metadatas", "distances"],
            )
        except Exception as exc:
            raise _chroma_error(exc, f"search {name!r}") from exc
        space = self._space(col)
        ids = res["ids"][0]
        docs = (res.get("documents") or [[]])[0]
        metas = (res.get("metadatas") or [[]])[0]
        dists = (res.get("distances") or [[]])[0]
        items = []
        for i, record_id in enumerate(ids):
            meta = dict(metas[i] or {})
            meta["id"] = record_id
            items.append(
                KnowledgeItem(
                    collection=name,
                    text=docs[i] or "",
                    source=str(meta.get("source", "")),
                    score=relevance(float(dists[i]), space),
                    metadata=meta,
                )
            )
        return items

    def metadata_values(self, name: str, key: str, limit: int = 10_000) -> set[str]:
        """The distinct values of metadata ``key`` in ``name`` (small collections only)."""
        got = self.collection(name).get(include=["metadatas"], limit=limit)
        return {str(m[key]) for m in got.get("metadatas") or [] if m and m.get(key)}


def check_server(host: str, port: int, timeout_s: float) -> None:
    """Raise KnowledgeBaseError unless a Chroma server answers its heartbeat in time.

    chromadb's own HTTP client waits without a timeout; this check bounds the wait.
    """
    import httpx

    try:
        reply = httpx.get(f"http://{host}:{port}/api/v2/heartbeat", timeout=timeout_s)
        reply.raise_for_status()
    except httpx.HTTPError as exc:
        raise KnowledgeBaseError(unreachable_message(host, port, exc)) from exc


def unreachable_message(host: str, port: int, exc: object) -> str:
    """The message for a Chroma server that does not answer."""
    return (
        f"The Chroma server at http://{host}:{port} cannot be reached ({exc}). Start it with "
        f"`chroma run --path DIR --host {host} --port {port}`, fix knowledge.host/knowledge.port "
        "(ANIMAGENT_KNOWLEDGE__HOST, ANIMAGENT_KNOWLEDGE__PORT), or use the embedded store "
        "(ANIMAGENT_KNOWLEDGE__MODE=embedded)."
    )


def dumps(value: object) -> str:
    """JSON for metadata values Chroma cannot hold as such (dicts, lists of paths)."""
    return json.dumps(value, sort_keys=True, default=str)


_KBS: dict[str, KnowledgeBase] = {}
_KBS_LOCK = threading.Lock()


def _key(settings: Settings) -> str:
    return dumps(
        [str(Path(settings.data_dir).resolve()), settings.knowledge.model_dump(mode="json")]
    )


def get_knowledge_base(settings: Settings | None = None) -> KnowledgeBase:
    """The knowledge base for these settings, one per distinct configuration per process."""
    settings = settings or get_settings()
    key = _key(settings)
    with _KBS_LOCK:
        if key not in _KBS:
            _KBS[key] = KnowledgeBase(settings)
        return _KBS[key]


def reset_knowledge_bases() -> None:
    """Forget cached knowledge bases (tests that point data_dir at a new folder)."""
    with _KBS_LOCK:
        for kb in _KBS.values():
            kb.close()
        _KBS.clear()
