"""The downloader: one aiohttp session, one attempt per call, bounded in time and size.

>>> async with AiohttpDownloader(timeout=10, max_response_size=1 << 20) as dl:
...     response = await dl.fetch(Request("http://127.0.0.1:8000/"))

``fetch`` performs exactly one HTTP exchange: it does not follow redirects (the engine turns a
redirect into a new request that passes filters, robots and dedup again) and does not retry
(the engine reschedules). It guarantees:

* only ``http``/``https`` URLs are fetched;
* the whole attempt (connect, headers, body) takes at most ``timeout`` seconds;
* the body is read as a stream and decompressed (gzip, deflate, br) in bounded chunks; past
  ``max_response_size`` decompressed bytes it is cut and ``Response.truncated`` is set;
* hosts that resolve to loopback/private/link-local/reserved addresses are refused at connect
  time (:class:`~acrawl.errors.BlockedAddress`) unless ``trusted(host)`` says the user asked
  for that host;
* ``Proxy-Authorization`` is never taken from request headers; it is derived from ``proxy``.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
import zlib
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from ..errors import BlockedAddress, ConnectError, DownloadError, DownloadTimeout
from ..http import CREDENTIAL_HEADERS, Request, Response
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


class _Decoder:
    """Incremental, bounded decompression for one Content-Encoding."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        #: the compressed stream ended: what follows is not part of the body (and feeding it
        #: to zlib would only pile it up in ``unused_data``), so the reader stops
        self.done = False
        if encoding in ("gzip", "x-gzip"):
            self._z: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = None  # zlib-wrapped or raw, decided on first bytes
        elif encoding == "br" and _HAS_BR:
            self._z = _brotli.Decompressor()
        else:
            raise ValueError(encoding)

    def feed(self, data: bytes, limit: int) -> bytes:
        """Decompress ``data``, returning at most ``limit`` bytes (more input is dropped)."""
        if self.encoding == "deflate" and self._z is None:
            zlib_header = len(data) >= 2 and (data[0] & 0x0F) == 8 and (
                (data[0] << 8 | data[1]) % 31 == 0)
            raw = not zlib_header
            self._z = zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
        if self.encoding == "br":
            out = [self._z.process(data, output_buffer_limit=_CHUNK)]
            size = len(out[0])
            while size <= limit and not self._z.is_finished():
                piece = self._z.process(b"", output_buffer_limit=_CHUNK)
                if not piece:
                    break
                out.append(piece)
                size += len(piece)
            self.done = self._z.is_finished()
            return b"".join(out)
        out = []
        size = 0
        buf = data
        while buf and size <= limit:
            piece = self._z.decompress(buf, min(_CHUNK, limit - size + 1))
            out.append(piece)
            size += len(piece)
            buf = self._z.unconsumed_tail
            if self._z.eof:
                rest = self._z.unused_data
                if self.encoding != "deflate" and rest[:2] == b"\x1f\x8b":
                    # a multi-member gzip body: the next member follows
                    self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    buf = rest + buf
                    continue
                self.done = True
                break
        return b"".join(out)


