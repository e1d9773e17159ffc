"""Fetching: the aiohttp download handler, bounded decoding, the private-address guard."""
