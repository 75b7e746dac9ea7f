"""Fetch web pages safely and extract their readable text.

Safety rules, checked before the first request and again for every redirect hop: only http and
https; no user name or password in the URL; the host must resolve to public addresses only
(loopback, private, link-local, cloud metadata, reserved and multicast addresses are refused)
unless it is named in ``web.allowed_hosts``. Every page has a connect timeout, a read timeout,
an overall deadline and a size cap; redirects are followed by hand, at most ``web.max_redirects``.
Readable text comes from trafilatura; pages with less than ``web.min_page_chars`` are dropped.

DNS rebinding: the check before a request says early and clearly why a URL is refused, but the
connection does not trust it. The client's transport (``PinnedTransport``) opens every TCP
connection through ``PinnedBackend``, which resolves the host itself, applies the same address
rules to every answer and connects to a checked IP address; TLS still verifies the certificate
against the URL's host name (httpcore passes it as ``server_hostname``). A name that answers a
public address to the check and a private one to the connection is refused at connect time.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import httpcore
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
# httpcore's socket option shape (httpcore.NetworkBackend.connect_tcp's socket_options).
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _normal_host(host: str) -> str:
    return host.rstrip(".").lower()


def checked_addresses(host: str, port: int, cfg: WebSettings, resolver: Resolver) -> list[str]:
    """The addresses of ``host`` that may be connected to; UnsafeURLError if there are none.

    A host in ``web.allowed_hosts`` may resolve anywhere; any other host must resolve only to
    public addresses: one loopback, private, link-local, metadata, reserved or multicast answer
    refuses the host (a mixed answer is how rebinding attacks hedge).
    """
    host = _normal_host(host)
    allowed = host in {_normal_host(h) for h in cfg.allowed_hosts}
    if not allowed and host in METADATA_HOSTS:
        raise UnsafeURLError(f"{host} is a cloud metadata address")
    try:
        addresses = resolver(host, port)
    except OSError as exc:
        raise UnsafeURLError(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise UnsafeURLError(f"{host} resolves to no address")
    if allowed:
        return addresses
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if str(ip) in METADATA_HOSTS or not ip.is_global:
            raise UnsafeURLError(
                f"{host} resolves to {ip}, a loopback/private/link-local/reserved address; "
                "add the host to web.allowed_hosts if it is meant to be reached"
            )
    return addresses


def check_url(url: str, cfg: WebSettings, resolver: Resolver = resolve) -> None:
    """Raise UnsafeURLError unless ``url`` may be fetched under ``cfg``.

    Hosts in ``web.allowed_hosts`` are not resolved here (the connection resolves them).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURLError(f"malformed URL {url!r}: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError(f"only http and https URLs are fetched, not {parts.scheme!r}")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError("URLs with a user name or password are not fetched")
    host = _normal_host(parts.hostname or "")
    if not host:
        raise UnsafeURLError(f"no host in URL {url!r}")
    if host in {_normal_host(h) for h in cfg.allowed_hosts}:
        return
    checked_addresses(host, port or (443 if parts.scheme == "https" else 80), cfg, resolver)


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


# At most this many of a host's (checked) addresses are tried, each within the connect
# timeout, so a host with many dead addresses cannot stretch a fetch without bound.
MAX_CONNECT_ADDRESSES = 3


class PinnedBackend(httpcore.NetworkBackend):
    """httpcore's network backend, connecting only to addresses it resolved and checked itself.

    ``connect_tcp`` is handed the URL's host name; it resolves it with ``resolver``, applies
    ``checked_addresses`` and connects the wrapped backend (httpcore's ``SyncBackend``) to the
    IP address, so no second resolution happens between the check and the connection.
    """

    def __init__(
        self,
        cfg: WebSettings,
        resolver: Resolver = resolve,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        """Check under ``cfg``'s rules, resolve with ``resolver``, connect with ``inner``."""
        self._cfg = cfg
        self._resolver = resolver
        self._inner = inner if inner is not None else httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect to the first reachable checked address of ``host``."""
        addresses = checked_addresses(host, port, self._cfg, self._resolver)
        error: Exception | None = None
        for address in addresses[:MAX_CONNECT_ADDRESSES]:
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None  # checked_addresses never returns an empty list
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        """Never used: the fetch client has no unix-socket transport."""
        raise UnsafeURLError("the web fetcher does not connect to unix sockets")

    def sleep(self, seconds: float) -> None:
        """Pause between connect retries (delegated to the wrapped backend)."""
        self._inner.sleep(seconds)


# httpcore's errors as httpx's, most specific first (what httpx.HTTPTransport also does).
_ERRORS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core, mapped in _ERRORS:
            if isinstance(exc, core):
                raise mapped(str(exc)) from exc
        raise


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class PinnedTransport(httpx.BaseTransport):
    """An httpx transport over httpcore's connection pool with a ``PinnedBackend``.

    Built from public seams only: httpx accepts any ``BaseTransport`` and httpcore's
    ``ConnectionPool`` takes a ``network_backend``. (``httpx.HTTPTransport`` builds its pool
    itself and offers no way to pass a backend.)
    """

    def __init__(
        self,
        cfg: WebSettings,
        resolver: Resolver = resolve,
        limits: httpx.Limits | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """A pool of at most ``limits`` connections that all go through the pinned backend.

        ``ssl_context`` defaults to httpx's (certifi's CAs, host names verified).
        """
        limits = limits or httpx.Limits()
        if ssl_context is None:
            ssl_context = httpx.create_ssl_context(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(cfg, resolver),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the pool; the response body streams."""
        if not isinstance(request.stream, httpx.SyncByteStream):  # pragma: no cover
            raise TypeError("PinnedTransport sends synchronous requests only")
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            resp = self._pool.handle_request(core)
        if not isinstance(resp.stream, Iterable):  # pragma: no cover
            raise TypeError("httpcore returned an asynchronous body to a synchronous pool")
        return httpx.Response(
            status_code=resp.status,
            headers=resp.headers,
            stream=_Body(resp.stream),
            extensions=resp.extensions,
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.close()


def make_client(cfg: WebSettings, resolver: Resolver = resolve) -> httpx.Client:
    """An httpx client with the configured timeouts, user agent and pool size.

    Every connection goes through ``PinnedTransport``: connected only to an address checked
    under the same rules as ``check_url``.
    """
    timeout = httpx.Timeout(
        cfg.read_timeout_s, connect=cfg.connect_timeout_s, pool=cfg.page_deadline_s
    )
    limits = httpx.Limits(max_connections=cfg.concurrency * 2, max_keepalive_connections=8)
    headers = {"User-Agent": cfg.user_agent, "Accept": "text/html,text/plain;q=0.9,*/*;q=0.1"}
    # trust_env=False: a proxy variable must not send fetches around the address checks.
    return httpx.Client(
        timeout=timeout,
        headers=headers,
        trust_env=False,
        transport=PinnedTransport(cfg, resolver, limits),
    )


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
    with make_client(cfg, resolver) as client, ThreadPoolExecutor(cfg.concurrency) as pool:
        futures = {
            pool.submit(fetch_page, url, cfg, client, resolver): i for i, url in enumerate(urls)
        }
        for future in as_completed(futures):
            page = future.result()
            pages[futures[future]] = page
            progress(page)
    return [pages[i] for i in range(len(urls))]
