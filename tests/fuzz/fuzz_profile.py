"""The hypothesis profile of the fuzz tests.

In the normal suite each fuzz test runs a bounded number of examples (given per test, a few
hundred at most, so the suite stays minutes). For a long run, set ``ACRAWL_FUZZ_EXAMPLES``:

    ACRAWL_FUZZ_EXAMPLES=5000 python -m pytest -q tests/fuzz

No deadline (the machine is shared; a slow example is not a failure), and the failing
example's blob is printed so it can be replayed with ``@reproduce_failure``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["fuzz"]

settings.register_profile(
    "acrawl-fuzz",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
_PROFILE = settings.get_profile("acrawl-fuzz")
_OVERRIDE = int(os.environ.get("ACRAWL_FUZZ_EXAMPLES") or 0)


def fuzz(max_examples: int) -> settings:
    """The profile with ``max_examples`` (or ``ACRAWL_FUZZ_EXAMPLES``, when set)."""
    return settings(_PROFILE, max_examples=_OVERRIDE or max_examples)
