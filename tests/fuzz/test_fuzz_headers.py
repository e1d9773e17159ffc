"""Fuzzing the parsing of header values a server controls: ``Retry-After``, the charset of
``Content-Type`` (and the body it decodes), ``Set-Cookie`` (through the cookie jar the
downloader uses), and a redirect's ``Location`` -- arbitrary bytes, as aiohttp hands them
over (invalid UTF-8 as ``surrogateescape`` surrogates)."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import unquote_to_bytes, urljoin, urlsplit

import aiohttp
from fuzz_profile import fuzz
from hypothesis import assume, given
from hypothesis import strategies as st
from w3lib.encoding import resolve_encoding
from yarl import URL

from acrawl.headers import retry_after_seconds
from acrawl.http import Request, Response
from acrawl.urls import canonicalize, host_key, redirect_url

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def as_aiohttp_gives(raw: bytes) -> str:
    """A header value's bytes as aiohttp's parser turns them into ``str``."""
    return raw.decode("utf-8", "surrogateescape")


#: header-value bytes: anything but CR and LF (which end a header line)
HEADER_BYTES = st.binary(max_size=200).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
HEADER_VALUES = st.one_of(HEADER_BYTES.map(as_aiohttp_gives), st.text(max_size=100))


# -- Retry-After ---------------------------------------------------------------------------------
@fuzz(500)
@given(value=HEADER_VALUES)
def test_retry_after_never_raises_and_is_a_wait_or_none(value: str) -> None:
    wait = retry_after_seconds(value, NOW)
    assert wait is None or (math.isfinite(wait) and wait >= 0)


@fuzz(300)
@given(seconds=st.integers(0, 10**15 - 1), pad=st.sampled_from(["", " ", "\t", "  "]))
def test_retry_after_delta_seconds(seconds: int, pad: str) -> None:
    assert retry_after_seconds(f"{pad}{seconds}{pad}", NOW) == float(seconds)


@fuzz(300)
@given(digits=st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=5))
def test_retry_after_of_non_ascii_digits_is_unusable(digits: str) -> None:
    assume(not digits.isascii())
    assert retry_after_seconds(digits, NOW) is None


@fuzz(300)
@given(offset=st.integers(-10**9, 10**9))
def test_retry_after_http_date(offset: int) -> None:
    when = NOW + timedelta(seconds=offset)
    assert retry_after_seconds(format_datetime(when, usegmt=True), NOW) == max(0.0, offset)


# -- Content-Type charsets -------------------------------------------------------------------------
#: charset labels, written as servers write them; the codec each means is w3lib's (as
#: browsers map labels: iso-8859-1 is windows-1252, shift_jis is cp932, ...)
LABELS = ["utf-8", "UTF8", "iso-8859-1", "latin1", "Windows-1252", "windows-1251", "koi8-r",
          "shift_jis", "euc-jp", "gb2312", "iso-8859-2"]


@fuzz(400)
@given(text=st.text(max_size=200), label=st.sampled_from(LABELS),
       quoted=st.booleans(), extra=st.sampled_from(["", "; boundary=x", " ;format=flowed"]))
def test_a_declared_charset_decodes_the_body(text: str, label: str, quoted: bool,
                                             extra: str) -> None:
    codec = resolve_encoding(label)
    assert codec is not None
    try:
        body = f"<p>{text}</p>".encode(codec)
    except UnicodeEncodeError:
        assume(False)
        return
    assume("\x00" not in text and "\ufeff" not in text[:1])
    value = f'"{label}"' if quoted else label
    response = Response(url="http://a.test/", status=200, body=body,
                        headers={"Content-Type": f"text/html; charset={value}{extra}"},
                        request=Request("http://a.test/"))
    assert response.text == body.decode(codec)


@fuzz(400)
@given(content_type=HEADER_VALUES, body=st.binary(max_size=600))
def test_any_content_type_and_body_decode_and_parse_without_raising(content_type: str,
                                                                   body: bytes) -> None:
    response = Response(url="http://a.test/", status=200, body=body,
                        headers={"Content-Type": content_type},
                        request=Request("http://a.test/"))
    assert isinstance(response.text, str)
    assert isinstance(response.encoding, str)
    response.css("title::text").getall()
    response.xpath("//a/@href").getall()


# -- Set-Cookie ------------------------------------------------------------------------------------
TOKEN = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"),
                min_size=1, max_size=12)


@fuzz(300)
@given(junk=st.lists(HEADER_VALUES, max_size=6), name=TOKEN, value=TOKEN)
def test_set_cookie_values_never_break_the_jar_and_cookies_stay_with_their_host(
        junk: list[str], name: str, value: str) -> None:
    """The jar the downloader uses (``CookieJar(unsafe=True, quote_cookie=False)``), given
    arbitrary ``Set-Cookie`` values along with one good cookie: nothing raises, the good
    cookie goes back to its host and to no other."""
    async def run() -> None:
        jar = aiohttp.CookieJar(unsafe=True, quote_cookie=False)
        here, there = URL("http://127.0.0.1:8000/p"), URL("http://127.0.0.2:8000/p")
        jar.update_cookies_from_headers([*junk, f"{name}={value}; Path=/"], here)
        sent = jar.filter_cookies(here)
        assert name in sent and sent[name].value == value
        assert name not in jar.filter_cookies(there)

    asyncio.run(run())


# -- redirect Location ----------------------------------------------------------------------------
BASES = ["http://a.test/", "http://a.test/d/e/page?q=1#f", "https://b.test:8443/x/",
         "http://127.0.0.1:8080/dir/file"]


@fuzz(600)
@given(base=st.sampled_from(BASES), raw=HEADER_BYTES)
def test_any_location_bytes_give_an_ascii_url_or_a_clean_refusal(base: str, raw: bytes) -> None:
    location = as_aiohttp_gives(raw)
    try:
        target = redirect_url(base, location)
    except ValueError:
        return
    assert target.isascii()
    assert not any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in target), target
    parts = urlsplit(target)
    parts.port  # noqa: B018 - must not raise
    canonicalize(target)
    Request(target)
    if parts.scheme in ("http", "https") and parts.hostname:
        assert host_key(target)
    if ";" not in target:  # (urljoin drops an empty ";params": "/;" becomes "/")
        assert redirect_url(base, target) == target  # already as a browser would send it


#: bytes of one path segment (";" left out: urllib's urljoin drops an empty ";params", as
#: acrawl's link joining does -- it agrees with urljoin; "." and ".." are dot-segments)
SEGMENT_BYTES = st.binary(min_size=1, max_size=40).filter(
    lambda b: not any(c in b for c in b"%?#/\\;") and all(c > 0x20 and c != 0x7F for c in b)
    and b not in (b".", b".."))


@fuzz(500)
@given(base=st.sampled_from(BASES), segment=SEGMENT_BYTES)
def test_location_path_bytes_are_percent_encoded_as_they_are(base: str, segment: bytes) -> None:
    """``Location: /<bytes>``: the path of the target decodes back to exactly those bytes,
    whether they are UTF-8 or not (latin-1, binary)."""
    target = redirect_url(base, as_aiohttp_gives(b"/" + segment))
    assert unquote_to_bytes(urlsplit(target).path) == b"/" + segment
    assert urlsplit(target).netloc == urlsplit(urljoin(base, "/")).netloc
