"""URL helpers: canonical form, request fingerprints, politeness keys, allowed schemes.

Canonicalization is w3lib's ``canonicalize_url`` (scheme/host case, default ports, sorted
query, percent-encoding normalised, fragment dropped). A fingerprint is a 16-byte BLAKE2b
digest of method, canonical URL and body: compact and the same in every backend.
"""

from __future__ import annotations

from functools import lru_cache
from hashlib import blake2b
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from w3lib.url import canonicalize_url

if TYPE_CHECKING:
    from .http import Request

__all__ = ["FETCHABLE_SCHEMES", "canonicalize", "fingerprint", "host_key", "scheme_of"]

FETCHABLE_SCHEMES = frozenset({"http", "https"})
FINGERPRINT_SIZE = 16


def canonicalize(url: str) -> str:
    """The canonical form of ``url`` used for dedup (fragment dropped, query sorted)."""
    try:
        return canonicalize_url(url, keep_fragments=False)
    except ValueError:
        return url


def fingerprint(request: Request) -> bytes:
    """A 16-byte digest identifying ``request`` for dedup (method + canonical URL + body)."""
    h = blake2b(canonicalize(request.url).encode("utf-8", "surrogatepass"),
                digest_size=FINGERPRINT_SIZE)
    if request.method != "GET" or request.body:
        h.update(b"\0" + request.method.encode() + b"\0" + (request.body or b""))
    return h.digest()


def scheme_of(url: str) -> str:
    """The lower-cased scheme of ``url`` ("" if none)."""
    head, sep, _ = url.partition(":")
    return head.strip().lower() if sep and head.isascii() and "/" not in head else ""


@lru_cache(maxsize=4096)
def _netloc_key(scheme: str, netloc: str) -> str:
    parts = urlsplit(f"{scheme}://{netloc}/")
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = 443 if scheme == "https" else 80
    if ":" in host:
        host = f"[{host}]"
    return host if port in (None, default) else f"{host}:{port}"


def host_key(url: str) -> str:
    """``host`` or ``host:port`` (non-default port) of ``url``, lower-cased."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return ""
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in netloc:
        netloc = netloc.rsplit("@", 1)[1]
    return _netloc_key(scheme.lower(), netloc)


def hostname(url: str) -> str:
    """The bare host name of ``url`` (no port, no brackets), lower-cased."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
