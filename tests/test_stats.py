"""``acrawl.stats.Stats``: Scrapy's StatsCollector names for ported components."""

from __future__ import annotations

from acrawl.stats import Stats


def test_scrapys_stats_collector_names() -> None:
    stats = Stats()
    stats.inc_value("shop/status/200")
    stats.inc_value("shop/status/200", 2)
    stats.inc_value("fresh", start=10)
    stats.set_value("last_url", "http://127.0.0.1/")
    stats.max_value("biggest", 3)
    stats.max_value("biggest", 2)
    stats.min_value("smallest", 3)
    stats.min_value("smallest", 1)
    assert stats["shop/status/200"] == 3 and stats.get_value("fresh") == 11
    assert stats.get_value("last_url") == "http://127.0.0.1/"
    assert stats.get_value("missing", "d") == "d"
    assert (stats.get_value("biggest"), stats.get_value("smallest")) == (3, 1)
    assert stats.get_stats()["shop/status/200"] == 3
    assert stats.get_stats()["last_url"] == "http://127.0.0.1/"
