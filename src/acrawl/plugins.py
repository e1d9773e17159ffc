"""Plugin management: the pluggy ``PluginManager`` and the typed :class:`Hooks` facade.

The rest of acrawl calls plugins only through ``Hooks`` methods, which know how each hook's
results combine; nothing else touches ``pm.hook``.

Plugins come from, in order: acrawl's built-ins (which use the same hooks), installed packages
in the ``acrawl`` entry-point group (skipped when ``ACRAWL_DISABLE_PLUGIN_AUTOLOAD`` is set),
``-p MODULE`` on the command line, and the spider instance itself.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
import os
from collections.abc import AsyncIterable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from .errors import ConfigError, PluginError
from .http import Link

if TYPE_CHECKING:
    from .gates import Gate
    from .http import Request, Response
    from .settings import Setting, Settings
    from .sinks.base import Sink
    from .spider import Spider
    from .stats import Stats

__all__ = ["BUILTIN_PLUGINS", "Hooks", "make_plugin_manager"]

logger = logging.getLogger(__name__)

PROJECT = "acrawl"
#: acrawl's own behaviour, registered as plugins through the same hooks
BUILTIN_PLUGINS = ("acrawl.policies.allowed_hosts", "acrawl.policies.linkextract",
                   "acrawl.sinks.builtin", "acrawl.policies.robots")


def _label(plugin: object, name: str | None = None) -> str:
    """How messages name a plugin: its registration name, else its module or class name."""
    return name or getattr(plugin, "__name__", None) or type(plugin).__name__


class _Manager(pluggy.PluginManager):
    def register(self, plugin: object, name: str | None = None) -> str | None:
        label = _label(plugin, name)
        for attr in dir(plugin):
            if not attr.startswith("acrawl_"):
                continue
            func = getattr(plugin, attr, None)
            if inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func):
                raise PluginError(
                    f"plugin {label!r}: hook {attr} is 'async def'; hooks are synchronous — "
                    "return an object with async methods instead (see docs/plugins.md)"
                )
            self._check_arguments(plugin, attr, label)
        try:
            return super().register(plugin, name)
        except pluggy.PluginValidationError as exc:  # pluggy's messages span several lines
            raise PluginError(f"plugin {label!r}: " + " ".join(str(exc).split())) from None
        except ValueError as exc:  # already registered
            raise PluginError(str(exc).splitlines()[0]) from None

    def _check_arguments(self, plugin: object, attr: str, label: str) -> None:
        """Refuse an implementation taking an argument its spec does not have, in one line
        (pluggy's own message spans three)."""
        opts = self.parse_hookimpl_opts(plugin, attr)
        if opts is None:
            return
        hook_name = opts.get("specname") or attr
        hook = getattr(self.hook, hook_name, None)
        spec = getattr(hook, "spec", None)
        if spec is None:
            return  # unknown hook names are reported by check()
        impl = pluggy.HookImpl(plugin, label, getattr(plugin, attr), opts)
        unknown = [a for a in impl.argnames if a not in (*spec.argnames, *spec.kwargnames)]
        if unknown:
            raise PluginError(
                f"plugin {label!r}: hook {hook_name} takes "
                f"{', '.join(repr(a) for a in unknown)}, which the hook does not have "
                f"(it may take any of: {', '.join(spec.argnames)})"
            )


def make_plugin_manager(
    modules: Iterable[str | object] = (), *, builtins: bool = True,
    entry_points: bool | None = None,
) -> pluggy.PluginManager:
    """A plugin manager with the built-ins, installed plugins and ``modules`` registered
    (module names, ``module:object``, or plugin objects themselves)."""
    pm = _Manager(PROJECT)
    pm.add_hookspecs(hookspecs)
    if builtins:
        for modname in BUILTIN_PLUGINS:
            pm.register(importlib.import_module(modname), name=modname)
    if entry_points is None:
        entry_points = not os.environ.get("ACRAWL_DISABLE_PLUGIN_AUTOLOAD")
    if entry_points:
        _load_entry_points(pm)
    for plugin in modules:
        if isinstance(plugin, str):
            register_module(pm, plugin)
        elif not pm.is_registered(plugin):
            pm.register(plugin)
    check(pm)
    return pm


def check(pm: pluggy.PluginManager) -> None:
    """Refuse hook implementations with no spec (a misspelt ``acrawl_`` hook), naming the
    plugin and the nearest real hook."""
    known = [name for name in vars(pm.hook) if not name.startswith("_")
             and getattr(pm.hook, name).has_spec()]
    for name in vars(pm.hook):
        hook = getattr(pm.hook, name)
        if name.startswith("_") or hook.has_spec():
            continue
        for impl in hook.get_hookimpls():
            if impl.optionalhook:
                continue
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "see docs/hooks.md"
            raise PluginError(
                f"plugin {_label(impl.plugin, pm.get_name(impl.plugin))!r}: unknown hook "
                f"{name!r} ({hint})"
            )


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=PROJECT):
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            raise PluginError(
                f"installed plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from None
        pm.register(plugin, name=ep.name)


def register_module(pm: pluggy.PluginManager, modname: str) -> None:
    """Import ``modname`` (a module, or ``module:object``) and register it as a plugin."""
    modpath, _, attr = modname.partition(":")
    try:
        module: Any = importlib.import_module(modpath)
    except ImportError as exc:
        raise PluginError(f"cannot import plugin {modname!r}: {exc}") from None
    except Exception as exc:
        raise PluginError(f"plugin {modname!r} raised on import: {exc!r}") from None
    try:
        plugin = getattr(module, attr) if attr else module
    except AttributeError:
        public = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(attr, public, n=1)
        hint = f"; did you mean {modpath}:{close[0]}?" if close else ""
        raise PluginError(f"plugin {modname!r}: module {modpath!r} has no attribute "
                          f"{attr!r} (-p takes MODULE or MODULE:OBJECT{hint})") from None
    if pm.is_registered(plugin):
        return
    pm.register(plugin, name=modname)


def _plugin_label(pm: pluggy.PluginManager, impl: Any) -> str:
    """The name stats use for a plugin: its ``PLUGIN_NAME`` or its registration name."""
    label = getattr(impl.plugin, "PLUGIN_NAME", None)
    if isinstance(label, str) and label:
        return label
    name = pm.get_name(impl.plugin) or impl.plugin_name
    return name.rsplit(".", 1)[-1] if name.startswith("acrawl.") else name


def _positional(func: Callable[..., Any], argnames: tuple[str, ...],
                spec: tuple[str, ...]) -> Callable[..., Any]:
    """A hook implementation (taking any subset of the hook's arguments, as pluggy allows)
    called with all of them positionally, in the hookspec's order ``spec``, without pluggy's
    per-call argument gathering: URL filters run once per extracted link, observers once per
    request or page."""
    if argnames == spec:
        return func
    picks = [spec.index(a) for a in argnames]
    if len(picks) == 1:
        only = picks[0]
        return lambda *args: func(args[only])
    if len(picks) == 2:
        first, second = picks
        return lambda *args: func(args[first], args[second])
    return lambda *args: func(*[args[i] for i in picks])


def _hook_failed(label: str, hook: str, exc: Exception) -> PluginError:
    """The one-line error of a set-up hook that raised, naming the plugin and the hook."""
    return PluginError(f"plugin {label!r}: hook {hook} raised {type(exc).__name__}: {exc}")


#: the observation hooks: results ignored, a raising plugin logged and the others still called
_OBSERVATIONS = ("acrawl_request_scheduled", "acrawl_request_dropped",
                 "acrawl_response_received", "acrawl_item_scraped", "acrawl_error",
                 "acrawl_crawl_opened", "acrawl_crawl_closed")


class Hooks:
    """Typed calls into the plugins; each method states how results combine."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._h = pm.hook
        self._filters: list[tuple[str, Callable[[str, Request, Spider], Any]]] = []
        self.refresh()

    def refresh(self) -> None:
        """Re-read which hooks have implementations (call after registering more plugins)."""
        h = self._h
        impls = h.acrawl_filter_url.get_hookimpls()
        #: wrappers need pluggy's own call loop (then drops are reported as "url_filter")
        self._filter_wrapped = any(i.hookwrapper or i.wrapper for i in impls)
        self._filters = [
            (_plugin_label(self.pm, impl),
             _positional(impl.function, tuple(impl.argnames), ("url", "request", "spider")))
            for impl in reversed(impls) if not (impl.hookwrapper or impl.wrapper)
        ]
        #: observation hook -> its implementations as direct calls (in pluggy's order), or
        #: None where a hook wrapper needs pluggy's own call loop; some run once per page or
        #: per request, where pluggy's per-call argument handling shows
        self._observers: dict[str, list[tuple[str, Callable[..., Any]]] | None] = {}
        for name in _OBSERVATIONS:
            caller = getattr(h, name)
            impls = caller.get_hookimpls()
            spec = tuple(caller.spec.argnames) if caller.spec is not None else ()
            if any(i.hookwrapper or i.wrapper for i in impls) or not spec:
                self._observers[name] = None
            else:
                self._observers[name] = [
                    (_plugin_label(self.pm, impl),
                     _positional(impl.function, tuple(impl.argnames), spec))
                    for impl in reversed(impls)]
        #: observation hook -> whether it has implementations (a wrapper is one)
        self._observe = {name: observers is None or bool(observers)
                         for name, observers in self._observers.items()}
        self._extractors = bool(h.acrawl_extract_links.get_hookimpls())

    def observes(self, hook: str) -> bool:
        """Whether an observation hook (e.g. ``"acrawl_request_dropped"``) has implementations,
        so a caller can skip preparing its arguments."""
        return self._observe[hook]

    # -- setup ----------------------------------------------------------------------------------
    def add_settings(self) -> list[Setting]:
        """All settings declared by plugins (concatenated)."""
        out: list[Setting] = []
        for result in self._setup("acrawl_add_settings"):
            out.extend(result or ())
        return out

    def open_sink(self, uri: str, settings: Settings) -> Sink:
        """The sink for ``uri`` from the first plugin that claims it; ConfigError if none."""
        sink = self._setup("acrawl_open_sink", uri=uri, settings=settings)
        if sink is None:
            raise ConfigError(
                f"no sink for output {uri!r} (built-in: .jsonl .json .xml .csv sqlite:/// and -)"
            )
        return sink

    def components(self, kind: str, settings: Settings, spider: Spider) -> list[tuple[str, Any]]:
        """``(plugin label, component)`` for each component the plugins add, of ``kind``
        (``"middlewares"``, ``"spider_middlewares"`` or ``"pipelines"``), in call order."""
        caller = getattr(self._h, f"acrawl_{kind}")
        out: list[tuple[str, Any]] = []
        for impl in reversed(caller.get_hookimpls()):  # pluggy calls the last registered first
            label = _plugin_label(self.pm, impl)
            try:
                result = impl.function(**{a: {"settings": settings, "spider": spider}[a]
                                          for a in impl.argnames})
            except ConfigError:
                raise
            except Exception as exc:
                raise _hook_failed(label, f"acrawl_{kind}", exc) from None
            if result is None:
                continue
            if isinstance(result, str) or not isinstance(result, Iterable):
                result = [result]
            out.extend((label, c) for c in result)
        return out

    def download_handlers(self, settings: Settings, spider: Spider) -> list[Any]:
        return [h for h in self._setup("acrawl_download_handler", settings=settings,
                                       spider=spider) if h is not None]

    def open_gates(self, settings: Settings, spider: Spider, fetch: Any) -> list[Gate]:
        return [g for g in self._setup("acrawl_open_gate", settings=settings, spider=spider,
                                       fetch=fetch) if g is not None]

    def start_requests(
        self, spider: Spider, settings: Settings, fetch: Any
    ) -> list[Iterable[Request] | AsyncIterable[Request]]:
        return [r for r in self._h.acrawl_start_requests(spider=spider, settings=settings,
                                                         fetch=fetch) if r is not None]

    # -- lifecycle ------------------------------------------------------------------------------
    def crawl_opened(self, spider: Spider, settings: Settings, stats: Stats | None = None) -> None:
        """Each plugin's ``acrawl_crawl_opened``; one that raises is logged and counted
        (``errors/plugin`` in ``stats``), the others are still called, the crawl goes on."""
        self._notify("acrawl_crawl_opened", spider, settings, failures=stats)

    def crawl_closed(self, spider: Spider, stats: Stats, reason: str) -> None:
        """As :meth:`crawl_opened`, for ``acrawl_crawl_closed``."""
        self._notify("acrawl_crawl_closed", spider, stats, reason, failures=stats)

    # -- requests -------------------------------------------------------------------------------
    def url_rejected_by(self, url: str, request: Request, spider: Spider) -> str | None:
        """The name of the first plugin whose ``acrawl_filter_url`` returned False, else None."""
        if self._filter_wrapped:
            results = self._h.acrawl_filter_url(url=url, request=request, spider=spider)
            return "url_filter" if any(r is False for r in results) else None
        for label, func in self._filters:
            if func(url, request, spider) is False:
                return label
        return None

    def url_filter_verdicts(
        self, url: str, request: Request, spider: Spider
    ) -> list[tuple[str, bool | Exception | None]]:
        """Every URL filter's answer for ``url``, by plugin name, in the order
        :meth:`url_rejected_by` asks them (an exception a filter raised is its answer): what
        ``acrawl explain`` shows. With hook wrappers there is one combined answer,
        ``"url_filter"``."""
        if self._filter_wrapped:
            try:
                results = self._h.acrawl_filter_url(url=url, request=request, spider=spider)
            except Exception as exc:
                return [("url_filter", exc)]
            return [("url_filter", False if any(r is False for r in results) else None)]
        out: list[tuple[str, bool | Exception | None]] = []
        for label, func in self._filters:
            try:
                out.append((label, func(url, request, spider)))
            except Exception as exc:
                out.append((label, exc))
        return out

    def request_scheduled(self, request: Request, spider: Spider) -> None:
        if self._observe["acrawl_request_scheduled"]:
            self._notify("acrawl_request_scheduled", request, spider)

    def request_dropped(self, request: Request, reason: str, spider: Spider) -> None:
        if self._observe["acrawl_request_dropped"]:
            self._notify("acrawl_request_dropped", request, reason, spider)

    # -- responses and items --------------------------------------------------------------------
    def response_received(self, response: Response, spider: Spider) -> None:
        if self._observe["acrawl_response_received"]:
            self._notify("acrawl_response_received", response, spider)

    def extract_links(self, response: Response, spider: Spider) -> list[str | Link]:
        """Links from every extractor, concatenated (not yet resolved or deduplicated)."""
        if not self._extractors:
            return []
        out: list[str | Link] = []
        for result in self._h.acrawl_extract_links(response=response, spider=spider):
            if result:
                out.extend(result)
        return out

    def item_scraped(self, item: Any, response: Response, spider: Spider) -> None:
        if self._observe["acrawl_item_scraped"]:
            self._notify("acrawl_item_scraped", item, response, spider)

    def error(self, exception: BaseException, request: Request | None, spider: Spider) -> None:
        if self._observe["acrawl_error"]:
            self._notify("acrawl_error", exception, request, spider)

    def _notify(self, name: str, *args: Any, failures: Stats | None = None) -> None:
        """Call an observation hook's implementations with the hook's arguments, in order;
        one that raises is logged (never fatal; counted as ``errors/plugin`` in ``failures``
        when given) and the others are still called."""
        observers = self._observers[name]
        if observers is None:  # hook wrappers: pluggy's call loop
            spec = getattr(self._h, name).spec.argnames
            self._safe(name, dict(zip(spec, args, strict=True)), failures)
            return
        for label, func in observers:
            try:
                func(*args)
            except Exception:
                if failures is not None:
                    failures.inc("errors/plugin")
                logger.exception("plugin %s: hook %s raised", label, name)

    def _setup(self, name: str, **kwargs: Any) -> Any:
        """Call a set-up hook (before the crawl runs): what a plugin raises is a
        :class:`PluginError` naming it, in one line (a ConfigError of its own goes as is)."""
        try:
            return getattr(self._h, name)(**kwargs)
        except ConfigError:
            raise
        except Exception as exc:
            raise _hook_failed(self._raiser(name, exc), name, exc) from None

    def _raiser(self, name: str, exc: BaseException) -> str:
        """The label of the plugin of hook ``name`` whose implementation raised ``exc``."""
        codes = {}
        for impl in getattr(self._h, name).get_hookimpls():
            code = getattr(impl.function, "__code__", None)
            if code is not None:
                codes[code] = _plugin_label(self.pm, impl)
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code in codes:
                return codes[tb.tb_frame.f_code]
            tb = tb.tb_next
        return "?"

    def _safe(self, name: str, kwargs: dict[str, Any], failures: Stats | None = None) -> None:
        """Call an observation hook through pluggy; a plugin that raises is logged (and
        counted in ``failures``), never fatal."""
        try:
            getattr(self._h, name)(**kwargs)
        except Exception:
            if failures is not None:
                failures.inc("errors/plugin")
            logger.exception("plugin hook %s raised", name)
