"""One error surface for every command: a known fault -> one line with the fix and an exit code.

``GuardedTyper`` wraps each command it registers (plugin commands too), so no command can end in
a Python traceback unless the person asked for one with ``animagent --debug``. Messages pass
through ``services.redact`` first: an exception that quotes a URL must not print its password.

Exit codes (README "Exit codes"): 0 done; 1 unexpected error (a bug); 2 bad input or
configuration; 3 paused, waiting for an answer; 4 the model or a store is unavailable (resume
later). Codes above 4 are reserved for run outcomes the graph reports (e.g. incomplete work).
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.exceptions import TyperException

EXIT_BUG, EXIT_INPUT, EXIT_PAUSED, EXIT_UNAVAILABLE = 1, 2, 3, 4

F = TypeVar("F", bound=Callable[..., Any])
DEBUG: ContextVar[bool] = ContextVar("animagent_debug", default=False)
"""Set by ``animagent --debug``: errors then propagate with their traceback."""


def fail(message: str, code: int) -> None:
    """Print ``error: message`` (redacted) on stderr and exit with ``code``."""
    from services.redact import redact

    Console(stderr=True).print(f"[bold red]error:[/] {escape(redact(message))}", soft_wrap=True)
    raise typer.Exit(code)


def classify(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, one-line message with the fix) for a known fault; None for a bug."""
    from pydantic import ValidationError

    from configs.settings import SettingsError
    from graph.persistence import CheckpointError
    from services.llm import LLMUnavailableError
    from services.outputs import UnsafePathError

    if isinstance(exc, UnsafePathError | SettingsError):
        return EXIT_INPUT, str(exc)
    if isinstance(exc, ValidationError):
        return EXIT_INPUT, f"invalid value: {exc.errors(include_url=False)[0]['msg']}"
    if isinstance(exc, LLMUnavailableError | CheckpointError):
        return EXIT_UNAVAILABLE, str(exc)
    try:
        from services.knowledge_base import KnowledgeBaseError

        if isinstance(exc, KnowledgeBaseError):
            return EXIT_UNAVAILABLE, f"the knowledge base failed: {exc}"
    except ImportError:  # the knowledge extra is not installed
        pass
    if isinstance(exc, sqlite3.OperationalError):
        return EXIT_UNAVAILABLE, (
            f"the checkpoint database failed: {exc}. If another animagent process holds it "
            "(database is locked), wait for it to finish."
        )
    if isinstance(exc, OSError) and exc.errno == 28:  # ENOSPC
        return EXIT_UNAVAILABLE, f"the disk is full ({exc.filename or exc}): free space."
    try:
        import openai
    except ImportError:
        return None
    if isinstance(exc, openai.APIStatusError):
        return EXIT_UNAVAILABLE, (
            f"the LLM server answered HTTP {exc.status_code} ({exc.message}) even after "
            "retries: check the server, or raise ANIMAGENT_LLM__MAX_RETRIES."
        )
    if isinstance(exc, openai.APIError):  # connection errors, timeouts
        return EXIT_UNAVAILABLE, (
            f"the LLM server did not answer ({exc}): start it or fix ANIMAGENT_LLM__BASE_URL "
            "(a slow model: raise ANIMAGENT_LLM__TIMEOUT_S)."
        )
    if isinstance(exc, json.JSONDecodeError) and _raised_by_openai(exc):
        return EXIT_UNAVAILABLE, (
            "the LLM server answered with a body that is not JSON: is ANIMAGENT_LLM__BASE_URL "
            "an OpenAI-compatible /v1 endpoint?"
        )
    return None


def _raised_by_openai(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if "openai" in tb.tb_frame.f_code.co_filename:
            return True
        tb = tb.tb_next
    return False


def guarded(func: F) -> F:
    """``func`` with every exception turned into one line and an exit code (see module doc)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, TyperException):
            raise  # already an answer: an exit code, a usage error, an abort
        except KeyboardInterrupt:
            fail("interrupted; a started run continues with `animagent resume THREAD_ID`.", 130)
        except Exception as exc:
            if DEBUG.get():
                raise
            known = classify(exc)
            if known is not None:
                fail(known[1], known[0])
            fail(
                f"unexpected {type(exc).__name__}: {exc}. This is a bug: rerun with "
                "`animagent --debug ...` for the traceback and report it.",
                EXIT_BUG,
            )

    return wrapper  # type: ignore[return-value]


class GuardedTyper(typer.Typer):
    """A Typer app whose every command (built-in or plugin) runs under ``guarded``."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        """Register like ``Typer.command``; the registered callback is the guarded one."""
        register = super().command(*args, **kwargs)

        def decorator(func: F) -> F:
            register(guarded(func))
            return func

        return decorator
