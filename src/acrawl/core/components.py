"""Components: the downloader middlewares, spider middlewares and item pipelines a crawl
runs — how they are declared, loaded, named, ordered, switched off, listed, opened and closed.

>>> slots = assemble(
...     builtins_before=[Slot("robots", robots)],
...     user=[Slot("AddHeader", AddHeader(), "spider")],
...     builtins_after=[Slot("retry", retry), Slot("redirect", redirect)],
...     disabled={"redirect"},
... )
>>> [s.name for s in slots]
['robots', 'AddHeader', 'retry']

A component is any object with the methods of its kind (see :data:`KINDS`), each sync or async.
It is declared as a class (instantiated once per crawl), an instance, or an import path
(``"pkg.mod:AddHeader"`` or ``"pkg.mod.AddHeader"``). A class is built with
``from_crawler(crawler)`` if it has one (Scrapy's constructor: ``crawler.settings``,
``crawler.stats``, ``crawler.spider``), else ``from_settings(settings)``, else ``cls()``.

Order is the order written: built-ins sit at documented places, the user's components between
them in the order they were declared (spider attribute, then setting, then plugins).
A user component whose ``name`` is a built-in's takes that built-in's place; ``disable`` takes
any component out by name.

:class:`Lifecycle` calls the middlewares' ``open_spider(spider)`` when the crawl starts and
their ``close_spider(spider)`` when it ends (Scrapy's ``spider_opened``/``spider_closed``
signals, which acrawl has not): each once, in reverse order on close.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ComponentError, ConfigError

if TYPE_CHECKING:
    from ..spider import Spider

__all__ = ["KINDS", "Lifecycle", "Slot", "assemble", "call_lifecycle", "component_name", "is_async",
           "load"]

logger = logging.getLogger(__name__)

#: kind -> the methods that make an object a component of that kind
KINDS: dict[str, tuple[str, ...]] = {
    "middleware": ("process_request", "process_response", "process_exception"),
    "spider middleware": ("process_spider_output", "process_spider_input",
                          "process_spider_exception", "process_start_requests",
                          "process_start"),
    "pipeline": ("process_item",),
}


@attrs.frozen
class Slot:
    """One component in a chain: its name, the object, and where it was declared."""

    name: str
    component: Any
    origin: str = "built-in"


def component_name(obj: Any) -> str:
    """A component's short name: its ``name`` attribute, else its class name."""
    name = getattr(obj, "name", None)
    if isinstance(name, str) and name:
        return name
    cls = obj if isinstance(obj, type) else type(obj)
    return cls.__name__


