"""One redaction function for every place text leaves the process (screen, logs, files).

Credentials reach us inside settings (``http://user:secret@host/v1``, API keys, Postgres DSNs)
and can come back inside exception messages that quote a URL. ``redact`` masks them in any
string; ``redact_data`` does the same through nested JSON-like data (manifests, state) and
``RedactingFilter`` through log records. Redaction keeps the shape (scheme, host, key prefix)
so a person can still tell which server or key was meant.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"

# scheme://user:password@host -> scheme://user:***@host (and scheme://token@host)
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/@'\"<>]+)@")
# key=value / key: value for secret-looking names (query strings, DSN parameters, headers)
_KEY_VALUE = re.compile(
    r"(?i)(?P<key>\b[\w-]*(?:api[_-]?key|password|passwd|secret|token|access[_-]?key)[\w-]*"
    r"[\"']?\s*[=:]\s*[\"']?)(?P<value>[^\s&\"',;}]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
# Well-known key shapes: OpenAI/Anthropic (sk-...), Hugging Face (hf_...), GitHub (ghp_...).
_KEY_SHAPES = re.compile(r"\b(sk-(?:ant-|proj-)?|hf_|gh[pousr]_)[A-Za-z0-9_-]{12,}")


def _userinfo(match: re.Match[str]) -> str:
    userinfo = match.group("userinfo")
    user = userinfo.split(":", 1)[0] if ":" in userinfo else ""
    return f"{match.group('scheme')}{user + ':' if user else ''}{MASK}@"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with its credentials masked.

    Masks URL passwords, secret ``key=value`` pairs, bearer tokens, well-known API key shapes,
    and every literal in ``secrets`` (the configured keys).
    """
    if not text:
        return text
    for secret in secrets:
        if secret and len(secret) >= 4:  # a 1-3 char "secret" would mask ordinary words
            text = text.replace(secret, MASK)
    text = _URL_USERINFO.sub(_userinfo, text)
    text = _KEY_VALUE.sub(lambda m: f"{m.group('key')}{MASK}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _KEY_SHAPES.sub(lambda m: f"{m.group(1)}{MASK}", text)


def redact_data(data: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of JSON-like ``data`` with every string passed through ``redact``."""
    keep = tuple(secrets)
    if isinstance(data, str):
        return redact(data, keep)
    if isinstance(data, dict):
        return {k: redact_data(v, keep) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact_data(v, keep) for v in data]
    return data


def configured_secrets(settings: Any) -> list[str]:
    """The secret values in ``settings`` (API keys, Postgres URL), for literal masking."""
    from pydantic import SecretStr

    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, SecretStr):
            found.append(node.get_secret_value())
        elif hasattr(node, "__pydantic_fields__"):
            for name in type(node).__pydantic_fields__:
                walk(getattr(node, name, None))
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)

    walk(settings)
    return [s for s in found if s]


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's rendered message (install on handlers)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        """Mask ``secrets`` literally besides the generic patterns."""
        super().__init__()
        self.secrets = tuple(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the message by its redacted rendering; never drops a record."""
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        return True
