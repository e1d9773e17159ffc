"""The ``cookies`` component against real local servers that check what they receive: a login
whose 302 sets the session, sessions side by side (``meta["cookiejar"]``), ``Request(cookies=)``
and a request's own ``Cookie`` header, ``dont_merge_cookies``, public suffixes (host names
resolved to 127.0.0.1 by a stub resolver), Secure cookies, the ``cookies`` setting, and a
``--state`` crawl that resumes logged in. (Host A's cookie never reaching host B:
tests/hostile/test_politeness.py::test_cookies_are_kept_per_host.)"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDict, CIMultiDictProxy

import acrawl
from acrawl.crawler import Crawler
from acrawl.download.downloader import AiohttpDownloader
from acrawl.http import Request, Response
from acrawl.spider import Spider


def html_page(body: str) -> web.Response:
    return web.Response(text=f"<html><body>{body}</body></html>", content_type="text/html")


class LoginSite:
    """``/`` sets ``session=anon``; ``POST /login`` (``user=NAME``) answers 302 to ``/account``
    with a new ``session`` cookie; ``/account`` and ``/private/N`` answer 403 unless that
    cookie is a logged-in session; ``/whoami`` echoes the Cookie header. Every request's
    Cookie header is recorded, by path."""

    def __init__(self, private_pages: int = 3) -> None:
        self.sessions: dict[str, str] = {}  # token -> user
        self.cookies: dict[str, list[str]] = {}
        self.private_pages = private_pages

    def user(self, request: web.Request) -> str | None:
        return self.sessions.get(request.cookies.get("session", ""))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.cookies.setdefault(path, []).append(request.headers.get("Cookie", ""))
        if path == "/":
            resp = html_page("home")
            resp.set_cookie("session", "anon")
            return resp
        if path == "/login":
            user = (await request.post()).get("user", "")
            token = secrets.token_hex(8)
            self.sessions[token] = str(user)
            resp = web.Response(status=302, headers={"Location": "/account"})
            resp.set_cookie("session", token, path="/", httponly=True)
            return resp
        if path == "/whoami":
            return html_page(request.headers.get("Cookie", ""))
        if self.user(request) is None:
            return web.Response(status=403, text="log in first")
        if path == "/account":
            links = "".join(f'<a href="/private/{n}">p</a>' for n in range(self.private_pages))
            return html_page(f"hello {self.user(request)}{links}")
        return html_page(f"secret of {self.user(request)}")

    def routes(self) -> dict[str, Any]:
        return {"/{tail:.*}": self.handle}


class Login(Spider):
    """Logs in (``users``: one session each, ``meta["cookiejar"]``), follows the account's
    links in its session, and asks ``/whoami`` in it."""

    name = "login"
    users = ["alice"]
    settings = {"obey_robots": False, "retry_times": 0}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pages: list[tuple[str, int, Any]] = []
        self.whoami: dict[Any, str] = {}

    def start_requests(self) -> Any:
        base = self.start_urls[0].rstrip("/")
        for n, user in enumerate(self.users):
            meta = {"cookiejar": n} if len(self.users) > 1 else {}
            yield Request(base + "/login", method="POST", body=f"user={user}",
                          headers={"Content-Type": "application/x-www-form-urlencoded"},
                          meta=meta, dont_filter=bool(meta))

    def parse(self, response: Response) -> Any:
        jar = response.meta.get("cookiejar")
        self.pages.append((response.url.split("/", 3)[3], response.status, jar))
        meta = {"cookiejar": jar} if jar is not None else {}
        if response.url.endswith("/account"):
            # (the URLs are the same in every session: dedup would keep one session's)
            yield from response.follow_all(css="a", meta=meta, dont_filter=bool(meta))
            yield response.follow("/whoami", callback=self.who, meta=meta, dont_filter=True)

    def who(self, response: Response) -> None:
        self.whoami[response.meta.get("cookiejar")] = response.css("body::text").get("")


async def test_login_sets_a_session_that_opens_the_private_pages(
        crawl: Any, serve_app: Any) -> None:
    site = LoginSite()
    async with serve_app(site.routes()) as base:
        result, spider = await crawl(Login, start_urls=[base + "/"])
    assert isinstance(spider, Login)
    assert sorted(p for p, status, _ in spider.pages) == [
        "account", "private/0", "private/1", "private/2"]
    [token] = site.sessions
    # the 302's Set-Cookie was stored before its next hop went out
    assert site.cookies["/account"] == [f"session={token}"]
    assert result.stats["http/403"] == 0


async def test_without_cookies_the_login_does_not_stick(crawl: Any, serve_app: Any) -> None:
    site = LoginSite()
    async with serve_app(site.routes()) as base:
        result, spider = await crawl(Login, start_urls=[base + "/"],
                                     settings={"cookies": False})
    assert isinstance(spider, Login) and spider.pages == []
    assert site.cookies["/account"] == [""]
    assert result.stats["http_ignored/403"] == 1
    async with serve_app(site.routes()) as base:
        _, spider = await crawl(Login, start_urls=[base + "/"],
                                settings={"disable": ["cookies"]})
    assert spider.pages == []  # type: ignore[attr-defined]


async def test_a_redirect_sends_the_session_it_set_not_the_one_before(
        crawl: Any, serve_app: Any) -> None:
    """``/`` sets ``session=anon``; the login POST carries it, its 302 replaces it: the next
    hop (a copy of the POST's headers) must carry the new value, not the copied old one."""

    class AnonFirst(Login):
        def start_requests(self) -> Any:
            yield Request(self.start_urls[0], callback=self.then_login)

        def then_login(self, response: Response) -> Any:
            yield from super().start_requests()

    site = LoginSite()
    async with serve_app(site.routes()) as base:
        _, spider = await crawl(AnonFirst, start_urls=[base + "/"])
    [token] = site.sessions
    assert site.cookies["/login"] == ["session=anon"]
    assert site.cookies["/account"] == [f"session={token}"]
    assert len(spider.pages) == 4  # type: ignore[attr-defined]


async def test_two_cookiejar_sessions_do_not_see_each_others_cookies(
        crawl: Any, serve_app: Any) -> None:
    site = LoginSite(private_pages=2)

    class Two(Login):
        users = ["alice", "bob"]

    async with serve_app(site.routes()) as base:
        _, spider = await crawl(Two, start_urls=[base + "/"])
    assert isinstance(spider, Two)
    tokens = {user: token for token, user in site.sessions.items()}
    assert spider.whoami == {0: f"session={tokens['alice']}", 1: f"session={tokens['bob']}"}
    assert sorted((p, jar) for p, _, jar in spider.pages) == [
        ("account", 0), ("account", 1), ("private/0", 0), ("private/0", 1),
        ("private/1", 0), ("private/1", 1)]
    # every request of a session carried that session's cookie and no other
    for path in ("/private/0", "/private/1"):
        assert sorted(site.cookies[path]) == sorted(
            f"session={tokens[u]}" for u in ("alice", "bob")), path


async def test_request_cookies_the_own_header_and_dont_merge_cookies(
        crawl: Any, serve_app: Any) -> None:
    seen: list[tuple[str, str]] = []

    async def echo(request: web.Request) -> web.StreamResponse:
        seen.append((request.path, request.headers.get("Cookie", "")))
        resp = html_page("ok")
        if request.path == "/set":
            resp.set_cookie("srv", "1")
        return resp

    class Steps(Spider):
        name = "steps"
        settings = {"obey_robots": False}
        steps: list[dict[str, Any]] = [
            {"path": "/a", "cookies": {"lang": "fr", "n": 3}},
            {"path": "/b"},  # the jar sends what cookies= put in it
            {"path": "/c", "headers": {"Cookie": "lang=de; own=1"}},  # the request's own wins
            {"path": "/d", "cookies": [{"name": "scoped", "value": "x", "path": "/d"}]},
            {"path": "/e"},  # the /d cookie is for /d only
            {"path": "/set", "cookies": {"solo": "1"}, "meta": {"dont_merge_cookies": True}},
            {"path": "/f"},  # neither solo= nor the /set response's srv= went into the jar
        ]

        def start_requests(self) -> Any:
            yield self._step(0)

        def _step(self, n: int) -> Request:
            step = dict(self.steps[n])
            path = step.pop("path")
            return Request(self.start_urls[0] + path, cb_kwargs={"n": n}, dont_filter=True,
                           **step)

        def parse(self, response: Response, n: int) -> Any:
            if n + 1 < len(self.steps):
                yield self._step(n + 1)

    async with serve_app({"/{tail:.*}": echo}) as base:
        await crawl(Steps, start_urls=[base])
    assert seen == [
        ("/a", "lang=fr; n=3"),
        ("/b", "lang=fr; n=3"),
        ("/c", "lang=de; own=1; n=3"),
        ("/d", "scoped=x; lang=fr; n=3"),
        ("/e", "lang=fr; n=3"),
        ("/set", "solo=1"),
        ("/f", "lang=fr; n=3"),
    ]


# -- public suffixes and Secure: host names resolved to 127.0.0.1 by a stub --------------------


class StubResolver(AbstractResolver):
    """Resolves every name it is given to 127.0.0.1 (the test's servers); records them."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        self.asked.append(host)
        return [ResolveResult(hostname=host, host="127.0.0.1", port=port,
                              family=socket.AF_INET, proto=0, flags=socket.AI_NUMERICHOST)]

    async def close(self) -> None:
        return None


class Visit(Spider):
    """Visits ``visits`` (URLs) one after the other; records the responses."""

    name = "visit"
    settings = {"obey_robots": False, "retry_times": 0}
    visits: list[str] = []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.got: list[str] = []

    def start_requests(self) -> Any:
        yield Request(self.visits[0], cb_kwargs={"n": 0}, dont_filter=True)

    def parse(self, response: Response, n: int) -> Any:
        self.got.append(response.url)
        if n + 1 < len(self.visits):
            yield Request(self.visits[n + 1], cb_kwargs={"n": n + 1}, dont_filter=True)


async def crawl_named_hosts(spider_cls: type[Visit], settings: dict[str, Any] | None = None,
                            extra: Callable[[Crawler], None] | None = None) -> Visit:
    crawler = Crawler.create(spider_cls, spider_args={"start_urls": spider_cls.visits},
                             settings={"timeout": 10, **(settings or {})}, entry_points=False)
    crawler.downloader = AiohttpDownloader.from_settings(
        crawler.settings, trusted=crawler.is_trusted_host, resolver=StubResolver())
    await crawler.crawl()
    assert isinstance(crawler.spider, Visit)
    return crawler.spider


def cookie_site(seen: list[tuple[str, str]]) -> dict[str, Any]:
    """``/set?c=name=value;attrs&c=...`` sets each ``c``; every path records (Host, Cookie)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append((request.host.split(":")[0], request.headers.get("Cookie", "")))
        resp = html_page("ok")
        for value in request.query.getall("c", []):
            resp.headers.add("Set-Cookie", value)
        return resp

    return {"/{tail:.*}": handler}


@pytest.mark.parametrize(("setter", "suffix", "sibling", "registrable"), [
    ("evil.github.io", "github.io", "victim.github.io", "evil.github.io"),
    ("a.example.co.uk", "co.uk", "other.co.uk", "example.co.uk"),
])
async def test_a_cookie_for_a_public_suffix_is_refused(
        setter: str, suffix: str, sibling: str, registrable: str, serve_app: Any) -> None:
    """``Domain=github.io`` from ``evil.github.io`` would reach every github.io site: refused;
    ``Domain=`` the site itself is kept and reaches its subdomains (the control)."""
    seen: list[tuple[str, str]] = []
    async with serve_app(cookie_site(seen)) as base:
        port = base.rsplit(":", 1)[1]
        cookies = "&".join("c=" + quote(c) for c in (f"wide=1; Domain={suffix}; Path=/",
                                                     f"site=2; Domain={registrable}; Path=/"))

        class Suffix(Visit):
            visits = [f"http://{setter}:{port}/set?{cookies}",
                      f"http://{sibling}:{port}/check",
                      f"http://www.{registrable}:{port}/check"]

        spider = await crawl_named_hosts(Suffix)
    assert len(spider.got) == 3
    assert seen == [(setter, ""), (sibling, ""), (f"www.{registrable}", "site=2")]


async def test_a_secure_cookie_is_not_sent_over_http(serve_app: Any) -> None:
    """The https side is a download handler (the test has no TLS server); the http side is
    a real server. ``Secure`` from https stays on https; the plain cookie goes to both."""
    seen: list[tuple[str, str]] = []
    https_seen: list[str] = []

    class FakeHttps:
        def handles(self, request: Request) -> bool:
            return request.url.startswith("https://")

        async def fetch(self, request: Request) -> Response:
            https_seen.append(request.headers.get("Cookie", ""))
            headers = CIMultiDict([("Set-Cookie", "sec=1; Secure; Path=/"),
                                   ("Set-Cookie", "plain=2; Path=/")])
            return Response(url=request.url, status=200, headers=CIMultiDictProxy(headers),
                            body=b"<html></html>", request=request)

        async def close(self) -> None:
            return None

    async with serve_app(cookie_site(seen)) as base:
        port = base.rsplit(":", 1)[1]

        class Secure(Visit):
            visits = ["https://shop.example.com/login", f"http://shop.example.com:{port}/",
                      "https://shop.example.com/again"]

            @acrawl.hookimpl
            def acrawl_download_handler(self, settings: Any, spider: Any) -> Any:
                return FakeHttps()

        spider = await crawl_named_hosts(Secure)
    assert len(spider.got) == 3
    assert seen == [("shop.example.com", "plain=2")]
    assert https_seen == ["", "sec=1; plain=2"]


async def test_request_cookies_do_not_follow_a_redirect_to_another_host(serve_app: Any) -> None:
    """As Scrapy since 2.6 (CVE-2022-0577): ``Request(cookies=)`` are stored for the request's
    host; a redirect to another host does not carry them, the first host still gets them."""
    seen: list[tuple[str, str]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append((request.host.split(":")[0], request.headers.get("Cookie", "")))
        if request.path == "/redirect":
            return web.Response(status=302, headers={"Location": request.query["to"]})
        return html_page("ok")

    async with serve_app({"/{tail:.*}": handler}) as base:
        port = base.rsplit(":", 1)[1]
        away = f"http://b.example.org:{port}/landing"

        class Carry(Visit):
            visits = [f"http://a.example.com:{port}/redirect?to={quote(away)}",
                      f"http://a.example.com:{port}/again", away]

            def start_requests(self) -> Any:
                yield Request(self.visits[0], cb_kwargs={"n": 0}, cookies={"c": "1"},
                              dont_filter=True)

        spider = await crawl_named_hosts(Carry)
    assert len(spider.got) == 3
    assert seen == [("a.example.com", "c=1"), ("b.example.org", ""), ("a.example.com", "c=1"),
                    ("b.example.org", "")]


# -- --state ----------------------------------------------------------------------------------


async def test_a_state_crawl_resumes_logged_in(tmp_path: Path, serve_app: Any) -> None:
    """Stopped after 2 pages (max_pages), the crawl is resumed by a new Crawler on the same
    state: the private pages left for it are fetched with the session cookie -- from the
    state's saved jar, as this process's memory has none -- and all answer 200."""
    site = LoginSite(private_pages=6)

    async def run(**settings: Any) -> Login:
        crawler = Crawler.create(Login, spider_args={"start_urls": [base + "/"]},
                                 settings={"timeout": 10, "concurrency": 1, **settings},
                                 entry_points=False, state_dir=str(tmp_path / "state"))
        await crawler.crawl()
        assert isinstance(crawler.spider, Login)
        return crawler.spider

    async with serve_app(site.routes()) as base:
        first = await run(max_pages=2)
        assert len(first.pages) == 2
        [token] = site.sessions
        before = {path: len(c) for path, c in site.cookies.items()}
        second = await run()
    assert len(site.sessions) == 1  # not logged in again
    resumed = [c for path, cookies in site.cookies.items() if path.startswith("/private/")
               for c in cookies[before.get(path, 0):]]
    assert len(resumed) >= 5, site.cookies
    assert resumed == [f"session={token}"] * len(resumed)
    assert {status for _, status, _ in second.pages} == {200}
    assert len(first.pages) + len(second.pages) == 7  # account + 6 private pages


@pytest.mark.parametrize("cookies", [{"a": "1"}, [{"name": "b", "value": "2", "path": "/x"}]])
async def test_request_cookies_survive_the_queues_and_the_state_codec(cookies: Any) -> None:
    from acrawl.frontier.memory import MemoryQueue
    from acrawl.frontier.sqlite import decode_request, encode_request

    request = Request("http://a.test/", cookies=cookies)
    assert decode_request(encode_request(request)).cookies == cookies
    queue = MemoryQueue()
    await queue.push([request])
    [back] = await queue.pop(1, lambda host: True)
    assert back.cookies == cookies
    assert Request("http://a.test/").cookies is None
    with pytest.raises(TypeError, match="cookies"):
        Request("http://a.test/", cookies="a=1")