def is_async(func: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(func)


def _import(path: str, kind: str) -> Any:
    modpath, sep, attr = path.partition(":")
    if not sep:
        modpath, _, attr = path.rpartition(".")
    if not modpath or not attr:
        raise ConfigError(f"{kind} {path!r}: expected an import path like 'pkg.module:Class'")
    try:
        module = importlib.import_module(modpath)
    except ImportError as exc:
        raise ConfigError(f"cannot import {kind} {path!r}: {exc}") from None
    except Exception as exc:
        raise ConfigError(f"{kind} {path!r} raised on import: {exc!r}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"{kind} {path!r}: module {modpath!r} has no attribute {attr!r}"
                          ) from None


def load(spec: Any, kind: str, *, crawler: Any, settings: Any) -> Any:
    """The component ``spec`` declares: imported, instantiated, and checked to have at least
    one method of ``kind``. Raises :class:`ConfigError` with one line naming it."""
    obj = _import(spec.strip(), kind) if isinstance(spec, str) else spec
    label = spec if isinstance(spec, str) else component_name(obj)
    made_by = ""
    if isinstance(obj, type):
        try:
            if hasattr(obj, "from_crawler"):
                made_by = "from_crawler(crawler)"
                obj = obj.from_crawler(crawler)
            elif hasattr(obj, "from_settings"):
                made_by = "from_settings(settings)"
                obj = obj.from_settings(settings)
            else:
                obj = obj()
        except ConfigError:
            raise
        except Exception as exc:
            hint = ""
            if isinstance(exc, AttributeError) and exc.name == "signals":
                hint = ("; acrawl has no crawler.signals: define open_spider(spider) and "
                        "close_spider(spider) on the component instead (docs/middleware.md)")
            raise ConfigError(f"{kind} {label!r} failed to start: {type(exc).__name__}: {exc}"
                              f"{hint}") from None
    if obj is None and made_by:
        raise ConfigError(f"{kind} {label!r}: {made_by} returned None; it must return "
                          "the component ('return cls(...)')")
    methods = KINDS[kind]
    for method in (*methods, "open_spider", "close_spider"):
        _refuse_generator(obj, method, kind, label)
    if kind == "spider middleware" and callable(
            getattr(obj, "process_spider_output_async", None)) and not callable(
            getattr(obj, "process_spider_output", None)):
        # Scrapy skips such a method (with an error in its log): here it is said at once
        raise ConfigError(f"{kind} {label!r} has process_spider_output_async but no "
                          "process_spider_output: rename it to process_spider_output")
    if not any(callable(getattr(obj, m, None)) for m in methods):
        raise ConfigError(f"{kind} {label!r} has none of the methods "
                          f"{', '.join(methods)}")
    return obj


#: the methods that may be (async) generators: they return the iterable of results
_ITERATING = frozenset({"process_spider_output", "process_spider_exception",
                        "process_start_requests", "process_start"})


def _refuse_generator(obj: Any, method: str, kind: str, label: str) -> None:
    """A ``yield`` in a method that returns one value (``process_item``, ``process_request``,
    ``open_spider``...) makes it return a generator, which would fail every call, or write
    the generator as the item: refused when the component loads."""
    if method in _ITERATING:
        return
    func = getattr(obj, method, None)
    if callable(func) and (inspect.isgeneratorfunction(func)
                           or inspect.isasyncgenfunction(func)):
        raise ConfigError(f"{kind} {label!r}: {method} is a generator function (it has "
                          "'yield'), so each call would return a generator; it must return "
                          "its result ('return ...', not 'yield ...')")


def assemble(
    *,
    builtins_before: Sequence[Slot] = (),
    user: Iterable[Slot] = (),
    builtins_after: Sequence[Slot] = (),
    disabled: Iterable[str] = (),
) -> list[Slot]:
    """The chain in the order it runs: ``builtins_before``, the user's components, then
    ``builtins_after`` — less the ``disabled`` names. A user component named like a built-in
    replaces it at the built-in's place."""
    off = set(disabled)
    user = list(user)
    builtin_names = {s.name for s in (*builtins_before, *builtins_after)}
    replacing = {s.name: s for s in user if s.name in builtin_names}
    own = [s for s in user if s.name not in replacing]

    def place(slots: Sequence[Slot]) -> list[Slot]:
        return [replacing.get(s.name, s) for s in slots]

    chain = [*place(builtins_before), *own, *place(builtins_after)]
    return [s for s in chain if s.name not in off]


class Lifecycle:
    """``open_spider(spider)`` and ``close_spider(spider)`` of the components that have them,
    sync or async: each called once per crawl.

    >>> lifecycle = Lifecycle([("middleware", slots), ("spider middleware", spider_slots)],
    ...                       spider)
    >>> await lifecycle.open()      # in order; ComponentError if one raises
    >>> await lifecycle.close()     # the opened ones, in reverse order; failures reported
    ...                             # (also after a failed open, in a finally)

    An object listed more than once (in both chains, say) is opened and closed once; those in
    ``skip`` (the pipelines, which open and close themselves) not at all. A component whose
    ``open_spider`` raised is not closed; one after it was never opened.
    """

    def __init__(self, groups: Iterable[tuple[str, Sequence[Slot]]], spider: Spider, *,
                 skip: Iterable[Any] = ()) -> None:
        self.spider = spider
        seen = {id(obj) for obj in skip}
        self._members: list[tuple[str, Slot]] = []
        for kind, slots in groups:
            for slot in slots:
                if id(slot.component) in seen:
                    continue
                seen.add(id(slot.component))
                if any(callable(getattr(slot.component, m, None))
                       for m in ("open_spider", "close_spider")):
                    self._members.append((kind, slot))
        self._opened: list[tuple[str, Slot]] = []

    def __bool__(self) -> bool:
        return bool(self._members)

    async def open(self) -> None:
        """Each ``open_spider`` in order. One that raises is a :class:`ComponentError` naming
        it; :meth:`close` then closes the ones opened before it."""
        for kind, slot in self._members:
            await self._call(kind, slot, "open_spider")
            self._opened.append((kind, slot))

    async def close(self, on_error: Callable[[ComponentError], None] | None = None) -> None:
        """Each opened component's ``close_spider``, in reverse order; one that raises is
        logged (with its traceback) and given to ``on_error``, and the others still close.
        A second call closes nothing."""
        opened, self._opened = self._opened, []
        for kind, slot in reversed(opened):
            try:
                await self._call(kind, slot, "close_spider")
            except ComponentError as exc:
                logger.error("%s", exc, exc_info=exc.wrapped)
                if on_error is not None:
                    on_error(exc)

    async def _call(self, kind: str, slot: Slot, method: str) -> None:
        await call_lifecycle(kind, slot, method, self.spider)


async def call_lifecycle(kind: str, slot: Slot, method: str, spider: Any) -> None:
    """``slot``'s ``open_spider``/``close_spider`` (``method``) with ``spider``, awaited if
    it returns an awaitable, if the component has it; what it raises is a
    :class:`~acrawl.errors.ComponentError` naming the ``kind`` and the component."""
    func = getattr(slot.component, method, None)
    if not callable(func):
        return
    try:
        out = func(spider)
        if inspect.isawaitable(out):
            await out
    except Exception as exc:
        raise ComponentError(f"{kind} {slot.name!r} {method} raised "
                             f"{type(exc).__name__}: {exc}", component=slot.name,
                             wrapped=exc) from exc
