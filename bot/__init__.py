"""News-interview Telegram bot."""
