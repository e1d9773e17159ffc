"""Fuzzing the body decoder: a compressed body split anywhere decodes to the same bytes as
the same body in one piece, and never to more than the limit.

Bodies: gzip (one or more members, ``gzip``/``x-gzip``), deflate (zlib-wrapped and raw) and
brotli, of random and of highly compressible data (runs that expand a lot: the output caps
are reached inside members and at their ends), at every compression level, followed or not
by junk, cut short or not; split at random points and around member boundaries; decoded
with random limits through ``_DecodedBody``, the downloader's own loop.
"""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import pytest
from fuzz_profile import fuzz
from hypothesis import assume, given
from hypothesis import strategies as st

from acrawl.download.downloader import _CHUNK, _HAS_BR, _DecodedBody, _Decoder

try:
    import brotli
except ImportError:  # pragma: no cover - a dev dependency
    brotli = None

DecodeErrors: tuple[type[BaseException], ...] = (zlib.error, ValueError) + (
    (brotli.error,) if brotli is not None else ())

#: data that compresses a lot (runs of one byte, up to 300 KB in all) or not at all
RUNS = st.lists(st.tuples(st.integers(0, 255), st.integers(1, 100_000)), max_size=3).map(
    lambda runs: b"".join(bytes([value]) * count for value, count in runs))
DATA = st.one_of(st.binary(max_size=3000), RUNS,
                 st.tuples(st.binary(min_size=1, max_size=50), st.integers(1, 3000)).map(
                     lambda t: t[0] * t[1]))
LIMITS = st.one_of(st.just(1 << 40), st.integers(0, 400_000))


def decode(encoding: str, chunks: list[bytes], limit: int) -> tuple[Any, ...]:
    """``(body, truncated)``, or ``("error",)``: what the downloader's loop makes of
    ``chunks``. Checks on the way that no step outputs more than the limit allows (brotli's
    output cap is soft: its buffer grows in blocks of up to ``_CHUNK``)."""
    decoder = _Decoder(encoding)
    feed = decoder.feed
    slack = _CHUNK if encoding == "br" else 0

    def checked_feed(data: bytes, left: int) -> bytes:
        out = feed(data, left)
        assert len(out) <= left + 1 + slack, (len(out), left)
        return out

    decoder.feed = checked_feed  # type: ignore[method-assign]
    body = _DecodedBody(decoder, limit)
    try:
        for chunk in chunks:
            if body.add(chunk):
                break
    except DecodeErrors:
        return ("error",)
    assert body.size <= limit + 1 + slack
    out = body.body
    assert len(out) <= limit
    return (out, body.truncated)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c for c in cuts if 0 < c < len(data)})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def cut_points(boundaries: list[int]) -> st.SearchStrategy[list[int]]:
    """Random cut points, and points at or next to the given boundaries."""
    near = st.tuples(st.sampled_from(boundaries), st.integers(-3, 3)).map(sum)
    return st.lists(st.one_of(st.integers(0, 1 << 21), near), max_size=8)


def check(encoding: str, wire: bytes, cuts: list[int], limit: int,
          expected: bytes | None) -> None:
    """Split decoding == one-shot decoding; and == ``expected`` (cut at ``limit``) if given."""
    whole = decode(encoding, [wire], limit)
    if expected is not None:
        assert whole == (expected[:limit], len(expected) > limit)
    assert decode(encoding, split(wire, cuts), limit) == whole
    # one byte at a time near the start (the deflate header, the first gzip member header)
    head = min(len(wire), 40)
    assert decode(encoding, [wire[i:i + 1] for i in range(head)] + [wire[head:]],
                  limit) == whole


@fuzz(300)
@given(data=st.data(), members=st.lists(DATA, min_size=1, max_size=4),
       level=st.integers(0, 9), junk=st.binary(max_size=40), limit=LIMITS,
       encoding=st.sampled_from(["gzip", "x-gzip"]))
def test_gzip_members_split_anywhere_decode_alike(
        data: st.DataObject, members: list[bytes], level: int, junk: bytes, limit: int,
        encoding: str) -> None:
    parts = [gzip.compress(m, level, mtime=0) for m in members]
    ends = [sum(len(p) for p in parts[:i + 1]) for i in range(len(parts))]
    wire = b"".join(parts) + junk
    cuts = data.draw(cut_points([0, *ends]), label="cuts")
    # junk that does not start another member is not part of the body; junk that does is
    # a broken member: the same error (or the same prefix) whatever the split
    expected = b"".join(members) if junk[:2] != b"\x1f\x8b" else None
    check(encoding, wire, cuts, limit, expected)


@fuzz(200)
@given(data=st.data(), members=st.lists(DATA, min_size=1, max_size=3),
       level=st.integers(0, 9), cut_at=st.integers(0, 1 << 20))
def test_a_gzip_body_cut_short_decodes_alike_however_split(
        data: st.DataObject, members: list[bytes], level: int, cut_at: int) -> None:
    """A body that ends inside a member (the connection closed): the same prefix, or the
    same error, for every split."""
    wire = b"".join(gzip.compress(m, level, mtime=0) for m in members)
    wire = wire[: cut_at % (len(wire) + 1)]
    check("gzip", wire, data.draw(cut_points([0, len(wire)]), label="cuts"), 1 << 40, None)


@fuzz(300)
@given(data=st.data(), plain=DATA, level=st.integers(0, 9), wrapped=st.booleans(),
       junk=st.binary(max_size=40), limit=LIMITS)
def test_deflate_split_anywhere_decodes_alike(
        data: st.DataObject, plain: bytes, level: int, wrapped: bool, junk: bytes,
        limit: int) -> None:
    comp = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
    stream = comp.compress(plain) + comp.flush()
    # a raw stream whose first two bytes happen to read as a zlib header is undecidable
    assume(wrapped or not ((stream[0] & 0x0F) == 8 and (stream[0] << 8 | stream[1]) % 31 == 0))
    wire = stream + junk
    check("deflate", wire, data.draw(cut_points([0, 2, len(stream)]), label="cuts"), limit,
          plain)


@pytest.mark.skipif(not _HAS_BR, reason="brotli without a bounded decoder")
@fuzz(200)
@given(data=st.data(), plain=DATA, quality=st.integers(0, 11), junk=st.binary(max_size=40),
       limit=LIMITS)
def test_brotli_split_anywhere_decodes_alike(
        data: st.DataObject, plain: bytes, quality: int, junk: bytes, limit: int) -> None:
    assert brotli is not None
    stream = brotli.compress(plain, quality=quality)
    wire = stream + junk
    cuts = data.draw(cut_points([0, len(stream)]), label="cuts")
    if not junk:
        check("br", wire, cuts, limit, plain)
        return
    # bytes after a brotli stream are refused, whatever the split. A body over the limit is
    # cut instead -- or refused, when its end, the junk and the cut reach the decoder in one
    # piece (brotli refuses the junk before it hands over the output)
    allowed = {("error",)} if len(plain) <= limit else {("error",), (plain[:limit], True)}
    assert decode("br", [wire], limit) in allowed
    assert decode("br", split(wire, cuts), limit) in allowed
