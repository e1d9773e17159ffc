"""acrawl.policies.cookiejar: the rules a cookie obeys (RFC 6265 via http.cookiejar, public
suffixes, Secure), per site, and the JSON form saved with --state. The crawl-level tests, with
servers that check what they receive, are in test_cookies.py."""

from __future__ import annotations

import json
import time
from email.utils import formatdate

import pytest

from acrawl.policies.cookiejar import CookieJar, is_public_suffix, site_of


def test_a_host_only_cookie_goes_back_to_its_host_only() -> None:
    jar = CookieJar()
    assert jar.store("http://a.example.com/", ["sid=1"]) == 1
    assert jar.header("http://a.example.com/x") == "sid=1"
    assert jar.header("http://b.example.com/") is None
    assert jar.header("http://sub.a.example.com/") is None  # host-only: not to subdomains
    assert jar.header("http://example.com/") is None


def test_a_domain_cookie_goes_to_the_domain_and_its_subdomains() -> None:
    jar = CookieJar()
    assert jar.store("http://www.example.com/", ["d=1; Domain=example.com"]) == 1
    assert jar.header("http://example.com/") == "d=1"
    assert jar.header("http://a.b.example.com/") == "d=1"
    assert jar.header("http://badexample.com/") is None
    assert jar.header("http://example.org/") is None


def test_a_cookie_for_another_domain_is_refused() -> None:
    jar = CookieJar()
    assert jar.store("http://a.example.com/", ["x=1; Domain=other.com"]) == 0
    assert jar.header("http://other.com/") is None


@pytest.mark.parametrize(("host", "domain"), [
    ("evil.github.io", "github.io"), ("a.example.co.uk", "co.uk"), ("shop.test", "test"),
    ("www.example.com", "com"),
])
def test_a_cookie_for_a_public_suffix_is_refused(host: str, domain: str) -> None:
    assert is_public_suffix(domain)
    jar = CookieJar()
    assert jar.store(f"http://{host}/", [f"all=1; Domain={domain}", f"own=2; Domain={host}"]) == 1
    assert jar.header(f"http://victim.{domain}/") is None
    assert jar.header(f"http://{host}/") == "own=2"


def test_a_public_suffix_host_may_set_a_host_only_cookie_for_itself() -> None:
    """RFC 6265 5.3 step 5: Domain equal to the request host -> a host-only cookie."""
    jar = CookieJar()
    assert jar.store("http://github.io/", ["own=1; Domain=github.io"]) == 1
    assert jar.header("http://github.io/") == "own=1"
    assert jar.header("http://x.github.io/") is None


def test_secure_cookies_go_over_https_only_and_are_not_set_over_http() -> None:
    jar = CookieJar()
    assert jar.store("https://s.example.com/", ["sec=1; Secure", "plain=2"]) == 2
    assert jar.header("https://s.example.com/") == "sec=1; plain=2"
    assert jar.header("http://s.example.com/") == "plain=2"
    assert jar.store("http://t.example.com/", ["sec=1; Secure"]) == 0  # set over http


def test_paths_match_on_segment_boundaries() -> None:
    jar = CookieJar()
    jar.store("http://e.example.com/shop/cart", ["p=1; Path=/shop"])
    assert jar.header("http://e.example.com/shop") == "p=1"
    assert jar.header("http://e.example.com/shop/x") == "p=1"
    assert jar.header("http://e.example.com/shopping") is None
    assert jar.header("http://e.example.com/") is None


def test_ports_are_ignored_and_addresses_are_hosts() -> None:
    jar = CookieJar()
    assert jar.store("http://127.0.0.1:8000/", ["ip=1"]) == 1
    assert jar.header("http://127.0.0.1:9000/") == "ip=1"
    assert jar.header("http://127.0.0.2:8000/") is None
    assert site_of("127.0.0.1") == "127.0.0.1" and site_of("a.b.example.co.uk") == "example.co.uk"


def test_expired_and_deleted_cookies_are_not_sent() -> None:
    jar = CookieJar()
    past = formatdate(time.time() - 3600, usegmt=True)
    assert jar.store("http://e.example.com/", [f"old=1; Expires={past}", "gone=1"]) == 1
    assert jar.header("http://e.example.com/") == "gone=1"
    jar.store("http://e.example.com/", ["gone=; Max-Age=0"])  # the server deletes it
    assert jar.header("http://e.example.com/") is None


def test_dump_and_load_keep_session_cookies_and_rules() -> None:
    jar = CookieJar()
    jar.store("http://www.example.com/", ["sid=1", "d=2; Domain=example.com; Path=/a",
                                          "long=3; Max-Age=3600"])
    site = site_of("www.example.com")
    data = json.loads(json.dumps(jar.dump(site)))  # as stored: plain JSON
    back = CookieJar()
    back.load(site, data)
    for url in ("http://www.example.com/a/b", "http://www.example.com/", "http://x.example.com/a"):
        assert back.header(url) == jar.header(url), url
    assert back.header("http://www.example.com/a") == "d=2; sid=1; long=3"
    assert back.header("http://x.example.com/a") == "d=2"  # host-only stays host-only


@pytest.mark.parametrize("bad", [{"name": "x"}, "cookies", [{"name": 1}], [[1, 2]]])
def test_load_refuses_what_dump_did_not_write(bad: object) -> None:
    with pytest.raises(ValueError):
        CookieJar().load("example.com", bad if isinstance(bad, list) else [bad])  # type: ignore[arg-type]


def test_cached_headers_follow_changes_and_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A site whose cookies all have path "/" has its header cached per (scheme, host): a new
    cookie, a changed one and an expired one must all show in the next header."""
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    jar = CookieJar()
    jar.store("https://www.example.com/", ["s=1; Max-Age=10", "keep=1", "sec=1; Secure"])
    assert jar.header("https://www.example.com/a") == "s=1; keep=1; sec=1"
    assert jar.header("https://www.example.com/b") == "s=1; keep=1; sec=1"  # cached
    assert jar.header("http://www.example.com/b") == "s=1; keep=1"  # scheme is in the key
    jar.store("https://www.example.com/", ["keep=2"])
    assert jar.header("https://www.example.com/c") == "s=1; keep=2; sec=1"
    now[0] += 11  # s has expired
    assert jar.header("https://www.example.com/d") == "keep=2; sec=1"
    jar.store("https://www.example.com/x/y", ["deep=1"])  # path /x: no cache, still right
    assert jar.header("https://www.example.com/x/z") == "deep=1; keep=2; sec=1"
    assert jar.header("https://www.example.com/") == "keep=2; sec=1"
