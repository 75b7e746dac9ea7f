"""Fetch web pages safely and extract their readable text.

Safety rules, checked before the first request and again for every redirect hop: only http and
https; no user name or password in the URL; the host must resolve to public addresses only
(loopback, private, link-local, cloud metadata, reserved and multicast addresses are refused)
unless it is named in ``web.allowed_hosts``. Every page has a connect timeout, a read timeout,
an overall deadline and a size cap; redirects are followed by hand, at most ``web.max_redirects``.
Readable text comes from trafilatura; pages with less than ``web.min_page_chars`` are dropped.

Known gap: the address is checked at resolution time and httpx resolves again when it
connects, so a DNS server that answers differently within milliseconds (DNS rebinding) is not
covered; pinning the connection to the checked address would close it.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import httpx

from configs.settings import WebSettings

PageStatus = Literal["ok", "too_short", "blocked", "unsupported", "too_large", "error"]
TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
# Cloud metadata endpoints; most are link-local already, listed so the refusal says why.
METADATA_HOSTS = {"169.254.169.254", "fd00:ec2::254", "100.100.100.200", "metadata.google.internal"}


class UnsafeURLError(ValueError):
    """The URL may not be fetched; the message says which rule it breaks."""


@dataclass
class Page:
    """One fetched page: its text when ``status`` is ok, else a note saying why not."""

    url: str
    final_url: str = ""
    status: PageStatus = "error"
    title: str = ""
    text: str = ""
    note: str = ""
    content_type: str = ""
    bytes_read: int = 0
    seconds: float = 0.0

    def as_dict(self, text_chars: int = 0) -> dict[str, Any]:
        """JSON-able form with the text cut to ``text_chars`` (0: left out)."""
        out = asdict(self)
        out["text"] = self.text[:text_chars] if text_chars else ""
        out["seconds"] = round(self.seconds, 4)
        return out


Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def check_url(url: str, cfg: WebSettings, resolver: Resolver = resolve) -> None:
    """Raise UnsafeURLError unless ``url`` may be fetched under ``cfg``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURLError(f"malformed URL {url!r}: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError(f"only http and https URLs are fetched, not {parts.scheme!r}")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError("URLs with a user name or password are not fetched")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeURLError(f"no host in URL {url!r}")
    allowed = {h.lower() for h in cfg.allowed_hosts}
    if host in allowed:
        return
    if host in METADATA_HOSTS:
        raise UnsafeURLError(f"{host} is a cloud metadata address")
    try:
        addresses = resolver(host, port or (443 if parts.scheme == "https" else 80))
    except OSError as exc:
        raise UnsafeURLError(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise UnsafeURLError(f"{host} resolves to no address")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if str(ip) in METADATA_HOSTS or not ip.is_global:
            raise UnsafeURLError(
                f"{host} resolves to {ip}, a loopback/private/link-local/reserved address; "
                "add the host to web.allowed_hosts if it is meant to be reached"
            )


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip("\"' ")
    return ""


def decode(body: bytes, content_type: str) -> str:
    """Bytes to text: the declared charset when Python knows it, else UTF-8; never raises."""
    charset = _charset(content_type) or "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:  # a charset name Python does not know
        return body.decode("utf-8", errors="replace")


def extract(body: str, url: str, content_type: str) -> tuple[str, str]:
    """(title, readable text) of a page; plain text passes through."""
    if content_type.startswith("text/plain"):
        return "", "\n".join(line.rstrip() for line in body.splitlines()).strip()
    import trafilatura

    text = trafilatura.extract(body, url=url, include_comments=False, include_tables=True) or ""
    meta = trafilatura.extract_metadata(body, default_url=url)
    title = meta.title if meta is not None and meta.title else ""
    return title, text.strip()


def _read(resp: httpx.Response, page: Page, cap: int, deadline: float) -> bytes | None:
    chunks: list[bytes] = []
    for chunk in resp.iter_bytes():
        chunks.append(chunk)
        page.bytes_read += len(chunk)
        if page.bytes_read > cap:
            page.status, page.note = "too_large", f"larger than web.max_page_mb ({cap} bytes)"
            return None
        if time.monotonic() > deadline:
            page.note = "slower than web.page_deadline_s"
            return None
    return b"".join(chunks)


def fetch_page(
    url: str, cfg: WebSettings, client: httpx.Client, resolver: Resolver = resolve
) -> Page:
    """Fetch and extract one page; every failure is a Page with a status and a note."""
    started = time.monotonic()
    deadline = started + cfg.page_deadline_s
    page = Page(url=url, final_url=url)
    cap = int(cfg.max_page_mb * 1024 * 1024)
    try:
        current = url
        for _hop in range(cfg.max_redirects + 1):
            check_url(current, cfg, resolver)
            page.final_url = current
            with client.stream("GET", current, follow_redirects=False) as resp:
                if resp.is_redirect:
                    location = resp.headers.get("location", "")
                    if not location:
                        page.note = f"HTTP {resp.status_code} redirect without a Location"
                        return page
                    current = urljoin(current, location)
                    continue
                if resp.status_code != 200:
                    page.note = f"HTTP {resp.status_code}"
                    return page
                ctype = resp.headers.get("content-type", "").lower().strip()
                page.content_type = ctype.split(";")[0]
                if not ctype.startswith(TEXT_TYPES):
                    page.status = "unsupported"
                    kind = "a PDF" if "pdf" in ctype else f"{ctype or 'untyped'} content"
                    page.note = f"{kind}: set aside, only HTML and plain text are read"
                    return page
                length = resp.headers.get("content-length", "")
                if length.isdigit() and int(length) > cap:
                    page.status = "too_large"
                    page.note = f"{length} bytes is over web.max_page_mb ({cap} bytes)"
                    return page
                body = _read(resp, page, cap, deadline)
                if body is None:
                    return page
                break
        else:
            page.note = f"more than web.max_redirects ({cfg.max_redirects}) redirects"
            return page
        if b"\x00" in body[:4096]:
            page.status, page.note = "unsupported", "binary content under a text content type"
            return page
        page.title, page.text = extract(decode(body, ctype), page.final_url, ctype)
        if len(page.text) < cfg.min_page_chars:
            page.status = "too_short"
            page.note = f"{len(page.text)} readable characters (< web.min_page_chars)"
            page.text = ""
        else:
            page.status = "ok"
    except UnsafeURLError as exc:
        page.status, page.note = "blocked", str(exc)
    except httpx.TimeoutException as exc:
        page.note = f"timed out ({type(exc).__name__}); raise web.read_timeout_s to wait longer"
    except httpx.HTTPError as exc:
        page.note = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # an extractor failure is one bad page, not a failed run
        page.note = f"could not read the page: {type(exc).__name__}: {exc}"
    finally:
        page.seconds = time.monotonic() - started
    return page


def make_client(cfg: WebSettings) -> httpx.Client:
    """An httpx client with the configured timeouts, user agent and pool size."""
    timeout = httpx.Timeout(
        cfg.read_timeout_s, connect=cfg.connect_timeout_s, pool=cfg.page_deadline_s
    )
    limits = httpx.Limits(max_connections=cfg.concurrency * 2, max_keepalive_connections=8)
    headers = {"User-Agent": cfg.user_agent, "Accept": "text/html,text/plain;q=0.9,*/*;q=0.1"}
    # trust_env=False: a proxy variable must not send fetches around the address checks.
    return httpx.Client(timeout=timeout, limits=limits, headers=headers, trust_env=False)


def fetch_pages(
    urls: list[str],
    cfg: WebSettings,
    *,
    progress: Callable[[Page], None] = lambda page: None,
    resolver: Resolver = resolve,
) -> list[Page]:
    """Fetch ``urls`` with at most ``web.concurrency`` at once; pages in the order of ``urls``.

    ``progress`` runs in the calling thread as each page finishes (LangGraph's stream writer
    lives in the caller's context, which worker threads do not have).
    """
    if not urls:
        return []
    pages: dict[int, Page] = {}
    with make_client(cfg) as client, ThreadPoolExecutor(cfg.concurrency) as pool:
        futures = {
            pool.submit(fetch_page, url, cfg, client, resolver): i for i, url in enumerate(urls)
        }
        for future in as_completed(futures):
            page = future.result()
            pages[futures[future]] = page
            progress(page)
    return [pages[i] for i in range(len(urls))]
