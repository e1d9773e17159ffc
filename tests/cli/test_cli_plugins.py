"""User plugins from the command line (``-p MODULE``) and from the ``acrawl`` entry points."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_support import (
    PagesSite,
    Runner,
    assert_ok,
    assert_usage_error,
    describe,
    read_jsonl,
    write_module,
)

from acrawl.demo.site import LinkSite

MYPLUG = '''
    """A user plugin: a URL filter, a link extractor, a sink and a setting."""
    import json
    from pathlib import Path

    from acrawl import Setting, hookimpl

    _state = {"drop": "/q/"}

    @hookimpl
    def acrawl_add_settings():
        return [Setting("myplug_drop", str, "/q/", "URLs containing this are dropped")]

    @hookimpl
    def acrawl_crawl_opened(spider, settings):
        _state["drop"] = settings["myplug_drop"]

    @hookimpl
    def acrawl_filter_url(url, request, spider):
        return False if _state["drop"] in url else None

    @hookimpl
    def acrawl_extract_links(response, spider):
        out = response.css("[data-href]::attr(data-href)").getall()
        if response.url.endswith("/"):
            out.append("/plugin-extra")  # linked nowhere in the HTML
        return out

    class MemSink:
        """mem://NAME -> collects items, writes mem-NAME.json (items, write calls) on close."""

        def __init__(self, name):
            self.path = Path.cwd() / f"mem-{name}.json"
            self.items, self.writes, self.opened = [], 0, False

        async def open(self):
            self.opened = True

        async def write(self, items):
            assert self.opened
            self.items.extend(items)
            self.writes += 1

        async def close(self):
            self.path.write_text(json.dumps({"items": self.items, "writes": self.writes}))

    class FailSink:
        async def open(self):
            pass

        async def write(self, items):
            raise OSError("fail sink cannot write")

        async def close(self):
            pass

    @hookimpl
    def acrawl_open_sink(uri, settings):
        if uri.startswith("mem://"):
            return MemSink(uri[len("mem://"):])
        if uri.startswith("fail://"):
            return FailSink()
        return None
