"""Settings: the names users set with ``-s NAME=VALUE``, their types and defaults.

Values are validated once, at the edge (CLI, spider ``settings``), into a frozen
:class:`Settings`; components read plain attributes-by-name afterwards and never copy them.

>>> s = Settings.build(overrides={"concurrency": "32"})
>>> s["concurrency"]
32
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from .errors import ConfigError

__all__ = ["DEFAULT_SETTINGS", "Layer", "Setting", "Settings"]

MiB = 1024 * 1024


@attrs.frozen
class Setting:
    """A named setting: its type (``bool``, ``int``, ``float``, ``str``, ``list``, ``dict``),
    default, one-line help, and two optional steps run on a value of that type (never on
    ``None``): ``convert`` returns the value to use (for example list items as ints) or raises
    ``ValueError("what was expected")``; ``check`` returns an error message or ``None``."""

    name: str
    type: type
    default: Any
    help: str = ""
    optional: bool = False  # None allowed
    check: Callable[[Any], str | None] | None = None
    convert: Callable[[Any], Any] | None = None


@attrs.frozen
class Layer:
    """One named source of setting values, for :meth:`Settings.build`.

    ``name`` is what :meth:`Settings.origin` reports (``"project"``, ``"spider"``,
    ``"command line"``); ``where``, when given, starts the error message of a bad value in
    this layer (``"pyproject.toml [tool.acrawl.settings]"``), so the user knows which file to
    fix.
    """

    name: str
    values: Mapping[str, Any] | None
    where: str = ""


def _positive(v: Any) -> str | None:
    return None if v is None or v > 0 else "a number > 0"


def _non_negative(v: Any) -> str | None:
    return None if v is None or v >= 0 else "a number >= 0"


def _status_codes(value: list[Any]) -> list[int]:
    """``[408, "429"]`` -> ``[408, 429]``; each an HTTP status code, 100 to 599."""
    out: list[int] = []
    for v in value:
        if isinstance(v, str) and v.strip().isdigit():
            v = int(v.strip())
        if type(v) is not int or not 100 <= v <= 599:
            raise ValueError("a list of HTTP status codes (integers 100-599)")
        out.append(v)
    return out


#: RFC 9110 field names: a token
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _header_value_problem(value: str) -> str | None:
    return "a string without line breaks" if any(c in value for c in "\r\n\0") else None


def _headers(value: dict[Any, Any]) -> dict[str, str]:
    """Header names to string values; numbers become strings (as ``Request(headers=...)``
    does), anything else (a non-string name, a nested value, None, a bool) is refused."""
    expected = "a JSON object of header names to strings (or numbers)"
    out: dict[str, str] = {}
    for name, v in value.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"{expected}; {name!r} is not a header name")
        if isinstance(v, int | float) and not isinstance(v, bool):
            v = str(v)
        if not isinstance(v, str) or _header_value_problem(v):
            raise ValueError(f"{expected}; the value of {name!r} is {v!r}")
        out[name] = v
    return out


def _proxy_url(value: str) -> str | None:
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "an http:// or https:// proxy URL with a host (http://user:pass@host:port)"
    return None


def _proxies(value: list[Any]) -> list[str] | None:
    """One proxy URL (a string) or several (a list, used in turn); ``[]`` is none."""
    out = []
    for v in value:
        problem = _proxy_url(v) if isinstance(v, str) else "a proxy URL string"
        if problem:
            raise ValueError(problem + (" (or a list of them)" if len(value) > 1 else ""))
        out.append(v.strip())
    return out or None


def _names(value: list[Any]) -> list[str]:
    """Component names: strings, stripped; empty ones left out."""
    if not all(isinstance(v, str) for v in value):
        raise ValueError("a list of component names")
    return [v.strip() for v in value if v.strip()]


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in choices else "one of " + ", ".join(choices)
    return check


DEFAULT_SETTINGS: tuple[Setting, ...] = (
    Setting("concurrency", int, 16, "downloads in flight at once, all hosts", check=_positive),
    Setting("per_host_concurrency", int, 8, "requests in flight at once per host", check=_positive),
    Setting("download_delay", float, 0.0, "seconds between requests to one host",
            check=_non_negative),
    Setting("autothrottle", bool, False, "adapt the per-host delay to latency and 429/503"),
    Setting("autothrottle_target_concurrency", float, 2.0,
            "requests in flight per host AutoThrottle aims at", check=_positive),
    Setting("autothrottle_max_delay", float, 60.0, "the largest delay AutoThrottle sets",
            check=_non_negative),
    Setting("timeout", float, 30.0, "seconds one attempt may take, connect to last byte",
            check=_positive),
    Setting("retry_times", int, 2, "retries on connection errors, timeouts, 408/429/5xx",
            check=_non_negative),
    Setting("retry_http_codes", list, [408, 429, 500, 502, 503, 504, 522, 524],
            "statuses that are retried", convert=_status_codes),
    Setting("max_retry_after", float, 60.0, "cap on a Retry-After wait, seconds",
            check=_non_negative),
    Setting("max_redirects", int, 10, "redirect hops followed per request", check=_non_negative),
    Setting("max_depth", int, None, "links deeper than this are not followed", optional=True,
            check=_non_negative),
    Setting("max_pages", int, None, "exactly this many responses reach callbacks",
            optional=True, check=_positive),
    Setting("max_response_size", int, 32 * MiB, "bytes, after decompression; larger is cut",
            check=_positive),
    # guardrails (acrawl.ops.guardrails): each stops the crawl gracefully, reason recorded
    Setting("close_timeout", float, None, "stop after this many seconds of crawling",
            optional=True, check=_positive),
    Setting("close_item_count", int, None, "stop once this run has scraped this many items",
            optional=True, check=_positive),
    Setting("close_error_count", int, None, "stop once this run has counted this many errors",
            optional=True, check=_positive),
    Setting("memory_limit_mb", float, None, "stop once the process's RSS passes this (MiB)",
            optional=True, check=_positive),
    Setting("memory_warning_mb", float, None, "warn once the RSS passes this (MiB; default "
            "80% of memory_limit_mb)", optional=True, check=_positive),
    Setting("obey_robots", bool, True, "fetch and obey robots.txt (with Crawl-delay)"),
    Setting("user_agent", str, "acrawl/0.1 (+https://github.com/acrawl/acrawl)",
            "User-Agent header, also used for robots.txt", check=_header_value_problem),
    Setting("default_headers", dict, {
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Language": "en",
    }, "headers sent with every request", convert=_headers),
    Setting("cookies", bool, True, "keep the cookies servers set (per session, per site)"),
    Setting("proxy", list, None, "http proxy URL (http://user:pass@host:port), or a list of "
            "them used in turn", optional=True, convert=_proxies),
    Setting("proxy_from_env", bool, False, "use HTTP_PROXY/HTTPS_PROXY/NO_PROXY"),
    Setting("proxy_bench", float, 30.0, "seconds a failing proxy of a list is left out "
            "(doubling with each further failure)", check=_positive),
    Setting("log_level", str, "INFO", "DEBUG, INFO, WARNING or ERROR",
            check=lambda v: None if str(v).upper() in {"DEBUG", "INFO", "WARNING", "ERROR",
                                                       "CRITICAL"} else "a log level"),
    # unattended runs (acrawl.ops): logs for machines, metrics
    Setting("log_format", str, "text", "text, or json: one JSON object per log line",
            check=lambda v: None if v in ("text", "json") else "text or json"),
    Setting("log_stats_interval", float, 60.0, "seconds between stats lines when stderr is "
            "not a terminal (0: none)", check=_non_negative),
    Setting("metrics_port", int, None, "serve Prometheus metrics on this port (0: any free "
            "one)", optional=True, check=lambda v: None if 0 <= v <= 65535 else "a port 0-65535"),
    Setting("metrics_host", str, "127.0.0.1", "the address the metrics endpoint listens on"),
    Setting("otel_tracing", bool, False, "an OpenTelemetry span per download (acrawl[otel])"),
    Setting("follow_links", bool, None, "follow response.links() (overrides the spider)",
            optional=True),
    Setting("item_batch_size", int, 100, "items per sink write", check=_positive),
    Setting("item_flush_interval", float, 1.0, "seconds before a partial batch is written",
            check=_positive),
    Setting("overwrite", bool, False, "replace existing -o files"),
    Setting("redis_lease_ttl", float, 60.0, "--frontier: seconds a worker's requests stay "
            "leased without a heartbeat before other workers take them back", check=_positive),
    Setting("middlewares", list, [], "downloader middlewares: import paths (pkg.mod:Class), "
            "after the spider's own"),
    Setting("spider_middlewares", list, [], "spider middlewares: import paths, after "
            "the spider's own"),
    Setting("pipelines", list, [], "item pipelines: import paths, after the spider's own"),
    Setting("disable", list, [], "built-in or named components to switch off "
            "(retry, redirect, robots, ...)", convert=_names),
    Setting("max_metarefresh_delay", float, 100.0, "meta refresh redirects with a shorter "
            "delay are followed (0: none)", check=_non_negative),
    Setting("redis_outage_timeout", float, 60.0, "--frontier: seconds a worker keeps retrying "
            "an unreachable Redis before it stops (exit 1)", check=_positive),
    Setting("allow_private_addresses", bool, False,
            "reach private/loopback addresses even for hosts the spider did not name"),
    Setting("cache_dir", str, None, "replay cache: a directory of recorded responses "
            "(--cache DIR); unset = no cache", optional=True,
            check=lambda v: None if v.strip() else "a directory path"),
    Setting("cache_mode", str, "record", "record (serve fresh entries, fetch and store the "
            "rest), replay (never touch the network) or refresh (always fetch, store)",
            check=_one_of("record", "replay", "refresh")),
    Setting("cache_policy", str, "dummy", "dummy (every entry fresh until "
            "cache_expiration_secs) or rfc9111 (Cache-Control, Expires, Last-Modified)",
            check=_one_of("dummy", "rfc9111")),
    Setting("cache_expiration_secs", float, 0.0, "entries older than this are stale "
            "(revalidated or refetched); 0 = never", check=_non_negative),
    Setting("cache_ignore_http_codes", list, [], "statuses never stored in the cache",
            convert=_status_codes),
    Setting("cache_max_size_mb", float, 0.0, "bound on the cache's size in MiB: the oldest "
            "entries are evicted beyond it; 0 = no bound", check=_non_negative),
)


def _parse_bool(raw: str) -> bool:
    low = raw.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off"}:
        return False
    raise ValueError(raw)


def _coerce(spec: Setting, value: Any) -> Any:
    """Turn ``value`` (a CLI string or a Python value) into ``spec.type`` or raise ValueError."""
    if value is None or (isinstance(value, str) and value.strip().lower() in {"none", "null"}
                         and spec.optional):
        if spec.optional:
            return None
        raise ValueError(value)
    t = spec.type
    if isinstance(value, str):
        if t is bool:
            return _parse_bool(value)
        if t is int:
            return int(value.strip())
        if t is float:
            return _finite(float(value.strip()))
        if t is str:
            return value
        if t is list and not value.strip():  # -s disable= : an empty list, not ['']
            return []
        if t in (list, dict):
            import json

            parsed = json.loads(value) if value.strip()[:1] in "[{" else None
            if parsed is None and t is list:
                parsed = [p.strip() for p in value.split(",") if p.strip()]
            if not isinstance(parsed, t):
                raise ValueError(value)
            return parsed
        raise ValueError(value)
    if t is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(value)
    if t is float and isinstance(value, int | float) and not isinstance(value, bool):
        return _finite(float(value))
    if t is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, t) and t not in (int, float):
        return value
    raise ValueError(value)


def _finite(value: float) -> float:
    """No ``inf`` or ``nan``: a timeout, delay or interval must end."""
    if not math.isfinite(value):
        raise ValueError(value)
    return value


_TYPE_NAMES = {bool: "true/false", int: "an integer", float: "a finite number", str: "a string",
               list: "a list", dict: "a JSON object"}


#: Scrapy's names of the settings acrawl names otherwise, where the value means the same: what
#: a ported component reads (``crawler.settings.getint("CONCURRENT_REQUESTS")``) is acrawl's
#: value (docs/porting-from-scrapy.md has the table). Read only: ``-s`` takes acrawl's names.
SCRAPY_NAMES = {
    "CONCURRENT_REQUESTS": "concurrency",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "per_host_concurrency",
    "AUTOTHROTTLE_ENABLED": "autothrottle",
    "DOWNLOAD_TIMEOUT": "timeout",
    "DOWNLOAD_MAXSIZE": "max_response_size",
    "DEPTH_LIMIT": "max_depth",
    "CLOSESPIDER_PAGECOUNT": "max_pages",
    "CLOSESPIDER_TIMEOUT": "close_timeout",
    "CLOSESPIDER_ITEMCOUNT": "close_item_count",
    "CLOSESPIDER_ERRORCOUNT": "close_error_count",
    "MEMUSAGE_LIMIT_MB": "memory_limit_mb",
    "MEMUSAGE_WARNING_MB": "memory_warning_mb",
    "ROBOTSTXT_OBEY": "obey_robots",
    "DEFAULT_REQUEST_HEADERS": "default_headers",
    "COOKIES_ENABLED": "cookies",
    "REDIRECT_MAX_TIMES": "max_redirects",
    "METAREFRESH_MAXDELAY": "max_metarefresh_delay",
    "HTTPCACHE_DIR": "cache_dir",
    "HTTPCACHE_EXPIRATION_SECS": "cache_expiration_secs",
    "HTTPCACHE_IGNORE_HTTP_CODES": "cache_ignore_http_codes",
}


class Settings(Mapping[str, Any]):
    """Validated, read-only settings. ``settings["timeout"]`` or ``settings.get(...)``."""

    __slots__ = ("_origins", "_specs", "_values")

    def __init__(self, specs: Mapping[str, Setting], values: Mapping[str, Any],
                 origins: Mapping[str, str] | None = None) -> None:
        self._specs = dict(specs)
        self._values = dict(values)
        self._origins = dict(origins or {})

    @classmethod
    def build(
        cls,
        *layers: Mapping[str, Any] | Layer | None,
        overrides: Mapping[str, Any] | Layer | None = None,
        extra: Iterable[Setting] = (),
    ) -> Settings:
        """Defaults, then each layer in order (project, spider settings, then CLI), validated.

        A layer is a mapping or a named :class:`Layer`; ``overrides`` (the command line) is
        applied last. :meth:`origin` tells which layer each value came from. Raises
        :class:`ConfigError` naming the setting and what was expected.
        """
        specs: dict[str, Setting] = {s.name: s for s in DEFAULT_SETTINGS}
        for s in extra:
            if s.name in specs and specs[s.name] != s:
                raise ConfigError(f"setting {s.name!r} is declared twice")
            specs[s.name] = s
        values = {name: s.default for name, s in specs.items()}
        origins: dict[str, str] = {}
        named = [layer if isinstance(layer, Layer) or layer is None
                 else Layer(f"layer {i + 1}", layer) for i, layer in enumerate(layers)]
        named.append(overrides if isinstance(overrides, Layer) or overrides is None
                     else Layer("command line", overrides))
        for layer in named:
            if layer is None:
                continue
            for name, raw in (layer.values or {}).items():
                spec, value = _validate(specs, name, raw, layer.where)
                values[spec.name] = value
                origins[spec.name] = layer.name
        return cls(specs, values, origins)

    def origin(self, name: str) -> str:
        """The layer the value of ``name`` came from: ``"default"`` or a layer's name."""
        return self._origins.get(name, "default")

    def __getitem__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            # Scrapy's spelling (``settings["DOWNLOAD_DELAY"]``): the name as ``-s`` takes it,
            # or acrawl's name for it (``"CONCURRENT_REQUESTS"`` is ``concurrency``)
            if not isinstance(key, str):
                raise
            name = SCRAPY_NAMES.get(key.strip().upper()) or key.strip().lower().replace("-", "_")
            if name == key:
                raise
            return self._values[name]

    # Scrapy's typed getters, for ported components (``crawler.settings.getlist(...)``).
    # Values are already of their setting's type; these convert what a plain string or a
    # setting of another type holds, as Scrapy's do.
    def getbool(self, name: str, default: bool = False) -> bool:
        value = self.get(name, default)
        if isinstance(value, str):
            return _parse_bool(value)
        return bool(value)

    def getint(self, name: str, default: int = 0) -> int:
        return int(self.get(name, default))

    def getfloat(self, name: str, default: float = 0.0) -> float:
        return float(self.get(name, default))

    def getlist(self, name: str, default: list[Any] | None = None) -> list[Any]:
        value = self.get(name, None)
        if value is None:
            return list(default or [])
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return list(value)

    def getdict(self, name: str, default: dict[str, Any] | None = None) -> dict[str, Any]:
        value = self.get(name, None)
        if value is None:
            return dict(default or {})
        if isinstance(value, str):
            return dict(json.loads(value))
        return dict(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def specs(self) -> list[Setting]:
        return list(self._specs.values())

    def __repr__(self) -> str:
        return f"Settings({self._values!r})"


def _validate(specs: Mapping[str, Setting], name: str, raw: Any, where: str) -> tuple[Setting, Any]:
    """``raw`` for the setting ``name`` checked and converted; ConfigError (prefixed with
    ``where`` when given) if it is unknown or not what the setting expects."""
    prefix = f"{where}: " if where else ""
    key = name.strip().lower().replace("-", "_")
    spec = specs.get(key)
    if spec is None:
        raise ConfigError(f"{prefix}unknown setting {name!r}" + _suggest(key, specs))
    if spec.name in COMPONENT_LISTS:
        numbered = _numbered(raw)
        if numbered is not None:
            raise ConfigError(f"{prefix}setting {spec.name!r} "
                              f"{scrapy_order_hint(spec.name, numbered)}")
    try:
        value = _coerce(spec, raw)
    except (ValueError, TypeError):
        raise ConfigError(
            f"{prefix}setting {spec.name!r} expects {_TYPE_NAMES.get(spec.type, spec.type)}"
            f"{' or none' if spec.optional else ''}, got {raw!r}"
        ) from None
    if spec.convert is not None and value is not None:
        try:
            value = spec.convert(value)
        except ValueError as exc:
            raise ConfigError(f"{prefix}setting {spec.name!r} expects {exc}, got {raw!r}") from None
    if spec.check is not None and value is not None:
        problem = spec.check(value)
        if problem:
            raise ConfigError(f"{prefix}setting {spec.name!r} expects {problem}, got {raw!r}")
    return spec, value


#: the settings (and spider attributes) that list components in the order they run
COMPONENT_LISTS = ("middlewares", "spider_middlewares", "pipelines")


def _numbered(raw: Any) -> Mapping[Any, Any] | None:
    """Scrapy's ``{"path.to.Cls": 543}`` (a mapping, or one in JSON text), else None."""
    if isinstance(raw, Mapping):
        return raw
    if isinstance(raw, str) and raw.strip().startswith("{"):
        import json

        try:
            parsed = json.loads(raw)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def scrapy_order_hint(name: str, numbered: Mapping[Any, Any]) -> str:
    """What a component list ``name`` given as Scrapy's ``{path: order number}`` is told,
    with the list to write instead (Scrapy's order: the lowest number first, for
    spider middlewares the highest; ``None``, Scrapy's "off", left out)."""
    def order(entry: tuple[Any, Any]) -> float:
        number = entry[1]
        return float(number) if isinstance(number, int | float) else 0.0

    kept = [(k, v) for k, v in numbered.items() if v is not None]
    kept.sort(key=order, reverse=name == "spider_middlewares")
    listed = ", ".join(repr(str(k)) for k, _ in kept)
    off = [str(k) for k, v in numbered.items() if v is None]
    return (f"is a list in the order the components run, not Scrapy's dict of order "
            f"numbers ({{path: number}}): write [{listed}]"
            + (f" (a None entry is not needed; -s disable=NAME turns a built-in off: {off})"
               if off else "")
            + " (docs/middleware.md)")


def _suggest(key: str, specs: Mapping[str, Setting]) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(specs), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