class AiohttpDownloader(Downloader):
    """Fetches one request at a time per call on a shared ``aiohttp.ClientSession``."""

    def __init__(
        self,
        *,
        concurrency: int = 16,
        timeout: float = 30.0,
        max_response_size: int = 32 * 1024 * 1024,
        user_agent: str = "acrawl",
        default_headers: dict[str, str] | None = None,
        cookies: bool = True,
        proxy: str | None = None,
        trusted: Callable[[str], bool] = lambda host: False,
        named_origin: Callable[[str], bool] = lambda url: False,
        resolver: AbstractResolver | None = None,
        verify_tls: bool = True,
    ) -> None:
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_response_size = max_response_size
        self.user_agent = user_agent
        # Proxy-Authorization only ever comes from ``proxy``, never from headers; credentials
        # among the defaults go only to the origins the user named (``named_origin(url)``)
        defaults = {k: v for k, v in (default_headers or {}).items()
                    if k.lower() != "proxy-authorization"}
        self.default_headers = {k: v for k, v in defaults.items()
                                if k.lower() not in CREDENTIAL_HEADERS}
        self.default_credentials = {k: v for k, v in defaults.items()
                                    if k.lower() in CREDENTIAL_HEADERS}
        self.named_origin = named_origin
        self.cookies = cookies
        self.proxy = proxy
        self.trusted = trusted
        self._resolver = resolver
        self.verify_tls = verify_tls
        self._session: aiohttp.ClientSession | None = None
        self._proxy_checked: dict[str, str] = {}

    @classmethod
    def from_settings(
        cls, settings: Settings, *, trusted: Callable[[str], bool] | None = None,
        named_origin: Callable[[str], bool] | None = None,
        resolver: AbstractResolver | None = None,
    ) -> AiohttpDownloader:
        allow_all = bool(settings["allow_private_addresses"])
        proxy_host = hostname(settings["proxy"]) if settings["proxy"] else ""
        if trusted is not None and proxy_host:  # the user named the proxy: it may be local
            user_trusted = trusted
            trusted = lambda host: host == proxy_host or user_trusted(host)  # noqa: E731
        return cls(
            concurrency=settings["concurrency"],
            timeout=settings["timeout"],
            max_response_size=settings["max_response_size"],
            user_agent=settings["user_agent"],
            default_headers=settings["default_headers"],
            cookies=settings["cookies"],
            proxy=settings["proxy"],
            trusted=(lambda host: True) if allow_all else (trusted or (lambda host: False)),
            named_origin=named_origin or (lambda url: False),
            resolver=resolver,
        )

    # -- lifecycle ------------------------------------------------------------------------------
    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=max(self.concurrency, 1) * 2,
                limit_per_host=0,
                ttl_dns_cache=300,
                resolver=GuardedResolver(self.trusted, self._resolver),
                ssl=bool(self.verify_tls),
            )
            jar: aiohttp.abc.AbstractCookieJar = (
                aiohttp.CookieJar(unsafe=True, quote_cookie=False)
                if self.cookies else aiohttp.DummyCookieJar()
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=jar,
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=None),
                headers={"User-Agent": self.user_agent, "Accept-Encoding": ACCEPT_ENCODING,
                         **self.default_headers},
                trust_env=False,
                max_line_size=16384,
                max_field_size=16384,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def take_cookies(self, response: Response) -> None:
        """Keep the ``Set-Cookie`` cookies of a response this session did not download (one
        the replay cache served), as if it had: the next requests to that site send them."""
        if not self.cookies:
            return
        getall = getattr(response.headers, "getall", None)
        values = getall("Set-Cookie", ()) if getall is not None else [
            v for k, v in response.headers.items() if k.lower() == "set-cookie"]
        if not values:
            return
        cookies: SimpleCookie = SimpleCookie()
        for value in values:
            try:
                cookies.load(value)
            except CookieError:
                logger.debug("unreadable cached Set-Cookie %r at %s", value, response.url)
        if cookies:
            self._ensure_session().cookie_jar.update_cookies(cookies, URL(response.url))

    async def __aenter__(self) -> AiohttpDownloader:
        self._ensure_session()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- fetching -------------------------------------------------------------------------------
    async def fetch(self, request: Request) -> Response:
        if scheme_of(request.url) not in FETCHABLE_SCHEMES:
            raise DownloadError(f"scheme not fetched: {request.url}", request)
        host = hostname(request.url)
        if _looks_numeric(host) and not _is_public_cached(host) and not self.trusted(host):
            # aiohttp skips the resolver for anything that looks like an IP (even 127.1 or
            # 2130706433): refuse every such host that is not a canonical public address
            raise BlockedAddress(f"{host} is not a public address", request)
        session = self._ensure_session()
        if self.proxy and not _looks_numeric(host) and not self.trusted(host):
            await self._check_through_proxy(host, request)
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() != "proxy-authorization"}
        if request.referer or self.default_credentials:
            own = {k.lower() for k in headers}
            if self.default_credentials and self.named_origin(request.url):
                for name, value in self.default_credentials.items():
                    if name.lower() not in own:
                        headers[name] = value
            if request.referer and "referer" not in own:
                headers["Referer"] = request.referer
        try:
            async with asyncio.timeout(self.timeout):
                async with session.request(
                    request.method,
                    request.url,
                    headers=headers,
                    data=request.body,
                    allow_redirects=False,
                    proxy=self.proxy,
                ) as resp:  # asyncio.timeout bounds the whole attempt: no per-read timers
                    body, truncated = await self._read_body(resp)
                    return Response(
                        url=str(resp.url) if request.url != str(resp.url) else request.url,
                        status=resp.status,
                        headers=resp.headers,
                        body=body,
                        request=request,
                        truncated=truncated,
                    )
        except TimeoutError:
            raise DownloadTimeout(f"timed out after {self.timeout:g}s: {request.url}",
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

    async def _read_body(self, resp: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        limit = self.max_response_size
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
            logger.warning("%s: Content-Length %d exceeds max_response_size %d; cut",
                           resp.url, declared, limit)
        chunks: list[bytes] = []
        size = 0
        truncated = False
        async for chunk in resp.content.iter_chunked(_CHUNK):
            data = decoder.feed(chunk, limit - size) if decoder else chunk
            size += len(data)
            if size > limit:
                chunks.append(data[: len(data) - (size - limit)])
                truncated = True
                break
            chunks.append(data)
            if decoder is not None and decoder.done:
                if not resp.content.at_eof():  # bytes after the compressed stream: not read,
                    resp.close()               # and the connection is not reused
                break
        if truncated:
            resp.close()
            logger.warning("%s: response larger than max_response_size (%d bytes); cut",
                           resp.url, limit)
        return b"".join(chunks), truncated


def _looks_numeric(host: str) -> bool:
    return ":" in host or host.rstrip(".").replace(".", "").isdigit() or (
        host[:2].lower() == "0x")
