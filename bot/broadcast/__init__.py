"""Delivering new pieces to subscribers: the outbox pipeline, the sender and its pacing."""

from bot.broadcast.broadcaster import BroadcastConfig, Broadcaster, Progress, RetryPolicy

__all__ = ["BroadcastConfig", "Broadcaster", "Progress", "RetryPolicy"]