'''


@pytest.fixture
def plugdir(tmp_path: Path) -> Path:
    folder = tmp_path / "plugins"
    write_module(folder, "myplug.py", MYPLUG)
    return folder


def test_plugin_filter_extractor_and_sink_take_effect(acrawl: Runner, tmp_path: Path,
                                                      plugdir: Path, serve) -> None:
    srv = serve(LinkSite(pages=100))
    base = srv.base_url
    result = acrawl.run("links", "-a", f"url={base}/", "-p", "myplug", "-o", "mem://alpha",
                        "-o", "out.jsonl", "--stats", "stats.json", pythonpath=[plugdir])
    assert_ok(result)
    items = read_jsonl(tmp_path / "out.jsonl")
    urls = {it["url"] for it in items}
    pages = srv.site.page_urls(base)
    # the filter: no /q/ page is in the output nor was ever requested
    assert not [u for u in urls if "/q/" in u]
    assert not [u for u in srv.hits if "/q/" in u], "a filtered URL was fetched"
    assert urls - {base + "/plugin-extra"} == {u for u in pages if "/q/" not in u}
    # the link extractor: /plugin-extra (linked nowhere) was crawled, a 404 item
    extra = [it for it in items if it["url"] == base + "/plugin-extra"]
    assert len(extra) == 1 and extra[0]["status"] == 404, extra
    assert srv.hits[base + "/plugin-extra"] == 1
    # the sink got exactly what the JSONL sink got
    mem = json.loads((tmp_path / "mem-alpha.json").read_text())
    assert mem["writes"] >= 1
    assert sorted(json.dumps(i, sort_keys=True) for i in mem["items"]) == sorted(
        json.dumps(i, sort_keys=True) for i in items)
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats.get("filtered/myplug", 0) >= 1, stats


def test_without_the_plugin_nothing_is_filtered(acrawl: Runner, tmp_path: Path,
                                                plugdir: Path, serve) -> None:
    """The control run: same site, no ``-p``: /q/ pages appear, no /plugin-extra, and the
    plugin's sink scheme and setting are unknown."""
    srv = serve(LinkSite(pages=100))
    base = srv.base_url
    result = acrawl.run("links", "-a", f"url={base}/", "-o", "out.jsonl", pythonpath=[plugdir])
    assert_ok(result)
    urls = {it["url"] for it in read_jsonl(tmp_path / "out.jsonl")}
    assert urls == srv.site.page_urls(base)
    assert_usage_error(acrawl.run("links", "-a", f"url={base}/", "-o", "mem://x",
                                  pythonpath=[plugdir]), "mem://x")
    assert_usage_error(acrawl.run("links", "-a", f"url={base}/", "-s", "myplug_drop=/p/",
                                  pythonpath=[plugdir]), "myplug_drop")


def test_plugin_setting_is_validated_and_used(acrawl: Runner, tmp_path: Path, plugdir: Path,
                                              serve) -> None:
    srv = serve(LinkSite(pages=60))
    base = srv.base_url
    result = acrawl.run("links", "-a", f"url={base}/", "-p", "myplug", "-s", "myplug_drop=/p/",
                        "-o", "out.jsonl", pythonpath=[plugdir])
    assert_ok(result)
    urls = {it["url"] for it in read_jsonl(tmp_path / "out.jsonl")}
    assert urls, describe(result)
    assert not [u for u in urls if "/p/" in u]
    assert [u for u in urls if "/q/" in u], "the setting did not replace the default"


def test_plugin_link_extractor_reads_data_href(acrawl: Runner, tmp_path: Path, plugdir: Path,
                                               serve) -> None:
    site = PagesSite({
        "/": '<html><title>Home</title><body><a href="/a">A</a>'
             '<div data-href="/hidden">not a link</div></body></html>',
        "/a": "<html><title>A</title><body>leaf</body></html>",
        "/hidden": "<html><title>Hidden</title><body>only via data-href</body></html>",
    })
    srv = serve(site)
    base = srv.base_url
    result = acrawl.run("links", "-a", f"url={base}/", "-p", "myplug", "-o", "out.jsonl",
                        pythonpath=[plugdir])
    assert_ok(result)
    by_url = {it["url"]: it for it in read_jsonl(tmp_path / "out.jsonl")}
    assert by_url[base + "/hidden"]["title"] == "Hidden"
    assert by_url[base + "/hidden"]["referer"] == base + "/"
    assert by_url[base + "/a"]["status"] == 200
    # without the plugin, /hidden is not found
    plain = acrawl.run("links", "-a", f"url={base}/", "-o", "plain.jsonl")
    assert_ok(plain)
    assert {it["url"] for it in read_jsonl(tmp_path / "plain.jsonl")} == {base + "/",
                                                                           base + "/a"}


def test_failing_sink_exits_1_and_other_sinks_get_every_item(acrawl: Runner, tmp_path: Path,
                                                             plugdir: Path, serve) -> None:
    srv = serve(LinkSite(pages=40))
    base = srv.base_url
    result = acrawl.run("links", "-a", f"url={base}/", "-p", "myplug", "-s", "myplug_drop=#none",
                        "-o", "fail://x", "-o", "out.jsonl", pythonpath=[plugdir])
    assert_ok(result, 1)
    urls = {it["url"] for it in read_jsonl(tmp_path / "out.jsonl")}
    assert urls - {base + "/plugin-extra"} == srv.site.page_urls(base)
    assert "fail sink cannot write" in result.stderr


def test_async_hook_is_refused(acrawl: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    write_module(folder, "asyncplug.py", '''
        from acrawl import hookimpl

        @hookimpl
        async def acrawl_crawl_opened(spider, settings):
            pass
    ''')
    result = acrawl.run("links", "-a", "url=http://127.0.0.1:9/", "-p", "asyncplug",
                        pythonpath=[folder])
    line = assert_usage_error(result, "asyncplug", "acrawl_crawl_opened")
    assert "async" in line


def test_async_hook_on_a_spider_is_refused(acrawl: Runner, tmp_path: Path) -> None:
    write_module(tmp_path, "hooky.py", '''
        import acrawl

        class Hooky(acrawl.Spider):
            name = "hooky"
            start_urls = ["http://127.0.0.1:9/"]

            @acrawl.hookimpl
            async def acrawl_item_scraped(self, item):
                pass

            def parse(self, response):
                return None
    ''')
    line = assert_usage_error(acrawl.run("hooky.py"), "acrawl_item_scraped")
    assert "async" in line


@pytest.mark.parametrize("module", ["nonexistent.module", "nonexistent_acrawl_plugin_xyz"])
def test_missing_plugin_module(acrawl: Runner, module: str) -> None:
    result = acrawl.run("links", "-a", "url=http://127.0.0.1:9/", "-p", module)
    assert_usage_error(result, module)


def test_plugin_raising_on_import(acrawl: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    write_module(folder, "brokenplug.py", 'raise RuntimeError("plugin init exploded")\n')
    result = acrawl.run("links", "-a", "url=http://127.0.0.1:9/", "-p", "brokenplug",
                        pythonpath=[folder])
    assert_usage_error(result, "brokenplug", "plugin init exploded")


# ------------------------------------------------------------------------------------------------
# entry points
# ------------------------------------------------------------------------------------------------


def _fake_distribution(folder: Path) -> None:
    """An installed-looking distribution (a .dist-info on the path) declaring an ``acrawl``
    entry point ``epplug = epplug_mod``."""
    write_module(folder, "epplug_mod.py", '''
        import json
        from pathlib import Path

        from acrawl import hookimpl

        class EpSink:
            def __init__(self, name):
                self.path, self.items = Path.cwd() / f"ep-{name}.json", []

            async def open(self):
                pass

            async def write(self, items):
                self.items.extend(items)

            async def close(self):
                self.path.write_text(json.dumps(self.items))

        @hookimpl
        def acrawl_open_sink(uri, settings):
            if uri.startswith("ep://"):
                return EpSink(uri[len("ep://"):])
    ''')
    info = folder / "epplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: epplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[acrawl]\nepplug = epplug_mod\n")


def test_entry_point_plugins_are_loaded_unless_disabled(acrawl: Runner, tmp_path: Path,
                                                        serve) -> None:
    folder = tmp_path / "site-packages"
    _fake_distribution(folder)
    site = PagesSite({"/": "<html><title>Home</title><a href='/b'>b</a></html>",
                      "/b": "<html><title>B</title></html>"})
    base = serve(site).base_url
    result = acrawl.run("links", "-a", f"url={base}/", "-o", "ep://one", autoload=True,
                        pythonpath=[folder])
    assert_ok(result)
    items = json.loads((tmp_path / "ep-one.json").read_text())
    assert {it["url"] for it in items} == {base + "/", base + "/b"}
    # ACRAWL_DISABLE_PLUGIN_AUTOLOAD=1: not loaded, so the scheme is unknown
    disabled = acrawl.run("links", "-a", f"url={base}/", "-o", "ep://two", autoload=False,
                          pythonpath=[folder])
    assert_usage_error(disabled, "ep://two")
    assert not (tmp_path / "ep-two.json").exists()


def test_a_spider_implementing_hooks_itself(acrawl: Runner, tmp_path: Path, serve) -> None:
    srv = serve(LinkSite(pages=60))
    base = srv.base_url
    write_module(tmp_path, "hooked.py", '''
        import acrawl

        class Hooked(acrawl.Spider):
            name = "hooked"
            follow_links = True
            allowed_hosts = ["127.0.0.1"]

            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.seen = 0

            def start_requests(self):
                yield acrawl.Request(self.url)

            @acrawl.hookimpl
            def acrawl_filter_url(self, url):
                return False if "/q/" in url else None

            @acrawl.hookimpl
            def acrawl_item_scraped(self, item):
                self.seen += 1

            @acrawl.hookimpl
            def acrawl_crawl_closed(self, stats):
                stats.set("hooked_seen", self.seen)

            def parse(self, response):
                yield {"url": response.url}
    ''')
    result = acrawl.run("hooked.py", "-a", f"url={base}/", "-o", "o.jsonl",
                        "--stats", "stats.json")
    assert_ok(result)
    urls = {it["url"] for it in read_jsonl(tmp_path / "o.jsonl")}
    assert urls == {u for u in srv.site.page_urls(base) if "/q/" not in u}
    assert not [u for u in srv.hits if "/q/" in u]
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["hooked_seen"] == len(urls)
    assert any(k.startswith("filtered/") and "hooked" in k for k in stats), stats


# ------------------------------------------------------------------------------------------------
# plugins that cannot be registered: one line, exit 2
# ------------------------------------------------------------------------------------------------


OBJPLUG = '''
    from acrawl import hookimpl

    class Plugin:
        @hookimpl
        def acrawl_crawl_opened(self):
            pass

    plugin = Plugin()
