"""GPU awareness: probe the card, serialize heavy work, keep models resident while VRAM allows.

- ``probe_gpu`` asks NVML once and never raises (no GPU is an answer, not an error).
- ``GpuLease`` is the single heavy lane: a lock in the process plus an ``flock`` on a file in
  the data directory, so two animagent processes on one machine never load two heavy models at
  once. (Several machines: one GPU worker per card, or Postgres advisory locks.)
- ``Residency`` keeps loaded models while their VRAM estimates fit the budget and unloads the
  least recently used first; ``free_all`` is the out-of-memory escape hatch.
"""

from __future__ import annotations

import fcntl
import gc
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from configs.settings import Settings, get_settings


@dataclass(frozen=True)
class GpuInfo:
    """What NVML reported (or why there is no GPU)."""

    available: bool
    name: str = ""
    total_gb: float = 0.0
    free_gb: float = 0.0
    reason: str = ""


@lru_cache(maxsize=1)
def probe_gpu() -> GpuInfo:
    """Probe GPU 0 through NVML; never raises."""
    try:
        import pynvml
    except ImportError:
        return GpuInfo(False, reason="nvidia-ml-py is not installed")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return GpuInfo(False, reason=f"no GPU: NVML unavailable ({exc}); heavy tools unavailable")
    try:
        if pynvml.nvmlDeviceGetCount() == 0:
            return GpuInfo(False, reason="no GPU: NVML sees no device; heavy tools unavailable")
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
        name = pynvml.nvmlDeviceGetName(handle)
        return GpuInfo(
            True,
            name=name.decode() if isinstance(name, bytes) else str(name),
            total_gb=mem.total / 2**30,
            free_gb=mem.free / 2**30,
        )
    except pynvml.NVMLError as exc:
        return GpuInfo(False, reason=f"no GPU: NVML query failed ({exc})")
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass


class GpuLease:
    """One heavy job at a time, in this process and across processes sharing ``lock_file``."""

    def __init__(self, lock_file: Path, timeout_s: float = 3600.0) -> None:
        """Lease over ``lock_file`` (created on first use)."""
        self.lock_file = lock_file
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self.holder: str | None = None
        self.active = 0
        self.max_active = 0
        self.jobs: list[str] = []

    @contextmanager
    def hold(self, job: str) -> Iterator[None]:
        """Hold the lane while the block runs (raises TimeoutError after ``timeout_s``)."""
        if not self._lock.acquire(timeout=self.timeout_s):
            raise TimeoutError(f"GPU lane busy for {self.timeout_s:.0f}s (held by {self.holder})")
        try:
            self.lock_file.parent.mkdir(parents=True, exist_ok=True)
            with open(self.lock_file, "a+") as handle:
                deadline = time.monotonic() + self.timeout_s
                while True:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise TimeoutError(
                                f"another process holds the GPU lock {self.lock_file}"
                            ) from None
                        time.sleep(0.05)
                self.holder, self.active = job, self.active + 1
                self.max_active = max(self.max_active, self.active)
                self.jobs.append(job)
                try:
                    yield
                finally:
                    self.active -= 1
                    self.holder = None
                    fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            self._lock.release()


