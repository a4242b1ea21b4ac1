"""Composing: rendered content to one MIME message per recipient."""
