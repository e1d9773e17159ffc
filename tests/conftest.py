"""Shared by every test folder: puts this folder on ``sys.path`` (pytest's default import mode
does so for a conftest), so helpers like ``cli_support`` can be imported by all of them."""
