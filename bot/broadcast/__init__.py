"""Delivering new pieces to subscribers: the outbox pipeline, the sender and its pacing."""

from bot.broadcast.broadcaster import Broadcaster, Progress
from bot.broadcast.config import BroadcastConfig, RetryPolicy

__all__ = ["BroadcastConfig", "Broadcaster", "Progress", "RetryPolicy"]
