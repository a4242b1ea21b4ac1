"""Each recipient's values filled into content rendered once for everyone (see `render.slots`),
escaped for HTML; and the per-recipient unsubscribe URL, with its token."""

from __future__ import annotations

import html
from datetime import datetime

from announcer.audience.tokens import unsubscribe_token
from announcer.model.recipient import Recipient
from announcer.reader import greeting_form, reader_zone
from announcer.render.slots import GREETING_FORMS, Slot, split
from announcer.render.wording import reader_clock


class Personaliser:
    """Fills one recipient's values into content that was rendered once for everyone."""

    def __init__(self, unsubscribe_url: str | None, secret: str | None) -> None:
        self._unsubscribe_url = unsubscribe_url
        self._secret = secret

    def unsubscribe_url(self, recipient: Recipient | None) -> str:
        """This recipient's unsubscribe URL ("" without a list); `{token}` as written for nobody."""
        url = self._unsubscribe_url or ""
        if recipient is None or "{token}" not in url:
            return url
        if not self._secret:  # every verb that writes to someone reads the secret first
            raise ValueError("an unsubscribe URL with {token} needs a secret")
        return url.replace("{token}", unsubscribe_token(recipient.email, self._secret))

    def fill(self, content: str, slot_key: str, recipient: Recipient | None, *, as_html: bool) -> str:
        """`content` with every slot of this render replaced by the recipient's value (escaped for HTML)."""
        return "".join(
            piece if isinstance(piece, str) else self.value(piece, slot_key, recipient, as_html=as_html)
            for piece in split(content, slot_key)
        )

    def value(self, slot: Slot, slot_key: str, recipient: Recipient | None, *, as_html: bool) -> str:
        """What one slot holds for this recipient (escaped for HTML)."""
        if slot.kind == "greeting":
            by_given_name, by_name, nameless = slot.key.split(GREETING_FORMS)
            text, own = greeting_form(recipient, by_given_name, by_name, nameless)
            if not own:  # a form the template wrote (escaped there), holding the names' slots
                return self.fill(text, slot_key, recipient, as_html=as_html)
        elif slot.kind == "unsubscribe":
            text = self.unsubscribe_url(recipient)
        elif slot.kind == "time":
            zone = reader_zone(recipient)
            instant, language, lead = slot.key.split(" ", 2)
            shown = slot.default.split(",")
            text = reader_clock(datetime.fromisoformat(instant), zone, shown, language, lead) if zone else ""
        elif slot.kind == "name":
            text = (recipient.name if recipient else None) or slot.default
        elif slot.kind == "given_name":
            text = (recipient.given_name if recipient else None) or slot.default
        else:
            text = (recipient.fields.get(slot.key) if recipient else None) or slot.default
        return html.escape(text, quote=True) if as_html else text
