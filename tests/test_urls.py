"""acrawl.urls: canonical form, fingerprints, politeness keys, schemes."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acrawl.http import Request
from acrawl.policies.allowed_hosts import HostMatcher
from acrawl.urls import (
    FETCHABLE_SCHEMES,
    canonicalize,
    fingerprint,
    host_key,
    redirect_url,
    scheme_of,
)


def fp(url: str, **kw: object) -> bytes:
    return fingerprint(Request(url, **kw))  # type: ignore[arg-type]


# -- equivalent spellings: same fingerprint ------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("HTTP://EXAMPLE.COM/a", "http://example.com/a"),
        ("http://Example.Com/a", "http://example.com/a"),
        ("http://example.com/a#frag", "http://example.com/a"),
        ("http://example.com/a#", "http://example.com/a"),
        ("http://example.com/a?b=2&a=1", "http://example.com/a?a=1&b=2"),
        ("http://example.com/a?b=2&a=1#x", "http://example.com/a?a=1&b=2#y"),
        ("http://example.com/%7Euser", "http://example.com/~user"),
        ("http://example.com/caf%C3%A9", "http://example.com/café"),
        ("http://example.com/caf%c3%a9", "http://example.com/caf%C3%A9"),
        ("http://example.com/a%20b", "http://example.com/a b"),
        ("http://example.com/%41", "http://example.com/A"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com/?", "http://example.com/"),
        ("http://example.com/x/./y/../z", "http://example.com/x/z"),
    ],
)
def test_equivalent_urls_have_equal_fingerprints(a: str, b: str) -> None:
    assert canonicalize(a) == canonicalize(b)
    assert fp(a) == fp(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("HTTP://Example.COM:80/a?b=1&a=2#f", "http://example.com/a?a=2&b=1"),
        ("http://example.com:80", "http://example.com/"),
        ("http://[::1]:80/a", "http://[::1]/a"),
        ("http://user@example.com:80/a", "http://user@example.com/a"),
    ],
)
def test_default_port_is_dropped(a: str, b: str) -> None:
    # urls.py promises "default ports" are normalised; w3lib keeps ":80", so without it
    # http://h:80/x and http://h/x are fetched twice.
    assert canonicalize(a) == canonicalize(b)
    assert fp(a) == fp(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("http://example.com/a", "http://example.com/b"),
        ("http://example.com/a", "http://example.com/a/"),
        ("http://example.com/a", "https://example.com/a"),
        ("http://example.com/a", "http://example.com:8080/a"),
        ("http://example.com/a", "http://example.org/a"),
        ("http://example.com/a?x=1", "http://example.com/a?x=2"),
        ("http://example.com/a?x=1", "http://example.com/a"),
        ("http://example.com/A", "http://example.com/a"),  # paths are case-sensitive
        ("http://example.com:8080/a", "http://example.com:80/a"),
        ("http://example.com:180/a", "http://example.com/a"),
        ("https://example.com:80/a", "https://example.com/a"),
        ("http://example.com:443/a", "http://example.com/a"),
    ],
)
def test_different_urls_have_different_fingerprints(a: str, b: str) -> None:
    assert fp(a) != fp(b)


def test_method_and_body_are_part_of_the_fingerprint() -> None:
    url = "http://example.com/form"
    get, post = fp(url), fp(url, method="POST")
    assert get != post
    assert fp(url, method="post") == post  # the method is upper-cased
    assert fp(url, method="POST", body=b"a=1") != post
    assert fp(url, method="POST", body=b"a=1") != fp(url, method="POST", body=b"a=2")
    assert fp(url, method="POST", body="a=1") == fp(url, method="POST", body=b"a=1")
    assert fp(url, method="PUT", body=b"a=1") != fp(url, method="POST", body=b"a=1")
    assert fp(url, method="HEAD") != get


def test_get_with_empty_body_is_a_plain_get() -> None:
    assert fp("http://e.com/", body=b"") == fp("http://e.com/")


def test_fingerprint_ignores_non_identity_fields() -> None:
    url = "http://example.com/a"
    assert fp(url) == fingerprint(
        Request(url, headers={"X": "1"}, meta={"m": 1}, priority=5, cb_kwargs={"k": 2},
                depth=3, referer="http://r/")
    )


def test_fingerprint_is_16_bytes() -> None:
    for url in ("http://example.com/", "https://a.b/" + "x" * 5000):
        digest = fp(url)
        assert isinstance(digest, bytes)
        assert len(digest) == 16
    assert len(fp("http://e.com/", method="POST", body=b"x" * 10_000)) == 16


def test_canonicalize_keeps_unparseable_input() -> None:
    assert isinstance(canonicalize("http://[::1/"), str)  # invalid IPv6 literal: no raise


# -- host_key --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://example.com/a", "example.com"),
        ("http://EXAMPLE.com/", "example.com"),
        ("HTTP://example.com:80/", "example.com"),
        ("https://example.com:443/x?y#z", "example.com"),
        ("http://example.com:443/", "example.com:443"),
        ("https://example.com:80/", "example.com:80"),
        ("http://example.com:8080/", "example.com:8080"),
        ("http://user:secret@example.com/", "example.com"),
        ("http://user@Example.com:81/", "example.com:81"),
        ("http://example.com?q=a@b", "example.com"),
        ("http://example.com#a@b", "example.com"),
        ("http://[::1]/", "[::1]"),
        ("http://[::1]:8080/x", "[::1]:8080"),
        ("https://[2001:DB8::1]:443/", "[2001:db8::1]"),
        ("http://127.0.0.1:8000/", "127.0.0.1:8000"),
        # the host as the HTTP client connects to it: IDNA, Unicode dots and digits folded
        ("http://b\u00fccher.test/", "xn--bcher-kva.test"),
        ("http://127\u30020\u30020\u30022:81/", "127.0.0.2:81"),
        ("http://\uff11\uff12\uff17.0.0.1/", "127.0.0.1"),
        ("http://\uff2c\uff2f\uff23\uff21\uff2c\uff28\uff2f\uff33\uff34/", "localhost"),
        ("http://a\u200bb.test/", ""),  # not a host name: the request is dropped as invalid
        ("mailto:someone@example.com", ""),
        ("/relative/path", ""),
    ],
)
def test_host_key(url: str, key: str) -> None:
    assert host_key(url) == key


def test_request_host_is_host_key() -> None:
    assert Request("http://User@A.example:80/x").host == "a.example"


def test_allowed_hosts_match_unicode_and_ascii_spellings() -> None:
    m = HostMatcher(["b\u00fccher.test", ".ex\u00e4mple.test", "\uff42ar.test:8000"])
    assert m.allows("http://xn--bcher-kva.test/") and m.allows("http://B\u00fccher.test/x")
    assert m.allows("http://shop.xn--exmple-cua.test/") and m.allows("http://a.ex\u00e4mple.test/")
    assert m.allows("http://bar.test:8000/") and not m.allows("http://bar.test:8001/")
    assert not m.allows("http://bucher.test/")


# -- scheme_of -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("http://e.com/", "http"),
        ("HTTPS://e.com/", "https"),
        ("mailto:x@y.z", "mailto"),
        ("javascript:void(0)", "javascript"),
        (" JavaScript:alert(1)", "javascript"),
        ("tel:+123", "tel"),
        ("ftp://e.com/f", "ftp"),
        ("data:text/plain,hi", "data"),
        ("file:///etc/passwd", "file"),
        ("/path/with:colon", ""),
        ("a/b:c", ""),
        ("//e.com/x", ""),
        ("relative", ""),
        ("", ""),
    ],
)
def test_scheme_of(url: str, scheme: str) -> None:
    assert scheme_of(url) == scheme


def test_fetchable_schemes() -> None:
    assert frozenset({"http", "https"}) == FETCHABLE_SCHEMES


# -- properties ------------------------------------------------------------------------------------

# Raw whitespace/control characters are excluded: browsers strip them from URL ends, so they
# are not "the same URL" in every position. Their percent-encoded forms are included.
_segment = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/?#%\\",
                           exclude_categories=["Cs", "Cc", "Cf", "Zs", "Zl", "Zp"]),
    min_size=1, max_size=8,
) | st.sampled_from(["%20", "%2F", "caf%C3%A9", "a%7Eb", ".", "..", "x;y=1"])
_key = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=6)
_value = st.lists(
    st.sampled_from(
        ["a", "Z", "0", "~", "-", ".", "_", "%20", "+", "%C3%A9", "é", "%2F", "/", ":"]),
    max_size=4,
).map("".join)
_params = st.lists(st.tuples(_key, _value), max_size=6)
_host = st.sampled_from(["example.com", "Example.COM", "a.b.example", "127.0.0.1", "[::1]"])
_scheme = st.sampled_from(["http", "https", "HTTP"])
_fragment = st.one_of(st.none(), st.text(alphabet="abc123-_ /", max_size=8))


def _build(scheme: str, host: str, segments: list[str], params: list[tuple[str, str]],
           fragment: str | None) -> str:
    url = f"{scheme}://{host}/" + "/".join(segments)
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params)
    if fragment is not None:
        url += "#" + fragment
    return url


@settings(max_examples=120, deadline=None)
@given(_scheme, _host, st.lists(_segment, max_size=4), _params, _fragment)
def test_canonicalize_is_idempotent(
    scheme: str, host: str, segments: list[str], params: list[tuple[str, str]],
    fragment: str | None,
) -> None:
    once = canonicalize(_build(scheme, host, segments, params, fragment))
    assert canonicalize(once) == once
    assert "#" not in once


@settings(max_examples=120, deadline=None)
@given(
    _scheme, _host, st.lists(_segment, max_size=4), _params, _fragment, _fragment,
    st.randoms(use_true_random=False),
)
def test_fingerprint_invariant_under_param_order_and_fragment(
    scheme: str, host: str, segments: list[str], params: list[tuple[str, str]],
    frag1: str | None, frag2: str | None, rnd: object,
) -> None:
    shuffled = list(params)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a = _build(scheme, host, segments, params, frag1)
    b = _build(scheme, host, segments, shuffled, frag2)
    assert canonicalize(a) == canonicalize(b)
    assert fp(a) == fp(b)


@settings(max_examples=100, deadline=None)
@given(_host, st.lists(_segment, min_size=1, max_size=3), _params)
def test_canonical_url_keeps_host_and_scheme(
    host: str, segments: list[str], params: list[tuple[str, str]],
) -> None:
    url = _build("HTTP", host, segments, params, None)
    canon = urlsplit(canonicalize(url))
    assert canon.scheme == "http"
    assert canon.hostname == urlsplit(url).hostname
    assert host_key(canonicalize(url)) == host_key(url)


@settings(max_examples=100, deadline=None)
@given(_key, _key)
def test_distinct_paths_distinct_fingerprints(a: str, b: str) -> None:
    assert (fp(f"http://e.com/{a}") == fp(f"http://e.com/{b}")) is (a == b)


@settings(max_examples=200, deadline=None)
@given(_scheme, _host, st.lists(_segment, max_size=4), _params, _fragment)
def test_fingerprint_of_url_with_fragment_is_the_digest_of_its_whole_canonical_form(
    scheme: str, host: str, segments: list[str], params: list[tuple[str, str]],
    fragment: str | None,
) -> None:
    # fingerprint() cuts the fragment before its cache lookup; w3lib drops it too
    from acrawl.urls import _url_digest

    url = _build(scheme, host, segments, params, fragment)
    assert fp(url) == _url_digest.__wrapped__(url)


# -- redirect Location -----------------------------------------------------------------------
@pytest.mark.parametrize(("location", "target"), [
    ("/caf\udce9?q=\udce9", "http://a.test/caf%E9?q=%E9"),  # latin-1 bytes, as aiohttp gives them
    ("/caf\u00e9", "http://a.test/caf%C3%A9"),  # UTF-8 bytes decode to text: UTF-8 %-encoded
    ("  next  ", "http://a.test/d/next"),
    ("//b.test/x y", "http://b.test/x%20y"),
    ("http://b\u00fccher.test/", "http://xn--bcher-kva.test/"),
    ("?p=2", "http://a.test/d/page?p=2"),
    ("mailto:x@y.test", "mailto:x@y.test"),
])
def test_redirect_url(location: str, target: str) -> None:
    assert redirect_url("http://a.test/d/page?p=1", location) == target


@pytest.mark.parametrize("location", ["//[", "http://[\udce9::1/", "http://a.test:99999/",
                                      "/\ud800"])
def test_redirect_url_refuses_what_is_no_url(location: str) -> None:
    with pytest.raises(ValueError):
        redirect_url("http://a.test/", location)
