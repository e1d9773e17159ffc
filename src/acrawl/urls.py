"""URL helpers: canonical form, request fingerprints, politeness keys, allowed schemes.

Canonicalization is w3lib's ``canonicalize_url`` (scheme/host case, default ports, sorted
query, percent-encoding normalised, fragment dropped). A fingerprint is a 16-byte BLAKE2b
digest of method, canonical URL and body: compact and the same in every backend.
"""

from __future__ import annotations

from functools import lru_cache
from hashlib import blake2b
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from w3lib.url import canonicalize_url, safe_url_string
from yarl import URL


class Fingerprintable(Protocol):
    """What :func:`fingerprint` reads of a request (an :class:`acrawl.Request`)."""

    @property
    def url(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def body(self) -> bytes | None: ...

__all__ = ["FETCHABLE_SCHEMES", "canonicalize", "fingerprint", "host_key", "redirect_url",
           "scheme_of"]

FETCHABLE_SCHEMES = frozenset({"http", "https"})
FINGERPRINT_SIZE = 16
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


#: canonicalization is the costliest step per link; crawls meet the same URL spellings over
#: and over (every page links to the same menus), so small bounded caches pay for themselves
#: (a few MiB in all, whatever the size of the crawl).
_CACHE_SIZE = 1 << 14


@lru_cache(maxsize=1 << 12)
def canonicalize(url: str) -> str:
    """The canonical form of ``url`` used for dedup (fragment dropped, query sorted)."""
    try:
        canonical = canonicalize_url(url, keep_fragments=False)
    except ValueError:
        return url
    # w3lib keeps an explicit default port; http://h:80/ and http://h/ are one page
    scheme, sep, rest = canonical.partition("://")
    if sep:
        netloc, slash, path = rest.partition("/")
        default = _DEFAULT_PORTS.get(scheme)
        if default and netloc.endswith(default):
            return f"{scheme}://{netloc[: -len(default)]}{slash}{path}"
    return canonical


@lru_cache(maxsize=_CACHE_SIZE)
def _url_digest(url: str) -> bytes:
    return blake2b(canonicalize(url).encode("utf-8", "surrogatepass"),
                   digest_size=FINGERPRINT_SIZE).digest()


def fingerprint(request: Fingerprintable) -> bytes:
    """A 16-byte digest identifying ``request`` for dedup (method + canonical URL + body)."""
    if request.method == "GET" and not request.body:
        url = request.url
        cut = url.find("#")  # the fragment is not part of the canonical URL: one cache entry
        # (unless a control character or space ends what is left: at the end of a URL it is
        # stripped, before a fragment it is kept, percent-encoded)
        return _url_digest(url if cut < 0 or url[cut - 1] <= " " else url[:cut])
    h = blake2b(canonicalize(request.url).encode("utf-8", "surrogatepass"),
                digest_size=FINGERPRINT_SIZE)
    h.update(b"\0" + request.method.encode() + b"\0" + (request.body or b""))
    return h.digest()


#: header bytes that are not UTF-8 reach us as lone surrogates U+DC80..U+DCFF (aiohttp decodes
#: header values with ``surrogateescape``): each becomes the %XX of the byte it stands for
_ESCAPED_BYTES = {0xDC00 + b: f"%{b:02X}" for b in range(0x80, 0x100)}


def redirect_url(base: str, location: str) -> str:
    """The absolute URL a redirect's ``Location`` header leads to, resolved against ``base``
    and made ASCII as browsers send it: raw bytes that are not UTF-8 (a latin-1 ``é``)
    percent-encoded as they are (``%E9``), UTF-8 text percent-encoded as UTF-8 (``%C3%A9``),
    a Unicode host IDNA-encoded. ``ValueError`` if no usable URL can be made of it.

    ``location`` is the header value as aiohttp gives it (invalid UTF-8 bytes as the
    surrogates of ``surrogateescape``)."""
    text = location.translate(_ESCAPED_BYTES).strip()
    target = safe_url_string(urljoin(base, text))  # UnicodeError (a ValueError) on the rest
    parts = urlsplit(target)
    parts.port  # noqa: B018 - raises ValueError on a broken netloc or port
    return target


def scheme_of(url: str) -> str:
    """The lower-cased scheme of ``url`` ("" if none)."""
    head, sep, _ = url.partition(":")
    return head.strip().lower() if sep and head.isascii() and "/" not in head else ""


@lru_cache(maxsize=8192)
def _netloc_parts(scheme: str, netloc: str) -> tuple[str, str]:
    try:
        parts = urlsplit(f"{scheme}://{netloc}/")
        host = (parts.hostname or "").lower()
        port = parts.port
        if not host.isascii():
            # the host the HTTP client connects to (IDNA, Unicode dots and digits folded):
            # "127。0。0。2" is 127.0.0.2 to the address guard, politeness and allowed_hosts
            host = URL.build(scheme="http", host=host).raw_host or ""
    except ValueError:
        return "", ""
    default = 443 if scheme == "https" else 80
    key = f"[{host}]" if ":" in host else host
    return host, (key if port in (None, default) else f"{key}:{port}")


@lru_cache(maxsize=_CACHE_SIZE)
def _split(url: str) -> tuple[str, str]:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", ""
    end = len(rest)
    for ch in "/?#":
        i = rest.find(ch, 0, end)
        if i >= 0:
            end = i
    return _netloc_parts(scheme.lower(), rest[:end])


#: Joiner results by folder (origin + directory), then by href; bounded (~3 MiB at most)
_JOINED: dict[str, dict[str, str]] = {}
_JOINED_FOLDERS = 16
_JOINED_PER_FOLDER = 1 << 11


class Joiner:
    """Resolves links against one base URL, like ``urllib.parse.urljoin`` but with fast paths
    for the shapes pages are full of (absolute, ``/path``, ``path``, ``./x``, ``../x``); the
    rest falls back to ``urljoin``. Built once per page.

    >>> Joiner("http://a.test/d/page?q=1").join("../x/y")
    'http://a.test/x/y'
    """

    __slots__ = ("_known", "_own_scheme", "base", "dir", "origin")

    def __init__(self, base: str) -> None:
        self.base = base
        scheme, sep, rest = base.partition("://")
        end = len(rest)
        for ch in "/?#":
            i = rest.find(ch, 0, end)
            if i >= 0:
                end = i
        self.origin = f"{scheme}://{rest[:end]}" if sep else ""
        self._own_scheme = f"{scheme}://" if scheme in ("http", "https") else "\0"
        path = rest[end:].split("#", 1)[0].split("?", 1)[0] or "/"
        self.dir = path[: path.rfind("/") + 1] if path.startswith("/") else "/"
        # a link's absolute form depends only on origin + directory (unless it starts with ?
        # or #): pages of one folder share their results, as menus repeat on every page
        folder = self.origin + self.dir
        known = _JOINED.get(folder)
        if known is None:
            if len(_JOINED) >= _JOINED_FOLDERS:
                _JOINED.clear()
            known = _JOINED[folder] = {}
        self._known = known

    def join(self, href: str) -> str:
        known = self._known
        absolute = known.get(href)
        if absolute is None:
            bare = href.strip()
            absolute = self._resolve(bare)
            # "", "?x", "#x", "//...", "http:x" and "\0" depend on more than the folder
            if (len(known) < _JOINED_PER_FOLDER and self.origin and bare
                    and bare[0] not in "?#" and bare[0] > " " and not bare.startswith("//")
                    and (":" not in bare or bare.startswith(("http://", "https://"))
                         or not _has_scheme(bare))):
                known[href] = absolute  # the first links met: menus, pagination
        return absolute

    def _join(self, href: str) -> str:
        return self._resolve(href.strip())

    def _resolve(self, href: str) -> str:
        if ";" in href or not href.isprintable():
            # urljoin removes tabs, line breaks and leading control characters (as browsers
            # do) and drops an empty ";params": it decides these
            return urljoin(self.base, href)
        cut = href.find("#")
        if cut > 0:  # "page#part": join the page; an empty fragment ("x#") is dropped
            head, fragment = href[:cut], href[cut:]
            # (urljoin gives a URL of another scheme than the base's back as it is)
            if not _has_scheme(head) or head.startswith(self._own_scheme):
                return self._resolve(head) + (fragment if len(fragment) > 1 else "")
        if (not self.origin or not href or href[0] in "?#" or href[-1] == "?"
                or href.startswith("//") or "\\" in href):
            return urljoin(self.base, href)
        if href.startswith(("http://", "https://")):
            host_at = href.find("//") + 2  # (no host: relative to the base, for urljoin)
            if "/." in href or host_at == len(href) or href[host_at] in "/?#":
                return urljoin(self.base, href)
            return href
        if _has_scheme(href) or "//" in href:  # mailto:, javascript:, odd paths
            return urljoin(self.base, href)
        # a path (no "#" is left), maybe with a query
        cut = href.find("?")
        path, query = (href, "") if cut < 0 else (href[:cut], href[cut:])
        if path[0] == "/":
            full = path
        else:
            folder = self.dir
            if path.startswith("./"):
                path = path[2:]
            while path.startswith("../"):  # up one folder (never above the root)
                path = path[3:]
                folder = folder[: folder.rfind("/", 0, len(folder) - 1) + 1] or "/"
            full = folder + path
        if "/." in full:  # a "." or ".." segment left
            full = _remove_dot_segments(full)
        return self.origin + full + query


def _has_scheme(href: str) -> bool:
    """A ":" before any "/" (``mailto:x``, ``http://``...)."""
    colon = href.find(":")
    return colon >= 0 and href.find("/", 0, colon) < 0


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, for an absolute path."""
    out: list[str] = []
    segments = path.split("/")
    for seg in segments[1:-1]:
        if seg == "..":
            if out:
                out.pop()
        elif seg != ".":
            out.append(seg)
    last = segments[-1]
    if last == "..":
        if out:
            out.pop()
        out.append("")
    elif last == ".":
        out.append("")
    else:
        out.append(last)
    return "/" + "/".join(out)


def host_key(url: str) -> str:
    """``host`` or ``host:port`` (non-default port) of ``url``, lower-cased: the politeness
    slot key."""
    return _split(url)[1]


def hostname(url: str) -> str:
    """The bare host name of ``url`` (no port, no brackets), lower-cased."""
    return _split(url)[0]
