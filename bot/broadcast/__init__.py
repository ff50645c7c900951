"""Delivering new pieces to subscribers: the outbox pipeline, the sender and its pacing."""

from bot.broadcast.config import BroadcastConfig, RetryPolicy
from bot.broadcast.pipeline import Broadcaster
from bot.broadcast.priority import ReaderPriority
from bot.broadcast.progress import Progress

__all__ = ["BroadcastConfig", "Broadcaster", "Progress", "ReaderPriority", "RetryPolicy"]
