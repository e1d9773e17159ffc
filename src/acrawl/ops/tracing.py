"""OpenTelemetry spans, one per download (``-s otel_tracing=true``; ``pip install
'acrawl[otel]'``, the OpenTelemetry API).

>>> downloader = TracingDownloader(AiohttpDownloader(...), spider="books")

Each download is a CLIENT span named after the method, with the HTTP semantic-convention
attributes (``http.request.method``, ``url.full`` without credentials, ``server.address``,
``server.port``, ``http.response.status_code``, ``error.type``) and acrawl's own
(``acrawl.spider``, ``acrawl.request.depth``, ``acrawl.request.retries``,
``acrawl.request.redirects``, ``acrawl.response.body_size``). A failed download and a 4xx or
5xx answer mark the span as an error. acrawl only uses the API: which SDK and exporter the
spans go to is the user's choice (``opentelemetry-instrument acrawl-run ...`` with the
``OTEL_*`` variables, or a plugin that sets a tracer provider); with none, the spans are
no-ops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigError, DownloadError

if TYPE_CHECKING:
    from ..http import Request, Response

__all__ = ["TracingDownloader", "require_opentelemetry"]


def require_opentelemetry() -> None:
    """ConfigError (one line, exit 2) unless the OpenTelemetry API can be imported."""
    try:
        import opentelemetry.trace  # noqa: F401
    except ImportError:
        raise ConfigError("otel_tracing needs the OpenTelemetry API: pip install "
                          "'acrawl[otel]'") from None


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class TracingDownloader:
    """Wraps a downloader (``async fetch(request) -> Response``): one span per fetch."""

    def __init__(self, downloader: Any, *, spider: str, version: str = "") -> None:
        require_opentelemetry()
        from opentelemetry import trace

        self.downloader = downloader
        self.spider = spider
        self._trace = trace
        self._tracer = trace.get_tracer("acrawl", version)

    async def fetch(self, request: Request) -> Response:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        parts = urlsplit(request.url)
        attributes: dict[str, Any] = {
            "http.request.method": request.method,
            "url.full": _without_credentials(request.url),
            "server.address": parts.hostname or "",
            "server.port": parts.port or (443 if parts.scheme == "https" else 80),
            "acrawl.spider": self.spider,
            "acrawl.request.depth": request.depth,
            "acrawl.request.retries": request.retries,
            "acrawl.request.redirects": request.redirects,
        }
        with self._tracer.start_as_current_span(
                request.method, kind=SpanKind.CLIENT, attributes=attributes,
                record_exception=False, set_status_on_exception=False) as span:
            try:
                response: Response = await self.downloader.fetch(request)
            except DownloadError as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                raise
            status = response.status
            span.set_attribute("http.response.status_code", status)
            span.set_attribute("acrawl.response.body_size", len(response.body))
            if status >= 400:
                span.set_attribute("error.type", str(status))
                span.set_status(Status(StatusCode.ERROR))
            return response

    def __getattr__(self, name: str) -> Any:  # close() and the rest: the wrapped downloader's
        return getattr(self.downloader, name)
