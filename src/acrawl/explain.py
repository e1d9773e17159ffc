"""What ``acrawl explain URL`` reports: one :class:`Step` per rule a request passes, in the
order the crawl applies them, and the :class:`Explanation` that names the rule that decided.

A component can explain itself: a gate, filter or middleware object with a ``describe(request)
-> str | None`` method (sync) adds that sentence to its step, as the robots.txt gate does
("http://host/robots.txt: HTTP 200, Crawl-delay 2s"); an object with ``explain(request) ->
Step | None`` (sync or async) gives its whole step. A rule whose name is in the ``disable``
setting (when the crawl has one) is reported as off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

if TYPE_CHECKING:
    from .http import Request

__all__ = ["OFF", "PASS", "REFUSE", "SKIPPED", "Explains", "Explanation", "Step"]

PASS = "pass"  # the rule lets the request through
REFUSE = "refuse"  # the rule drops it
OFF = "off"  # the rule is switched off (a setting, or ``disable``)
SKIPPED = "skipped"  # not reached: an earlier rule made it meaningless (no scheme, no host)


@attrs.frozen
class Step:
    """One rule's verdict: ``rule`` (its name: ``scheme``, ``allowed_hosts``, ``robots``...),
    ``verdict`` (:data:`PASS`, :data:`REFUSE`, :data:`OFF` or :data:`SKIPPED`), ``detail`` (why,
    in words, with the stats key a refusal is counted under)."""

    rule: str
    verdict: str
    detail: str


@attrs.frozen
class Explanation:
    """Every step for ``url``; ``decided_by`` is the first refusal (None: it is fetched)."""

    url: str
    steps: tuple[Step, ...]

    @property
    def decided_by(self) -> Step | None:
        return next((s for s in self.steps if s.verdict == REFUSE), None)

    @property
    def fetched(self) -> bool:
        return self.decided_by is None


@runtime_checkable
class Explains(Protocol):
    """A component that gives its own step for ``acrawl explain``."""

    name: str

    def explain(self, request: Request) -> Step | Any | None:
        """Its :class:`Step` for ``request`` (or an awaitable of it); None: nothing to say."""
        ...
