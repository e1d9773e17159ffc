"""Front ends: acrawl-run, finding spiders, the live progress view."""