def nvml_free_gb(index: int = 0) -> float | None:
    """The card's free memory now (GB), or None when NVML cannot say; never raises."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return None
    try:
        mem = pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(index))
        return float(mem.free) / 2**30
    except pynvml.NVMLError:
        return None
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass


class Residency:
    """Loaded heavy models by id, LRU-evicted to stay within a VRAM budget (GB).

    With ``free_gb`` (NVML's free memory, read at each load) the budget is what this process
    already holds plus what the card has free, less ``margin_gb``: other programs on the card
    count. Without it (no GPU seen) the configured ``budget_gb`` is the fallback.
    """

    def __init__(
        self,
        budget_gb: float,
        free_gb: Callable[[], float | None] | None = None,
        margin_gb: float = 0.0,
    ) -> None:
        """Track models against ``budget_gb`` (or the card's free memory when measurable)."""
        self.budget_gb = budget_gb
        self.free_gb = free_gb
        self.margin_gb = margin_gb
        self._models: OrderedDict[str, tuple[Any, float]] = OrderedDict()
        self.loads = 0
        self.evictions: list[str] = []

    @property
    def used_gb(self) -> float:
        """The VRAM the resident models are estimated to use."""
        return sum(size for _, size in self._models.values())

    def budget(self) -> float:
        """The memory heavy models may use now (GB)."""
        free = self.free_gb() if self.free_gb is not None else None
        if free is None:
            return self.budget_gb
        return self.used_gb + max(0.0, free - self.margin_gb)

    def fits(self, vram_gb: float) -> bool:
        """Whether a model of ``vram_gb`` could be loaded (after evicting everything else)."""
        return vram_gb <= self.budget()

    def peek(self, model_id: str) -> Any | None:
        """The loaded model, without loading or touching LRU order."""
        entry = self._models.get(model_id)
        return entry[0] if entry else None

    def resident(self) -> list[str]:
        """Model ids currently loaded, least recently used first."""
        return list(self._models)

    def get(self, model_id: str, vram_gb: float, loader: Callable[[], Any]) -> Any:
        """The loaded model, loading it (after evicting LRU models) if needed."""
        if model_id in self._models:
            self._models.move_to_end(model_id)
            return self._models[model_id][0]
        budget = self.budget()
        while self._models and self.used_gb + vram_gb > budget:
            self.unload(next(iter(self._models)))
            budget = self.budget()
        model = loader()
        self.loads += 1
        self._models[model_id] = (model, vram_gb)
        return model

    def unload(self, model_id: str) -> None:
        """Drop one model and return its memory (a model on a server is asked to free it)."""
        entry = self._models.pop(model_id, None)
        if entry is not None:
            self.evictions.append(model_id)
            release = getattr(entry[0], "release", None)
            if callable(release):
                release()
            _release_memory()

    def free_all(self) -> None:
        """Unload everything (after a CUDA out-of-memory error)."""
        for model_id in list(self._models):
            self.unload(model_id)


def _release_memory() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


_LEASE: GpuLease | None = None
_RESIDENCY: Residency | None = None
_GUARD = threading.Lock()


def get_lease(settings: Settings | None = None) -> GpuLease:
    """The process-wide GPU lease."""
    global _LEASE
    s = settings or get_settings()
    with _GUARD:
        if _LEASE is None:
            _LEASE = GpuLease(Path(s.data_dir) / "gpu.lock", s.gpu.lock_timeout_s)
        return _LEASE


def get_residency(settings: Settings | None = None) -> Residency:
    """The process-wide model residency manager."""
    global _RESIDENCY
    s = settings or get_settings()
    with _GUARD:
        if _RESIDENCY is None:
            free = nvml_free_gb if probe_gpu().available else None
            _RESIDENCY = Residency(s.gpu.vram_budget_gb, free, s.gpu.safety_margin_gb)
        return _RESIDENCY


def doctor_rows(settings: Settings, heavy: list[tuple[str, float]]) -> list[tuple[str, str]]:
    """Rows for ``animagent doctor``: the image backend, the card, its free memory, what fits.

    ``heavy`` is (tool name, estimated GB) for every heavy tool (the caller reads the registry).
    """
    image = settings.image
    if image.backend == "diffusers":
        where = str(image.model_path) if image.model_path else "ANIMAGENT_IMAGE__MODEL_PATH unset"
        backend = f"diffusers ({image.device}) {where}"
    else:
        backend = f"comfyui {image.comfyui_url or 'ANIMAGENT_IMAGE__COMFYUI_URL unset'}"
    info = probe_gpu()
    free = nvml_free_gb() if info.available else None
    rows = [("image backend", backend)]
    if info.available:
        rows.append(("gpu card", f"{info.name}, {info.total_gb:.1f} GB (NVML)"))
        rows.append(
            ("gpu free", f"{free:.1f} GB free, {settings.gpu.safety_margin_gb:.1f} GB kept back")
            if free is not None
            else ("gpu free", "NVML did not report free memory")
        )
    budget = Residency(settings.gpu.vram_budget_gb, lambda: free, settings.gpu.safety_margin_gb)
    source = "free memory" if free is not None else "configured gpu.vram_budget_gb"
    fits = [f"{name} ({gb:g} GB)" for name, gb in heavy if budget.fits(gb)]
    too_big = [f"{name} ({gb:g} GB)" for name, gb in heavy if not budget.fits(gb)]
    rows.append(
        (
            "heavy models",
            f"budget {budget.budget():.1f} GB ({source}); fit: {', '.join(fits) or 'none'}"
            + (f"; too big: {', '.join(too_big)}" if too_big else ""),
        )
    )
    return rows
