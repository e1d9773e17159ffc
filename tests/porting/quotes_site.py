"""A quotes site in the spirit of quotes.toscrape.com, for Scrapy-tutorial-style spiders.

Served on 127.0.0.1 only (:class:`QuotesServer`, in a thread, so ``acrawl-run`` in a
subprocess can reach it too). Pages:

* ``/`` and ``/page/N/``: quotes, ``PER_PAGE`` a page, each with its author's name, an
  "(about)" link to ``/author/<slug>/`` and tag links ``/tag/<tag>/``; a pager with
  ``li.next``/``li.previous``. A "Login" link, or "Logout" when logged in.
* ``/author/<slug>/``: name, birth date and place, description.
* ``/tag/<tag>/``: the quotes with that tag.
* ``/login``: a form with a CSRF ``csrf_token`` hidden field (one-time tokens the server
  issued); ``POST /login`` with a valid token and the password ``secret`` sets a ``session``
  cookie and redirects to ``/``; ``/secret`` shows the hidden quotes only with that cookie
  (otherwise it redirects to ``/login``).
* ``/search``: a two-step form (ASP.NET style). Step one selects an author; the server
  answers with the same form, the author *selected*, a ``__VIEWSTATE`` naming it and a tag
  select whose options are that author's tags; step two (author + tag + view state) lists
  the matching quotes. A view state that does not match the author is a 400.
* ``/api/quotes?page=N``: JSON ``{"page", "has_next", "quotes": [...]}`` (an infinite-scroll
  API; 406 unless ``Accept`` asks for JSON); ``POST /api/search`` with a JSON body
  ``{"author": name}`` (415 unless it is ``application/json``).

* ``/shop/`` (a "Shop" link in the header when logged in): products ``/shop/p/N/`` (one
  listed twice, under two URLs; one without a price; ``/shop/p/3/`` answers a "captcha" ban
  page the first time), ``/shop/discontinued/`` and ``/shop/p/90/``, which a well-behaved
  shop spider never fetches.

``server.hits`` counts requests by path (query included); ``server.site.user_agents`` the
``User-Agent`` of each request, and ``server.site.proxied`` the paths asked for in a
proxy's absolute form (``GET http://host/path``).

The content is a :class:`QuoteBook`: by default the small fixed one the tests assert on
(:data:`BOOK`), or a generated one of any size for benchmarks
(``QuoteBook.generated(pages=100, authors=50)``; ``/secret`` is then paginated too).
``python tests/porting/quotes_site.py --pages 100 --authors 50`` serves one and prints its
URL.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import contextlib
import html
import json
import random
import re
import secrets
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiohttp import web

PER_PAGE = 5
PASSWORD = "secret"


@dataclass(frozen=True)
class Author:
    slug: str
    name: str
    born_date: str
    born_location: str
    description: str


@dataclass(frozen=True)
class Quote:
    text: str
    author: str  # slug
    tags: tuple[str, ...]


AUTHORS = {a.slug: a for a in [
    Author("albert-einstein", "Albert Einstein", "March 14, 1879", "Ulm, Germany",
           "Theoretical physicist."),
    Author("jane-austen", "Jane Austen", "December 16, 1775", "Steventon Rectory, England",
           "English novelist."),
    Author("marilyn-monroe", "Marilyn Monroe", "June 01, 1926", "Los Angeles, USA",
           "Actress & model."),
    Author("mark-twain", "Mark Twain", "November 30, 1835", "Florida, Missouri, USA",
           "Humorist <and> writer."),
    Author("andre-gide", "André Gide", "November 22, 1869", "Paris, France",
           "Nobel laureate, 1947."),
]}

QUOTES = [
    Quote("The world as we have created it is a process of our thinking.",
          "albert-einstein", ("change", "thinking", "world")),
    Quote("It is our choices that show what we truly are.", "jane-austen",
          ("choices", "abilities")),
    Quote("There are only two ways to live your life.", "albert-einstein",
          ("inspirational", "life", "miracles")),
    Quote("The person, be it gentleman or lady, who has not pleasure in a good novel, "
          "must be intolerably stupid.", "jane-austen", ("books", "humor", "literature")),
    Quote("Imperfection is beauty, madness is genius.", "marilyn-monroe",
          ("be-yourself", "inspirational")),
    Quote("Try not to become a man of success. Rather become a man of value.",
          "albert-einstein", ("adulthood", "success", "value")),
    Quote("It is better to be hated for what you are than to be loved for what you are not.",
          "andre-gide", ("life", "love")),
    Quote("The man who does not read has no advantage over the man who cannot read.",
          "mark-twain", ("books", "literacy", "reading")),
    Quote("A woman is like a tea bag; you never know how strong it is until it's in hot "
          "water.", "marilyn-monroe", ("misattributed", "humor")),
    Quote("A day without sunshine is like, you know, night.", "mark-twain",
          ("humor", "obvious")),
    Quote("Good friends, good books, and a sleepy conscience: this is the ideal life.",
          "mark-twain", ("books", "contentment", "friends", "life")),
    Quote("If you can't explain it to a six year old, you don't understand it yourself.",
          "albert-einstein", ("simplicity", "understand")),
]
#: shown on /secret to logged-in users only
SECRET_QUOTES = [
    Quote("Well-behaved women seldom make history.", "jane-austen", ("history",)),
    Quote("Classic - a book which people praise and don't read.", "mark-twain",
          ("books", "classic")),
]

PAGES = (len(QUOTES) + PER_PAGE - 1) // PER_PAGE


@dataclass(frozen=True)
class QuoteBook:
    """What the site shows: authors, quotes (``per_page`` a page) and the members' quotes."""

    authors: dict[str, Author]
    quotes: list[Quote]
    secret: list[Quote]
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return (len(self.quotes) + self.per_page - 1) // self.per_page

    @property
    def secret_pages(self) -> int:
        return max(1, (len(self.secret) + self.per_page - 1) // self.per_page)

    def page(self, n: int, quotes: list[Quote] | None = None) -> list[Quote]:
        return (self.quotes if quotes is None else quotes)[
            (n - 1) * self.per_page:n * self.per_page]

    def quote_item(self, q: Quote) -> dict[str, Any]:
        """The item the tutorial spider yields for ``q``."""
        return {"text": f"\u201c{q.text}\u201d", "author": self.authors[q.author].name,
                "tags": list(q.tags)}

    def author_item(self, slug: str) -> dict[str, str]:
        a = self.authors[slug]
        return {"name": a.name, "birthdate": a.born_date, "birthplace": a.born_location,
                "bio": a.description}

    def tags_of(self, slug: str) -> list[str]:
        """An author's tags in first-seen order (the order of the step-two tag options)."""
        out: list[str] = []
        for q in self.quotes:
            if q.author == slug:
                out += [t for t in q.tags if t not in out]
        return out

    @classmethod
    def generated(cls, pages: int = 100, authors: int = 50, per_page: int = 10,
                  seed: str = "quotes") -> QuoteBook:
        """A deterministic book of ``pages`` pages of quotes by ``authors`` authors (each
        with at least one quote), and members' quotes for a tenth as many pages. Texts hold
        non-ASCII letters and the characters HTML escapes."""
        rng = random.Random(seed)
        people: dict[str, Author] = {}
        for k in range(authors):
            first, last = _FIRST[k % len(_FIRST)], _LAST[(k // len(_FIRST)) % len(_LAST)]
            name = f"{first} {last}" + (f" {k // (len(_FIRST) * len(_LAST)) + 1}"
                                        if k >= len(_FIRST) * len(_LAST) else "")
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + f"-{k}"
            people[slug] = Author(slug, name, f"{_MONTHS[k % 12]} {1 + k % 28:02d}, "
                                  f"{1700 + k * 7 % 300}", f"{_PLACES[k % len(_PLACES)]}",
                                  f"Author number {k} — writes about {_WORDS[k % 40]} & "
                                  f"{_WORDS[(k * 3) % 40]} <sometimes>.")
        slugs = list(people)

        def quote(n: int) -> Quote:
            words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 16)))
            author = slugs[n] if n < len(slugs) else rng.choice(slugs)
            tags = tuple(dict.fromkeys(rng.choice(_TAGS) for _ in range(rng.randint(1, 4))))
            return Quote(f"{words.capitalize()} ({n}).", author, tags)

        quotes = [quote(n) for n in range(pages * per_page)]
        secret = [quote(n) for n in range(max(1, pages // 10) * per_page)]
        return cls(people, quotes, secret, per_page)


_FIRST = ["Ann", "Bo", "Chloé", "Dmitri", "Eve", "Farid", "Grace", "Hiro", "Inès", "Jon"]
_LAST = ["Austen", "Brontë", "Camus", "Dickens", "Eliot", "Fitzgerald", "Gide", "Hugo"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
_PLACES = ["Ulm, Germany", "Paris, France", "Kraków, Poland", "Lagos, Nigeria",
           "Kyoto, Japan", "Lima, Peru", "Hobart, Australia"]
_WORDS = ("time life love world truth mind heart book friend dream light night day "
          "change way reason fear hope art beauty work war peace silence music river "
          "city road sea star word idea power money joy sorrow memory child home café "
          "naïve").split()
_TAGS = ["life", "love", "humor", "books", "truth", "inspirational", "friendship", "change",
         "courage", "hope", "wisdom", "writing", "music", "art", "death", "fear", "success",
         "happiness", "time", "mind", "faith", "science", "poetry", "travel", "war",
         "peace", "knowledge", "dreams", "freedom", "simplicity"]

#: the small fixed book every test asserts on
BOOK = QuoteBook(AUTHORS, QUOTES, SECRET_QUOTES, PER_PAGE)


def quote_item(q: Quote) -> dict[str, Any]:
    """The item the tutorial spider yields for ``q`` (of :data:`BOOK`)."""
    return BOOK.quote_item(q)


def author_item(slug: str) -> dict[str, str]:
    return BOOK.author_item(slug)


def tags_of(slug: str) -> list[str]:
    """An author's tags in first-seen order (the order of the step-two tag options)."""
    return BOOK.tags_of(slug)


# -- rendering ------------------------------------------------------------------------------------

e = html.escape


#: the shop's products: (sku, name, price as shown)
PRODUCTS = {1: ("tea-1", "Tea", "£3.50"), 2: ("kettle-2", "Kettle", "£ 1,299.00"),
            3: ("cup-3", "Cup", "£2.00"), 4: ("spoon-4", "Spoon", "")}


def _page(title: str, body: str, *, logged_in: bool = False) -> web.Response:
    login = ('<a href="/logout">Logout</a> <a class="shop" href="/shop/">Shop</a>'
             if logged_in else '<a href="/login">Login</a>')
    text = (f'<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8"><title>{e(title)}'
            f'</title></head><body><div class="container"><div class="header-box">'
            f'<h1><a href="/">Quotes to Scrape</a></h1><p>{login}</p></div>{body}'
            f'<footer><a href="https://example.invalid/about">about</a></footer></div>'
            f'</body></html>')
    return web.Response(text=text, content_type="text/html", charset="utf-8")


def _quote_html(q: Quote, authors: dict[str, Author]) -> str:
    tags = "".join(f'<a class="tag" href="/tag/{e(t)}/">{e(t)}</a>' for t in q.tags)
    return (f'<div class="quote"><span class="text">\u201c{e(q.text)}\u201d</span>'
            f'<span>by <small class="author">{e(authors[q.author].name)}</small> '
            f'<a href="/author/{q.author}/">(about)</a></span>'
            f'<div class="tags">Tags: {tags}</div></div>')


def _pager(n: int, pages: int, href: str = "/page/{}/") -> str:
    items = []
    if n > 1:
        items.append(f'<li class="previous"><a href="{href.format(n - 1)}">'
                     f'<span>\u2190</span> Previous</a></li>')
    if n < pages:
        items.append(f'<li class="next"><a href="{href.format(n + 1)}">Next '
                     f'<span>\u2192</span></a></li>')
    return f'<nav><ul class="pager">{"".join(items)}</ul></nav>'


def _viewstate(author: str) -> str:
    return base64.b64encode(json.dumps({"author": author}).encode()).decode()


class QuotesSite:
    """The aiohttp application and its server-side state (CSRF tokens, sessions, hits)."""

    def __init__(self, book: QuoteBook = BOOK) -> None:
        self.book = book
        self.hits: Counter[str] = Counter()
        self.tokens: set[str] = set()
        self.sessions: set[str] = set()
        self.logins: list[dict[str, str]] = []  # the form data of each POST /login
        self.user_agents: Counter[str] = Counter()
        self.proxied: list[str] = []

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._count])
        r = app.router
        r.add_get("/", self.quotes_page)
        r.add_get("/page/{n:\\d+}/", self.quotes_page)
        r.add_get("/author/{slug}/", self.author)
        r.add_get("/tag/{tag}/", self.tag)
        r.add_get("/login", self.login_form)
        r.add_post("/login", self.login)
        r.add_get("/secret", self.secret)
        r.add_get("/search", self.search)
        r.add_post("/filter", self.filter)
        r.add_get("/api/quotes", self.api_quotes)
        r.add_post("/api/search", self.api_search)
        r.add_get("/shop/", self.shop)
        r.add_get("/shop/p/{n:\\d+}/", self.product)
        return app

    @web.middleware
    async def _count(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.hits[request.path_qs] += 1
        self.user_agents[request.headers.get("User-Agent", "")] += 1
        if request.raw_path.startswith("http"):
            self.proxied.append(request.path_qs)
        return await handler(request)

    def _logged_in(self, request: web.Request) -> bool:
        return request.cookies.get("session", "") in self.sessions

    # -- pages --------------------------------------------------------------------------------
    async def quotes_page(self, request: web.Request) -> web.Response:
        book = self.book
        n = int(request.match_info.get("n", "1"))
        if not 1 <= n <= book.pages:
            raise web.HTTPNotFound()
        body = "".join(_quote_html(q, book.authors) for q in book.page(n)) + _pager(
            n, book.pages)
        return _page("Quotes to Scrape", body, logged_in=self._logged_in(request))

    async def author(self, request: web.Request) -> web.Response:
        a = self.book.authors.get(request.match_info["slug"])
        if a is None:
            raise web.HTTPNotFound()
        body = (f'<div class="author-details"><h3 class="author-title">{e(a.name)}\n    </h3>'
                f'<p><strong>Born:</strong> <span class="author-born-date">{e(a.born_date)}'
                f'</span> <span class="author-born-location">in {e(a.born_location)}</span>'
                f'</p><div class="author-description">\n  {e(a.description)}\n</div></div>')
        return _page(a.name, body)

    async def tag(self, request: web.Request) -> web.Response:
        tag = request.match_info["tag"]
        shown = [q for q in self.book.quotes if tag in q.tags]
        return _page(f"Quotes tagged {tag}", f"<h3>Viewing tag: {e(tag)}</h3>"
                     + "".join(_quote_html(q, self.book.authors) for q in shown))

    # -- login --------------------------------------------------------------------------------
    async def login_form(self, request: web.Request) -> web.Response:
        token = secrets.token_hex(8)
        self.tokens.add(token)
        body = ('<form action="/login" method="post" accept-charset="utf-8">'
                f'<input type="hidden" name="csrf_token" value="{token}">'
                '<label for="username">Username</label>'
                '<input type="text" class="form-control" id="username" name="username">'
                '<label for="password">Password</label>'
                '<input type="password" class="form-control" id="password" name="password">'
                '<input type="submit" value="Login" class="btn btn-primary"></form>')
        return _page("Login", body)

    async def login(self, request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/x-www-form-urlencoded":
            raise web.HTTPUnsupportedMediaType()
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.logins.append(form)
        token = form.get("csrf_token", "")
        if token not in self.tokens:
            raise web.HTTPForbidden(text="CSRF token missing or incorrect")
        self.tokens.discard(token)
        if not form.get("username") or form.get("password") != PASSWORD:
            return _page("Login", '<p class="error">Error while logging in: wrong username '
                         'or password.</p>')
        session = secrets.token_hex(8)
        self.sessions.add(session)
        response = web.HTTPFound("/")
        response.set_cookie("session", session, path="/")
        raise response

    async def secret(self, request: web.Request) -> web.Response:
        if not self._logged_in(request):
            raise web.HTTPFound("/login")
        book = self.book
        n = int(request.query.get("page", "1"))
        if not 1 <= n <= book.secret_pages:
            raise web.HTTPNotFound()
        body = "".join(_quote_html(q, book.authors) for q in book.page(n, book.secret))
        return _page("Secret quotes", '<h2 class="secret">Secret quotes</h2>' + body
                     + _pager(n, book.secret_pages, "/secret?page={}"), logged_in=True)

    # -- the two-step search form ---------------------------------------------------------------
    def _search_form(self, author: str = "", tags: list[str] | None = None) -> str:
        options = ['<option value="">----------</option>']
        for a in sorted(self.book.authors.values(), key=lambda a: a.name):
            selected = " selected" if a.name == author else ""
            options.append(f'<option value="{e(a.name)}"{selected}>{e(a.name)}</option>')
        tag_options = ['<option value="">----------</option>']
        tag_options += [f'<option value="{e(t)}">{e(t)}</option>' for t in tags or []]
        return ('<form action="/filter" method="post" id="search">'
                '<label for="author">Author</label>'
                f'<select id="author" name="author">{"".join(options)}</select>'
                '<label for="tag">Tag</label>'
                f'<select id="tag" name="tag">{"".join(tag_options)}</select>'
                f'<input type="hidden" name="__VIEWSTATE" value="{_viewstate(author)}">'
                '<input type="submit" name="submit_button" value="Search"></form>')

    async def search(self, request: web.Request) -> web.Response:
        return _page("Search", self._search_form())

    async def filter(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        book = self.book
        author, tag = form.get("author", ""), form.get("tag", "")
        slug = next((s for s, a in book.authors.items() if a.name == author), None)
        state = form.get("__VIEWSTATE", "")
        if slug is None:
            raise web.HTTPBadRequest(text="choose an author")
        if not tag:  # step one: the author chosen; offer that author's tags
            if state != _viewstate(""):
                raise web.HTTPBadRequest(text="bad view state")
            return _page("Search", self._search_form(author, book.tags_of(slug)))
        if state != _viewstate(author) or tag not in book.tags_of(slug):
            raise web.HTTPBadRequest(text="bad view state or tag")
        shown = [q for q in book.quotes if q.author == slug and tag in q.tags]
        results = "".join(
            f'<div class="quote"><span class="content">{e(q.text)}</span>'
            f'<span class="author">{e(author)}</span><span class="tag">{e(tag)}</span></div>'
            for q in shown)
        return _page("Search results", self._search_form(author, book.tags_of(slug))
                     + results)

    # -- the shop -------------------------------------------------------------------------------
    async def shop(self, request: web.Request) -> web.Response:
        hrefs = ["/shop/p/1/", "/shop/p/1/?ref=home", *(f"/shop/p/{n}/" for n in PRODUCTS
                                                      if n > 1),
                 "/shop/discontinued/", "/shop/p/90/", "/shop/"]
        return _page("Shop", "".join(f'<a href="{h}">{h}</a>' for h in hrefs))

    async def product(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n not in PRODUCTS:
            raise web.HTTPNotFound()
        if n == 3 and self.hits[request.path] == 1:
            return _page("Are you a robot?", '<form class="captcha">solve this</form>')
        sku, name, price = PRODUCTS[n]
        return _page(name, f'<h1>{e(name)}</h1><span class="sku">{sku}</span>'
                     f'<p class="price">{e(price)}</p>')

    # -- JSON ------------------------------------------------------------------------------------
    def _api_quote(self, q: Quote) -> dict[str, Any]:
        a = self.book.authors[q.author]
        return {"text": q.text, "tags": list(q.tags),
                "author": {"name": a.name, "slug": a.slug}}

    async def api_quotes(self, request: web.Request) -> web.Response:
        if "application/json" not in request.headers.get("Accept", ""):
            raise web.HTTPNotAcceptable(text="this API answers JSON only")
        n = int(request.query.get("page", "1"))
        shown = self.book.page(n)
        return web.json_response({"page": n, "has_next": n < self.book.pages,
                                  "quotes": [self._api_quote(q) for q in shown]})

    async def api_search(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(text="send JSON")
        query = await request.json()
        authors = self.book.authors
        shown = [q for q in self.book.quotes if authors[q.author].name == query.get("author")]
        return web.json_response({"quotes": [self._api_quote(q) for q in shown]})


class QuotesServer:
    """Serves a :class:`QuotesSite` on 127.0.0.1 from a daemon thread.

    >>> with QuotesServer() as server:
    ...     server.base_url       # doctest: +SKIP
    'http://127.0.0.1:41234'
    """

    def __init__(self, book: QuoteBook = BOOK) -> None:
        self.site = QuotesSite(book)
        self._loop = asyncio.new_event_loop()
        ready: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True,
                                        name="quotes-site")
        self._thread.start()
        self.base_url = ready.result(timeout=10)

    @property
    def hits(self) -> Counter[str]:
        return self.site.hits

    def _serve(self, ready: concurrent.futures.Future[str]) -> None:
        asyncio.set_event_loop(self._loop)
        runner = web.AppRunner(self.site.app(), access_log=None, handle_signals=False)
        try:
            self._loop.run_until_complete(runner.setup())
            tcp = web.TCPSite(runner, "127.0.0.1", 0)
            self._loop.run_until_complete(tcp.start())
        except BaseException as exc:
            ready.set_exception(exc)
            return
        ready.set_result(f"http://127.0.0.1:{runner.addresses[0][1]}")
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> QuotesServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> None:
    """Serve a site (the fixed book, or a generated one) on 127.0.0.1 and print its URL."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--pages", type=int, help="pages of quotes (a generated book)")
    parser.add_argument("--authors", type=int, default=50)
    parser.add_argument("--per-page", type=int, default=10)
    args = parser.parse_args(argv)
    book = BOOK if args.pages is None else QuoteBook.generated(
        args.pages, args.authors, args.per_page)
    with QuotesServer(book) as srv:
        print(srv.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":  # python tests/porting/quotes_site.py [--pages 100]: browse it
    main()
