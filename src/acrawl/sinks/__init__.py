"""Outputs: the ``Sink`` protocol (``sinks.base``) and the built-in sinks (``sinks.builtin``)."""

from .base import Sink

__all__ = ["Sink"]
