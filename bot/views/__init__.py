"""Values in, HTML and keyboards out: every screen, message and button the bot shows."""
