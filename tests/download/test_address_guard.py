"""``AiohttpDownloader.address_refusal``: the private-address guard's verdict without a
connection (what ``acrawl explain`` reports), the same checks ``fetch`` makes."""

from __future__ import annotations

import pytest

from acrawl.download.downloader import AiohttpDownloader


@pytest.mark.parametrize(("url", "refused"), [
    ("http://127.0.0.1:8000/", "127.0.0.1 is not a public address"),
    ("http://10.1.2.3/", "10.1.2.3 is not a public address"),
    ("http://[::1]:80/", "::1 is not a public address"),
    ("http://2130706433/", "2130706433 is not a public address"),  # 127.0.0.1 spelled as a number
    ("http://8.8.8.8/", None),
    ("http://localhost:8000/", "localhost resolves to non-public address"),
])
async def test_address_refusal(url: str, refused: str | None) -> None:
    dl = AiohttpDownloader(trusted=lambda host: host == "trusted.test")
    verdict = await dl.address_refusal(url)
    if refused is None:
        assert verdict is None
    else:
        assert verdict is not None and verdict.startswith(refused)
    await dl.close()


async def test_trusted_hosts_and_allow_private_addresses_are_not_refused() -> None:
    trusting = AiohttpDownloader(trusted=lambda host: host in ("127.0.0.1", "localhost"))
    assert await trusting.address_refusal("http://127.0.0.1:8000/") is None
    assert await trusting.address_refusal("http://localhost:8000/") is None
