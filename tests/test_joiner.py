"""acrawl.urls.Joiner must agree with urllib.parse.urljoin on every input."""

from urllib.parse import urljoin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acrawl.urls import Joiner

BASES = [
    "http://a.test/",
    "http://a.test",
    "http://a.test/d/e/page?q=1#f",
    "http://a.test:8080/d/",
    "https://a.test/x/y/z",
    "http://a.test/d/..",
    "http://a.test/d/e/",  # the same folder as /d/e/page?q=1#f: they share cached joins
    "http://a.test/d/e/x;p?y=2",
    "http://a.test/d/e/page?other#g",
]
SEGMENTS = st.sampled_from(["a", "..", ".", "", "b?c", "#d", "x:y", "%2e", "?", "#", "p", "12",
                            "é", " ", "\\"])


@given(base=st.sampled_from(BASES), segs=st.lists(SEGMENTS, min_size=1, max_size=6),
       absolute_path=st.booleans())
@settings(max_examples=3000, deadline=None)
def test_join_matches_urljoin(base: str, segs: list[str], absolute_path: bool) -> None:
    href = ("/" if absolute_path else "") + "/".join(segs)
    assert Joiner(base).join(href) == urljoin(base, href.strip())


@pytest.mark.parametrize("href", [
    "p/12", "./12", "../p/12", "../../../x", "/p/12", "http://b.test/x", "https://b.test/a/./b",
    "12#top", "?a=1", "#x", "", "  /sp  ", "..", "//c.test/x", "mailto:x@y", "javascript:void(0)",
    "tel:1", "/p/12#", "g?y/./x", "g#s/../x",
])
@pytest.mark.parametrize("base", BASES)
def test_join_known_shapes(base: str, href: str) -> None:
    assert Joiner(base).join(href) == urljoin(base, href.strip())
