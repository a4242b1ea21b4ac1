"""Rendering: the model to content (subject, HTML, text, calendars), once per event or digest."""