'''


@pytest.mark.parametrize(("ref", "needles"), [
    ("objplug:nope", ["objplug", "'nope'"]),
    ("objplug:plugn", ["objplug", "'plugn'", "objplug:plugin"]),  # a suggestion
])
def test_plugin_object_that_does_not_exist(acrawl: Runner, tmp_path: Path, ref: str,
                                           needles: list[str]) -> None:
    """``-p module:attr`` with no such attr: a one-line usage error, as ``-p nosuchmod`` is
    (it was an AttributeError traceback and exit 1)."""
    folder = tmp_path / "plugins"
    write_module(folder, "objplug.py", OBJPLUG)
    result = acrawl.run("links", "-a", "url=http://127.0.0.1:9/", "-p", ref,
                        pythonpath=[folder])
    assert_usage_error(result, *needles)


def test_misspelled_hook_is_refused_naming_the_module_and_the_hook(acrawl: Runner,
                                                                   tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    write_module(folder, "typoplug.py", '''
        from acrawl import hookimpl

        @hookimpl
        def acrawl_filter_urls(url):
            return None
    ''')
    result = acrawl.run("links", "-a", "url=http://127.0.0.1:9/", "-p", "typoplug",
                        pythonpath=[folder])
    line = assert_usage_error(result, "'typoplug'", "acrawl_filter_urls",
                              "did you mean 'acrawl_filter_url'")
    assert "<module" not in line and str(folder) not in line  # the name, not the repr


def test_hook_argument_the_spec_lacks_is_one_line(acrawl: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    write_module(folder, "argplug.py", '''
        from acrawl import hookimpl

        @hookimpl
        def acrawl_filter_url(url, bogus):
            return None
    ''')
    result = acrawl.run("links", "-a", "url=http://127.0.0.1:9/", "-p", "argplug",
                        pythonpath=[folder])
    line = assert_usage_error(result, "argplug", "acrawl_filter_url", "bogus")
    assert "url, request, spider" in line  # the arguments it may take
