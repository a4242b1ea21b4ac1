"""Per-recipient values: placeholders while content renders once, filled in for each message."""

from __future__ import annotations

import html
import re

from announcer.recipients import Recipient

_SLOT = re.compile(r"\[\[announcer:(name|field|unsubscribe):([0-9a-f]*):([0-9a-f]*)\]\]")


def _slot(kind: str, key: str = "", default: str = "") -> str:
    return f"[[announcer:{kind}:{key.encode().hex()}:{default.encode().hex()}]]"


class RecipientFields:
    """`recipient.fields["team"]` in a template: any extra column of the recipients CSV."""

    def __getitem__(self, key: str) -> str:
        return _slot("field", key)

    def get(self, key: str, default: str = "") -> str:
        return _slot("field", key, default)


class RecipientSlots:
    """Stands in for the recipient in templates; the values are filled in per message."""

    fields = RecipientFields()
    name = _slot("name")
    unsubscribe_url = _slot("unsubscribe")

    @staticmethod
    def name_or(default: str) -> str:
        """The recipient's name, or `default` for a recipient without one ("colleague")."""
        return _slot("name", default=default)


def fill(content: str, recipient: Recipient | None, unsubscribe_url: str, *, as_html: bool) -> str:
    """`content` with every slot replaced by this recipient's value (escaped for HTML)."""

    def value(match: re.Match[str]) -> str:
        kind = match.group(1)
        key, default = (bytes.fromhex(match.group(group)).decode() for group in (2, 3))
        if kind == "unsubscribe":
            text = unsubscribe_url
        elif kind == "name":
            text = (recipient.name if recipient else None) or default
        else:
            text = (recipient.fields.get(key) if recipient else None) or default
        return html.escape(text, quote=True) if as_html else text

    return _SLOT.sub(value, content)
