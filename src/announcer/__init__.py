"""announcer: event announcements turned into emails people are glad to receive."""

__version__ = "0.2.0"
