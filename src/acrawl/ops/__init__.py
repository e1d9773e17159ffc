"""Running crawls unattended: guardrails, the periodic stats line, JSON logs, per-host figures
and the Prometheus endpoint. Everything here watches a crawl from beside the engine (wired in
``crawler.py``); nothing here is on the engine's own path. See docs/operations.md."""
