"""What mail clients do that the emails are designed around (see ../shared/EMAIL-CLIENTS.md)."""

# Bytes of HTML Gmail shows; the rest, the unsubscribe link with it, hides behind "View entire message".
GMAIL_CLIP = 102_000
