"""The downloader: one aiohttp session, one attempt per call, bounded in time and size.

>>> async with AiohttpDownloader(timeout=10, max_response_size=1 << 20) as dl:
...     response = await dl.fetch(Request("http://127.0.0.1:8000/"))

``fetch`` performs exactly one HTTP exchange: it does not follow redirects (the engine turns a
redirect into a new request that passes filters, robots and dedup again) and does not retry
(the engine reschedules). It guarantees:

* only ``http``/``https`` URLs are fetched;
* the whole attempt (connect, headers, body) takes at most ``timeout`` seconds;
* the body is read as a stream and decompressed (gzip, deflate, br) in bounded chunks; past
  ``max_response_size`` decompressed bytes (``request.meta["download_maxsize"]`` if set) it
  is cut and ``Response.truncated`` is set;
* hosts that resolve to loopback/private/link-local/reserved addresses are refused at connect
  time (:class:`~acrawl.errors.BlockedAddress`) unless ``trusted(host)`` says the user asked
  for that host — through a proxy too (the target's name is checked before it is sent);
* a request goes through the proxy ``meta["proxy"]`` names (the ``proxy`` component fills it
  from the settings); ``Proxy-Authorization`` is never taken from request headers, it is
  derived from that proxy URL's credentials on every attempt;
* ``meta["download_timeout"]`` replaces ``timeout`` for one request.

It sends the request's headers as they are (plus ``Accept-Encoding`` for what it can decode):
default headers, the user agent, cookies and the proxy choice are the components' work
(``headers``, ``cookies``, ``proxy`` in :mod:`acrawl.policies`). No cookie is kept here.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import functools
import ipaddress
import logging
import socket
import weakref
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.connector import Connection
from aiohttp.tracing import Trace
from yarl import URL

from ..errors import BlockedAddress, ConnectError, DownloadError, DownloadTimeout
from ..http import Request, Response
from ..urls import FETCHABLE_SCHEMES, hostname, scheme_of

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = ["AiohttpDownloader", "Downloader", "GuardedResolver", "is_public_address"]

logger = logging.getLogger(__name__)

_CHUNK = 64 * 1024

try:  # brotli is optional (speed extra); only advertised when we can bound it
    import brotli as _brotli

    _HAS_BR = "output_buffer_limit" in (_brotli.Decompressor.process.__doc__ or "")
except ImportError:  # pragma: no cover - depends on the environment
    _brotli = None
    _HAS_BR = False

ACCEPT_ENCODING = "gzip, deflate" + (", br" if _HAS_BR else "")


class Downloader:
    """The interface the engine uses (see :class:`AiohttpDownloader`)."""

    async def fetch(self, request: Request) -> Response:  # pragma: no cover - interface
        raise NotImplementedError

    async def close(self) -> None:  # pragma: no cover - interface
        return None


def is_public_address(addr: str) -> bool:
    """True if ``addr`` is a globally routable unicast address."""
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


#: the same few hosts are checked on every request
_is_public_cached = functools.lru_cache(maxsize=1024)(is_public_address)


class _Blocked(OSError):
    pass


class GuardedResolver(AbstractResolver):
    """Wraps a resolver and refuses non-public addresses for untrusted hosts."""

    def __init__(self, trusted: Callable[[str], bool], inner: AbstractResolver | None = None):
        self._trusted = trusted
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._inner is None:
            self._inner = aiohttp.ThreadedResolver()
        results = await self._inner.resolve(host, port, family)
        if self._trusted(host.rstrip(".").lower()):
            return results
        bad = [r["host"] for r in results if not is_public_address(r["host"])]
        if bad:
            raise _Blocked(f"{host} resolves to non-public address {bad[0]}")
        return results

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()


class _Attempt:
    """What the connector tells the request being sent (through ``_ATTEMPT``)."""

    __slots__ = ("on_sent", "request", "reused")

    def __init__(self, request: Request, on_sent: Callable[[Request], None] | None) -> None:
        self.request = request
        self.on_sent = on_sent
        self.reused = False  # the connection of the latest try came from the pool


#: set by ``AiohttpDownloader._send`` for the request it is sending
_ATTEMPT: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar(
    "acrawl_attempt", default=None)


class _PoolAwareConnector(aiohttp.TCPConnector):
    """A connector that tells the request being sent (through ``_ATTEMPT``) whether its
    connection was reused from the pool or opened for it, and when it was ready: the moment
    the request goes out (``on_sent``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._served: weakref.WeakSet[Any] = weakref.WeakSet()  # protocols handed out before

    async def connect(
        self, req: aiohttp.ClientRequest, traces: list[Trace],
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 - aiohttp's signature
    ) -> Connection:
        attempt = _ATTEMPT.get()
        if attempt is None:
            return await super().connect(req, traces, timeout)
        attempt.reused = False  # (stays False if connecting fails)
        conn = await super().connect(req, traces, timeout)
        protocol = conn.protocol
        if protocol is not None:
            attempt.reused = protocol in self._served
            self._served.add(protocol)
        if attempt.on_sent is not None:
            attempt.on_sent(attempt.request)
        return conn


_GZIP_MAGIC = b"\x1f\x8b"


class _Decoder:
    """Incremental, bounded decompression for one Content-Encoding.

    The body may arrive split anywhere — between two gzip members, inside a member's header,
    after a single byte — and decodes to the same bytes however it is split. After the end of
    the compressed data, bytes that do not start another gzip member are not part of the body
    (``done``); for brotli, any such byte is an error (the decoder refuses it)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        #: the compressed stream ended: what follows is not part of the body (and feeding it
        #: to zlib would only pile it up in ``unused_data``), so the reader stops
        self.done = False
        #: input held back until there is enough to decide on it: the first byte of a
        #: deflate body (zlib-wrapped or raw?), a partial gzip magic after a member's end
        self._held = b""
        self._gzip = encoding in ("gzip", "x-gzip")
        if self._gzip:
            self._z: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = None  # zlib-wrapped or raw, decided on the first two bytes
        elif encoding == "br" and _HAS_BR:
            self._z = _brotli.Decompressor()
        else:
            raise ValueError(encoding)

    def feed(self, data: bytes, limit: int) -> bytes:
        """Decompress ``data``, returning at most ``limit + 1`` bytes (one more than allowed
        tells the caller the body is over its limit; the input left then is dropped)."""
        if self.done:
            return b""
        if self._held:
            data, self._held = self._held + data, b""
        if self.encoding == "br":
            return self._feed_brotli(data, limit)
        out = []
        size = 0
        buf = data
        while size <= limit:
            z = self._z
            if z is None:  # the start of a deflate body, or between two gzip members
                if len(buf) < 2:
                    if buf and (not self._gzip or buf == _GZIP_MAGIC[:1]):
                        self._held = buf  # too little to decide: wait for more
                        break
                    if not buf:
                        break
                if self._gzip:
                    if buf[:2] != _GZIP_MAGIC:  # not another member: the body ended
                        self.done = True
                        break
                    z = self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
                else:
                    zlib_header = (buf[0] & 0x0F) == 8 and (buf[0] << 8 | buf[1]) % 31 == 0
                    z = self._z = zlib.decompressobj(
                        zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)
            step = min(_CHUNK, limit - size + 1)
            piece = z.decompress(buf, step)
            out.append(piece)
            size += len(piece)
            if z.eof:
                # the input left after the end of the stream is ``unused_data`` alone: when
                # the output cap was hit at the member's end, ``unconsumed_tail`` still holds
                # the same bytes, and taking both would double them at every member
                buf = z.unused_data
                if not self._gzip:
                    self.done = True
                    break
                self._z = None  # another member may follow: its first bytes tell
                continue
            buf = z.unconsumed_tail
            if not buf and len(piece) < step:
                break  # all input used, and no output held back by the step's cap
        return b"".join(out)

    def _feed_brotli(self, data: bytes, limit: int) -> bytes:
        z = self._z
        out = [z.process(data, output_buffer_limit=min(_CHUNK, limit + 1))]
        size = len(out[0])
        # (can_accept_more_data() may say yes while output is still held back: drain until
        # the stream is finished or nothing more comes)
        while size <= limit and not z.is_finished():
            piece = z.process(b"", output_buffer_limit=min(_CHUNK, limit - size + 1))
            if not piece:
                break
            out.append(piece)
            size += len(piece)
        self.done = z.is_finished()
        return b"".join(out)


class _DecodedBody:
    """A compressed body as it arrives: ``add`` decodes one network chunk within what is left
    of ``limit``, and says when reading should stop (the body was cut at the limit, or the
    compressed data ended). Used by the downloader and, alone, by the decoder's tests."""

    __slots__ = ("chunks", "decoder", "limit", "size", "truncated")

    def __init__(self, decoder: _Decoder, limit: int) -> None:
        self.decoder = decoder
        self.limit = limit
        self.size = 0
        self.chunks: list[bytes] = []
        self.truncated = False

    def add(self, chunk: bytes) -> bool:
        decoder = self.decoder
        if decoder.done:  # (brotli only: the reader stops at the end of gzip and deflate)
            if chunk:
                raise ValueError("data after the end of the brotli stream")
            return False
        data = decoder.feed(chunk, self.limit - self.size)
        self.size += len(data)
        if self.size > self.limit:
            self.chunks.append(data[: len(data) - (self.size - self.limit)])
            self.truncated = True
            return True
        self.chunks.append(data)
        # at the end of a brotli stream one more read tells whether bytes follow (an error)
        return decoder.done and decoder.encoding != "br"

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


class AiohttpDownloader(Downloader):
    """Fetches one request at a time per call on a shared ``aiohttp.ClientSession``."""

    def __init__(
        self,
        *,
        concurrency: int = 16,
        timeout: float = 30.0,
        max_response_size: int = 32 * 1024 * 1024,
        trusted: Callable[[str], bool] = lambda host: False,
        resolver: AbstractResolver | None = None,
        verify_tls: bool = True,
    ) -> None:
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_response_size = max_response_size
        self._trusted = trusted
        #: the host names of the proxies requests went through: the user named them
        self._proxy_hosts: set[str] = set()
        self._resolver = resolver
        self.verify_tls = verify_tls
        self._session: aiohttp.ClientSession | None = None
        self._fresh: aiohttp.ClientSession | None = None
        #: called with each request the moment it is sent (its connection is ready): the
        #: scheduler counts a host's delay from there
        self.on_sent: Callable[[Request], None] | None = None
        self._proxy_checked: dict[str, str] = {}
        self._proxies: dict[str, tuple[str, dict[str, str] | None]] = {}

    @classmethod
    def from_settings(
        cls, settings: Settings, *, trusted: Callable[[str], bool] | None = None,
        resolver: AbstractResolver | None = None,
    ) -> AiohttpDownloader:
        allow_all = bool(settings["allow_private_addresses"])
        return cls(
            concurrency=settings["concurrency"],
            timeout=settings["timeout"],
            max_response_size=settings["max_response_size"],
            trusted=(lambda host: True) if allow_all else (trusted or (lambda host: False)),
            resolver=resolver,
        )

    def trusted(self, host: str) -> bool:
        """``host`` may resolve to a private address: the user named it (or a proxy on it)."""
        return host in self._proxy_hosts or self._trusted(host)

    # -- lifecycle ------------------------------------------------------------------------------
    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = self._new_session(_PoolAwareConnector, aiohttp.DummyCookieJar())
        return self._session

    def _fresh_session(self) -> aiohttp.ClientSession:
        """A session that never reuses a connection (same jar, headers and guard): where a
        request that failed on a reused connection is sent again."""
        if self._fresh is None:
            self._fresh = self._new_session(
                functools.partial(_PoolAwareConnector, force_close=True),
                self._ensure_session().cookie_jar)
        return self._fresh

    def _new_session(self, connector_cls: Callable[..., aiohttp.TCPConnector],
                     jar: aiohttp.abc.AbstractCookieJar) -> aiohttp.ClientSession:
        connector = connector_cls(
            limit=max(self.concurrency, 1) * 2,
            limit_per_host=0,
            ttl_dns_cache=300,
            resolver=GuardedResolver(self.trusted, self._resolver),
            ssl=bool(self.verify_tls),
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=jar,
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None),
            headers={"Accept-Encoding": ACCEPT_ENCODING},
            skip_auto_headers=("User-Agent",),  # no aiohttp agent behind the user's back
            trust_env=False,
            max_line_size=16384,
            max_field_size=16384,
        )

    async def close(self) -> None:
        if self._fresh is not None:
            await self._fresh.close()
            self._fresh = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> AiohttpDownloader:
        self._ensure_session()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- fetching -------------------------------------------------------------------------------
    async def fetch(self, request: Request) -> Response:
        scheme = scheme_of(request.url)
        if scheme not in FETCHABLE_SCHEMES:
            raise DownloadError(f"scheme not fetched: {request.url}", request)
        host = hostname(request.url)
        if _looks_numeric(host) and not _is_public_cached(host) and not self.trusted(host):
            # aiohttp skips the resolver for anything that looks like an IP (even 127.1 or
            # 2130706433): refuse every such host that is not a canonical public address
            raise BlockedAddress(f"{host} is not a public address", request)
        session = self._ensure_session()
        meta = request.meta
        timeout, proxy, proxy_headers = self.timeout, None, None
        limit = self.max_response_size
        if meta:
            if "download_timeout" in meta:
                timeout = _download_timeout(meta["download_timeout"], request)
            if meta.get("proxy"):
                proxy, proxy_headers = self._proxy(meta["proxy"], request)
                if not _looks_numeric(host) and not self.trusted(host):
                    await self._check_through_proxy(host, request)
            limit = meta.get("download_maxsize") or limit  # Scrapy's per-request limit
        headers = request.headers
        if "proxy-authorization" in map(str.lower, headers):
            headers = {k: v for k, v in headers.items() if k.lower() != "proxy-authorization"}
        if proxy_headers is not None and scheme != "https":
            # plain http: the request itself goes to the proxy, with the proxy's credentials
            # (an https request carries them on its CONNECT only)
            headers = {**headers, **proxy_headers}
            proxy_headers = None
        try:
            async with asyncio.timeout(timeout):
                resp = await self._send(session, request, headers, proxy, proxy_headers)
                async with resp:  # asyncio.timeout bounds the whole attempt: no per-read timers
                    body, truncated = await self._read_body(resp, limit)
                    return Response(
                        url=str(resp.url) if request.url != str(resp.url) else request.url,
                        status=resp.status,
                        headers=resp.headers,
                        body=body,
                        request=request,
                        truncated=truncated,
                    )
        except TimeoutError:
            raise DownloadTimeout(f"timed out after {timeout:g}s: {request.url}",
                                  request) from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, _Blocked):
                raise BlockedAddress(str(exc.os_error), request) from None
            raise ConnectError(f"cannot connect: {request.url}: {exc.os_error or exc}",
                               request) from None
        except (aiohttp.ClientError, OSError, ValueError, zlib.error) as exc:
            raise ConnectError(f"{type(exc).__name__}: {exc} ({request.url})", request) from None
        except Exception as exc:  # brotli.error and other decoder failures
            if _brotli is not None and isinstance(exc, _brotli.error):
                raise ConnectError(f"bad brotli body: {request.url}", request) from None
            raise

    async def address_refusal(self, url: str) -> str | None:
        """Why the private-address guard would refuse to connect to ``url``'s host, or None
        if it would connect: the checks :meth:`fetch` makes (a numeric host, then the name
        resolved through the guarded resolver), without connecting. ConnectError if the name
        does not resolve."""
        host = hostname(url)
        if self.trusted(host):
            return None
        if _looks_numeric(host):
            return None if _is_public_cached(host) else f"{host} is not a public address"
        guard = GuardedResolver(self.trusted, self._resolver)
        try:
            await guard.resolve(host, 0, socket.AF_UNSPEC)
        except _Blocked as exc:
            return str(exc)
        except OSError as exc:
            raise ConnectError(f"cannot resolve {host}: {exc}") from None
        return None

    async def _send(self, session: aiohttp.ClientSession, request: Request,
                    headers: dict[str, str], proxy: str | None = None,
                    proxy_headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        """Send ``request`` and wait for the response head. A request whose connection came
        from the pool and was closed or reset before any answer (a server or load balancer
        that had dropped the idle connection) is sent once more on a fresh connection: a
        stale connection is not the server's error and costs no retry."""
        attempt = _Attempt(request, self.on_sent)
        token = _ATTEMPT.set(attempt)
        try:
            try:
                return await session.request(request.method, request.url, headers=headers,
                                             data=request.body, allow_redirects=False,
                                             proxy=proxy, proxy_headers=proxy_headers)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                if not attempt.reused or isinstance(exc, aiohttp.ClientConnectorError):
                    raise
                logger.debug("%s: %s on a reused connection; again on a fresh one",
                             request.url, type(exc).__name__)
            return await self._fresh_session().request(
                request.method, request.url, headers=headers, data=request.body,
                allow_redirects=False, proxy=proxy, proxy_headers=proxy_headers)
        finally:
            _ATTEMPT.reset(token)

    def _proxy(self, url: Any, request: Request) -> tuple[str, dict[str, str] | None]:
        """``meta["proxy"]`` as aiohttp's ``proxy`` (without credentials) and
        ``proxy_headers`` (``Proxy-Authorization: Basic`` from the URL's credentials, for the
        proxy only); its host is trusted from now on (the user named it)."""
        known = self._proxies.get(url) if isinstance(url, str) else None
        if known is not None:
            return known
        problem = _proxy_url_problem(url)
        if problem:
            raise DownloadError(f"meta['proxy'] {problem}, got {url!r}: {request.url}", request)
        parsed = URL(url)
        auth = None
        if parsed.user is not None or parsed.password is not None:
            pair = f"{parsed.user or ''}:{parsed.password or ''}".encode()
            auth = {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        known = (str(parsed.with_user(None)), auth)
        if len(self._proxies) > 1000:
            self._proxies.clear()
        self._proxies[url] = known
        self._proxy_hosts.add(hostname(url))
        return known

    async def _check_through_proxy(self, host: str, request: Request) -> None:
        """With a proxy the proxy resolves names, so the guard checks them here first."""
        verdict = self._proxy_checked.get(host)
        if verdict is None:
            guard = GuardedResolver(self.trusted, self._resolver)
            try:
                await guard.resolve(host, 0, socket.AF_UNSPEC)
                verdict = ""
            except _Blocked as exc:
                verdict = str(exc)
            except OSError:
                verdict = ""  # only the proxy can resolve it: nothing to check here
            if len(self._proxy_checked) > 10_000:
                self._proxy_checked.clear()
            self._proxy_checked[host] = verdict
        if verdict:
            raise BlockedAddress(verdict, request)

    async def _read_body(self, resp: aiohttp.ClientResponse,
                         limit: int) -> tuple[bytes, bool]:
        encoding = resp.headers.get("Content-Encoding", "").strip().lower()
        decoder: _Decoder | None = None
        if encoding and encoding != "identity":
            try:
                decoder = _Decoder(encoding)
            except ValueError:
                logger.debug("unknown Content-Encoding %r at %s; body kept as is",
                             encoding, resp.url)
        declared = resp.content_length
        if decoder is None and declared is not None and declared <= limit:
            # the parser stops at Content-Length: the body cannot exceed the limit
            return await resp.read(), False
        if decoder is None and declared is not None and declared > limit:
            logger.warning("%s: Content-Length %d exceeds the size limit %d; cut",
                           resp.url, declared, limit)
        if decoder is not None:
            decoded = _DecodedBody(decoder, limit)
            async for chunk in resp.content.iter_chunked(_CHUNK):
                if decoded.add(chunk):
                    break
            truncated = decoded.truncated
            if not truncated and decoder.done and not resp.content.at_eof():
                resp.close()  # bytes after the compressed data: not read, connection not reused
            chunks = decoded.chunks
        else:
            chunks = []
            size = 0
            truncated = False
            async for chunk in resp.content.iter_chunked(_CHUNK):
                size += len(chunk)
                if size > limit:
                    chunks.append(chunk[: len(chunk) - (size - limit)])
                    truncated = True
                    break
                chunks.append(chunk)
        if truncated:
            resp.close()
            logger.warning("%s: response larger than its size limit (%d bytes); cut",
                           resp.url, limit)
        return b"".join(chunks), truncated


def _download_timeout(value: Any, request: Request) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e9:
        return float(value)
    raise DownloadError(f"meta['download_timeout'] must be a number of seconds > 0, got "
                        f"{value!r}: {request.url}", request)


def _proxy_url_problem(url: Any) -> str | None:
    if not isinstance(url, str):
        return "must be a proxy URL string"
    try:
        parsed = URL(url)
    except ValueError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        return "must be an http:// proxy URL with a host (http://user:pass@host:port)"
    return None


def _looks_numeric(host: str) -> bool:
    return ":" in host or host.rstrip(".").replace(".", "").isdigit() or (
        host[:2].lower() == "0x")
