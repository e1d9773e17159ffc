"""Fuzzing URL joining and canonicalisation against urllib and w3lib as oracles.

acrawl joins links with its own fast ``Joiner`` and keys politeness by its own ``host_key``;
both must agree with what ``urllib.parse`` says, and ``canonicalize`` with w3lib's
``canonicalize_url`` (less an explicit default port), on arbitrary input.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from fuzz_profile import fuzz
from hypothesis import assume, given
from hypothesis import strategies as st
from w3lib.url import canonicalize_url

from acrawl.http import Request
from acrawl.urls import Joiner, canonicalize, fingerprint, host_key, hostname

BASES = ["http://a.test/", "http://a.test", "http://a.test/d/e/page?q=1#f",
         "https://a.test:8443/d/", "http://a.test/d/..", "http://a.test/d/e/x;p?y=2",
         "http://127.0.0.1:8080/a/b/c", "http://[::1]:81/x/y"]
PIECES = st.sampled_from(["a", "b/", "..", ".", "/", "//", "?", "#", "?x=1&y=2", "%2e", "%",
                          "%41", "\\", ":", "http:", "https://c.test", "//d.test/", " ", "\t",
                          "\u00e9", "\u0131", "\uff0e", "mailto:x", "javascript:", ";p", "@",
                          "~", "+", "&amp;", "\x00", "\ufeff"])
HREFS = st.one_of(st.lists(PIECES, max_size=8).map("".join), st.text(max_size=40))


@fuzz(1500)
@given(base=st.sampled_from(BASES), href=HREFS)
def test_joiner_agrees_with_urljoin(base: str, href: str) -> None:
    assert Joiner(base).join(href) == urljoin(base, href.strip())
    assert Joiner(base).join(href) == urljoin(base, href.strip())  # (the cached result too)


def _w3lib(url: str) -> str:
    try:
        canonical = canonicalize_url(url, keep_fragments=False)
    except ValueError:
        return url
    scheme, sep, rest = canonical.partition("://")
    if sep:
        netloc, slash, path = rest.partition("/")
        default = {"http": ":80", "https": ":443"}.get(scheme)
        if default and netloc.endswith(default):
            return f"{scheme}://{netloc[: -len(default)]}{slash}{path}"
    return canonical


@fuzz(800)
@given(base=st.sampled_from(BASES), href=HREFS)
def test_canonicalize_agrees_with_w3lib_and_is_idempotent(base: str, href: str) -> None:
    url = urljoin(base, href.strip())
    canonical = canonicalize(url)
    assert canonical == _w3lib(url)
    assert canonicalize(canonical) == canonical
    assert fingerprint(Request(url)) == fingerprint(Request(canonical))


ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
HOST_LABEL = st.text(st.sampled_from(ALNUM), min_size=1, max_size=10)
HOSTS = st.lists(HOST_LABEL, min_size=1, max_size=4).map(".".join)


@fuzz(800)
@given(scheme=st.sampled_from(["http", "https", "HTTP"]), host=HOSTS,
       port=st.one_of(st.none(), st.integers(1, 65535)), user=st.sampled_from(["", "u@", "u:p@"]),
       tail=st.sampled_from(["", "/", "/p?q#f", "?q", "#f"]))
def test_host_key_agrees_with_urllib(scheme: str, host: str, port: int | None, user: str,
                                     tail: str) -> None:
    assume(not host.replace(".", "").isdigit())  # (numeric hosts are addresses: other rules)
    url = f"{scheme}://{user}{host}{'' if port is None else f':{port}'}{tail}"
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    assert hostname(url) == parts.hostname
    want = parts.hostname if parts.port in (None, default) else f"{parts.hostname}:{parts.port}"
    assert host_key(url) == want
