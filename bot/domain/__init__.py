"""The language engine and the content model: plain Python, no aiogram, no SQL."""
