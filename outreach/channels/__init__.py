"""Channels: one interface, ``send(batch) -> results``, whatever the provider."""

from outreach.channels.base import Channel, OutboundMessage, SendResult
from outreach.channels.log import LogChannel

__all__ = ["Channel", "LogChannel", "OutboundMessage", "SendResult"]
