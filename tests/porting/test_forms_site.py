"""Forms against the quotes site: the CSRF login via ``FormRequest.from_response`` (also
stored and resumed with ``--state``) and the two-step search form."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from quotes_site import AUTHORS, PASSWORD, QUOTES, SECRET_QUOTES, QuotesServer, tags_of

import acrawl
from cli_support import ACRAWL, clean_env


class LoginSpider(acrawl.Spider):
    """Logs in through the form (CSRF token carried), then reads the members-only page."""

    name = "login"
    allowed_hosts = ["127.0.0.1"]
    password = PASSWORD

    def start_requests(self) -> Any:
        yield acrawl.Request(self.start_urls[0] + "login", callback=self.parse_login)

    def parse_login(self, response: acrawl.Response) -> Any:
        yield acrawl.FormRequest.from_response(
            response, formdata={"username": "ann", "password": self.password},
            callback=self.after_login)

    def after_login(self, response: acrawl.Response) -> Any:
        error = response.css("p.error::text").get()
        if error:
            yield {"error": error}
            return
        yield {"logged_in": bool(response.css('a[href="/logout"]')), "url": response.url}
        yield response.follow("/secret", callback=self.parse_secret)

    def parse_secret(self, response: acrawl.Response) -> Any:
        for quote in response.css("div.quote"):
            yield {"secret": quote.css("span.text::text").get(),
                   "author": quote.css("small.author::text").get()}


def _secret_items(base: str) -> list[dict[str, Any]]:
    return [{"logged_in": True, "url": base + "/"}] + [
        {"secret": f"\u201c{q.text}\u201d", "author": AUTHORS[q.author].name}
        for q in SECRET_QUOTES]


def test_login_with_the_csrf_token_then_the_members_page(quotes: QuotesServer) -> None:
    result = acrawl.run(LoginSpider, start_urls=[quotes.base_url + "/"], return_items=True)
    assert result.errors == 0
    assert result.items == _secret_items(quotes.base_url)
    [login] = quotes.site.logins
    assert login["username"] == "ann" and login["password"] == PASSWORD
    assert len(login["csrf_token"]) == 16  # the one the form carried (the server checked it)
    assert quotes.hits["/secret"] == 1 and quotes.hits["/login"] == 2  # GET form, POST


def test_a_wrong_password_gets_the_error_page(quotes: QuotesServer) -> None:
    result = acrawl.run(LoginSpider, start_urls=[quotes.base_url + "/"], password="nope",
                        return_items=True)
    assert result.items == [{"error": "Error while logging in: wrong username or password."}]
    assert quotes.hits["/secret"] == 0


def test_without_login_the_members_page_redirects_to_the_login_form(
        quotes: QuotesServer) -> None:
    class Sneaky(LoginSpider):
        def start_requests(self) -> Any:
            yield acrawl.Request(self.start_urls[0] + "secret", callback=self.parse_secret)

    result = acrawl.run(Sneaky, start_urls=[quotes.base_url + "/"], return_items=True)
    assert result.items == []  # the login form has no quotes
    assert result.stats["redirects"] == 1


def test_a_stored_login_form_request_is_resumed(quotes: QuotesServer, tmp_path: Path) -> None:
    """The first run stops after the login page, with the FormRequest in the state; the
    resumed run sends that POST (body, headers and callback from the database)."""
    state = tmp_path / "state"
    out = tmp_path / "items.jsonl"
    env = {**clean_env(), "ACRAWL_DISABLE_PLUGIN_AUTOLOAD": "1"}
    spider_file = tmp_path / "login_spider.py"
    spider_file.write_text(
        "from test_forms_site import LoginSpider\n\n"
        "class Resumable(LoginSpider):\n    name = 'resumable'\n", encoding="utf-8")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent) + ":" + str(
        Path(__file__).resolve().parent.parent)
    base = [*ACRAWL, str(spider_file), "-a", f"start_urls={quotes.base_url}/", "-o", str(out),
            "--state", str(state), "--no-progress"]
    first = subprocess.run([*base, "--max-pages", "1"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert first.returncode == 0, first.stderr
    assert quotes.site.logins == [] and quotes.hits["/login"] == 1
    second = subprocess.run(base, cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)
    assert second.returncode == 0, second.stderr
    assert "resuming crawl" in second.stderr
    [login] = quotes.site.logins  # the stored POST, with the token of the first run's page
    assert login["username"] == "ann" and login["password"] == PASSWORD
    assert quotes.hits["/login"] == 2  # the form was not fetched again
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert items == _secret_items(quotes.base_url)


class SearchSpider(acrawl.Spider):
    """The two-step search: each author, then each tag the server offers for that author."""

    name = "search"
    allowed_hosts = ["127.0.0.1"]

    def parse(self, response: acrawl.Response) -> Any:
        for author in response.css("select#author option::attr(value)").getall():
            if author:
                yield acrawl.FormRequest.from_response(
                    response, formid="search", formdata={"author": author},
                    callback=self.parse_tags)

    def parse_tags(self, response: acrawl.Response) -> Any:
        # the author is sent as the page selected it, with the view state naming it
        for tag in response.css("select#tag option::attr(value)").getall():
            if tag:
                yield acrawl.FormRequest.from_response(
                    response, formcss="#search", formdata={"tag": tag},
                    callback=self.parse_results)

    def parse_results(self, response: acrawl.Response) -> Any:
        for quote in response.css("div.quote"):
            yield {"author": quote.css("span.author::text").get(),
                   "tag": quote.css("span.tag::text").get(),
                   "quote": quote.css("span.content::text").get()}


def test_the_two_step_search_form(quotes: QuotesServer) -> None:
    result = acrawl.run(SearchSpider, start_urls=[quotes.base_url + "/search"],
                        return_items=True)
    assert result.errors == 0 and result.stats.get("http/400") == 0
    expected = [{"author": AUTHORS[q.author].name, "tag": tag, "quote": q.text}
                for slug in AUTHORS for tag in tags_of(slug)
                for q in QUOTES if q.author == slug and tag in q.tags]
    key = json.dumps
    assert result.items is not None
    assert sorted(map(key, result.items)) == sorted(map(key, expected))
    step_two = sum(len(tags_of(slug)) for slug in AUTHORS)
    assert quotes.hits["/filter"] == len(AUTHORS) + step_two
