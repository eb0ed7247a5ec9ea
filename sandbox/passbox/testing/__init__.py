"""Test helpers for partners: the ``passbox`` pytest plugin and what it is made of.

``pip install passbox`` registers the plugin (entry point ``pytest11``); see ``plugin.py``.
"""

from passbox.testing.harness import AppThread, ClockControl, PortalTransport, ServerErrors
from passbox.testing.webhooks import Delivery, WebhookCollector

__all__ = ["AppThread", "ClockControl", "Delivery", "PortalTransport", "ServerErrors", "WebhookCollector"]
