"""The crawl loop and what it drives: engine, scheduler, the component chains."""
