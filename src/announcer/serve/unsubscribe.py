"""The unsubscribe URL answered: a GET shows the page and changes nothing (link scanners and
previews fetch every URL they see); a POST from its button, or a mail client's RFC 8058
one-click POST, unsubscribes at once, and the page that answers offers to undo.

A token the workspace never wrote gets the very answer a good one gets (status, page, the
work of a look-up): nobody learns from this URL whether a token, or an address, is known.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from announcer.audience.ledger import AudienceLedger, How
from announcer.audience.tokens import unsubscribe_token
from announcer.deliver.ledger import Ledger
from announcer.errors import JournalError
from announcer.model.recipient import Recipient
from announcer.reader import reader_language
from announcer.serve.batches import Batches
from announcer.serve.pages import Pages, Step
from announcer.serve.reconnect import Reconnecting

_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # unsubscribe_token's alphabet; anything else names nobody
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_MAX_FIELDS = 8


class Answer(NamedTuple):
    step: Step
    how: How | None  # how the change came (None: no change, a GET)


class Unsubscribes:
    """Answers the unsubscribe URL of one list, from the workspace's journal: changes through
    `audience` in `batches`' thread, look-ups through the delivery ledger's connection in a
    thread of their own, so neither waits for the other, nor the event loop for either."""

    def __init__(
        self,
        audience: AudienceLedger,
        deliveries: Ledger,
        pages: Pages,
        language: str,
        body_bytes: int,
        query_name: str | None = None,
    ) -> None:
        self.audience = audience
        self.deliveries = deliveries
        self.pages = pages
        self.language = language  # the workspace's, for a reader the ledger does not name
        self.body_bytes = body_bytes
        self.query_name = query_name  # the token comes in this query parameter, not in the path
        self._readers: dict[str, Recipient] = {}
        self.looks = AudienceLedger(deliveries.file, audience.list_id)  # read-only: a GET's
        self.reconnecting = Reconnecting([audience.file, deliveries.file])
        self._batches: Batches[str] = Batches(audience, reconnecting=self.reconnecting)
        self._looking = ThreadPoolExecutor(max_workers=1, thread_name_prefix="serve-look")

    def learn(self, secret: str) -> int:
        """Remember the token of every reader the delivery ledger has written to: messages sent
        before the tokens table existed carry them, and the ledger knows them by address only."""
        self._readers = self.deliveries.readers()
        self.audience.learn((unsubscribe_token(address, secret), address) for address in self._readers)
        return len(self._readers)

    async def answer(self, request: Request) -> Response:
        token = str(request.path_params.get("token", ""))
        if self.query_name is not None:
            token = request.query_params.get(self.query_name, "")
        if request.method in ("GET", "HEAD"):
            answer = Answer(Step.ASK, None)
        else:
            chosen = await _chosen(request, self.body_bytes)
            if isinstance(chosen, Response):
                return chosen
            answer = chosen
        try:
            if answer.how is None:  # a look-up only: never waits for a writer (link scanners)
                language = await asyncio.get_running_loop().run_in_executor(
                    self._looking, self.reconnecting.attempt, lambda: self._act(self.looks, token, answer)
                )
            else:  # committed with the others that came meanwhile (`batches`), off the loop
                language = await self._batches.run(lambda ledger: self._act(ledger, token, answer))
        except JournalError as exc:  # the journal is locked or unreadable: say so, and try later
            print(f"serve: {exc}", file=sys.stderr, flush=True)
            return PlainTextResponse("the server is busy: try again in a moment\n", 503, {"retry-after": "5"})
        page = self.pages.page(language, answer.step)
        headers = {"content-security-policy": page.policy, "cache-control": "no-store"}
        return Response(page.body, 200, headers, media_type="text/html; charset=utf-8")

    def _act(self, ledger: AudienceLedger, token: str, answer: Answer) -> str:
        """Make the change the answer asks of the reader the token names (if any); the language
        of the page that answers."""
        address = ledger.address_of(token) if _TOKEN.fullmatch(token) else None
        if address is None:
            return self.language
        if answer.how is not None and answer.step is Step.LEFT:
            ledger.unsubscribe(address, answer.how)
        elif answer.how is not None and answer.step is Step.BACK:
            ledger.restore(address, answer.how, "undone on the unsubscribe page")
        return reader_language(self._reader(address), self.language)

    def _reader(self, address: str) -> Recipient | None:
        if address not in self._readers:  # written to since the start: the ledger knows them now
            self._readers.update(self.deliveries.readers(address))
        return self._readers.get(address)

    def close(self) -> None:
        """Wait for the look-up and the batch in hand, then end their threads."""
        self._looking.shutdown(wait=True)
        self._batches.close()


async def _chosen(request: Request, body_bytes: int) -> Answer | Response:
    """What a POST asks: a one-click's `List-Unsubscribe=One-Click`, or the page's own buttons;
    anything else is refused whole (400, 415), whatever its token."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind not in _FORMS:
        return PlainTextResponse("send a form (application/x-www-form-urlencoded)\n", 415)
    if kind == _FORMS[0]:  # what every mail client sends: read here, fast and bounded
        try:
            fields = parse_qsl(
                (await request.body()).decode(), max_num_fields=_MAX_FIELDS, strict_parsing=False
            )
        except (UnicodeDecodeError, ValueError):
            return PlainTextResponse("bad request\n", 400)
        form: Mapping[str, object] = dict(fields)
    else:
        try:
            form = await request.form(max_files=0, max_fields=_MAX_FIELDS, max_part_size=body_bytes)
        except (MultiPartException, HTTPException, ValueError):
            return PlainTextResponse("bad request\n", 400)
    if form.get("List-Unsubscribe") == "One-Click":
        return Answer(Step.LEFT, How.ONE_CLICK)
    action = form.get("action")
    if action == "unsubscribe":
        return Answer(Step.LEFT, How.WEB_PAGE)
    if action == "undo":
        return Answer(Step.BACK, How.WEB_PAGE)
    return PlainTextResponse("bad request\n", 400)
