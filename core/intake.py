"""A report from the API, from its token to the queue.

Most reports come from a caller this process has seen: they are checked
and queued in one Redis round trip (`Access.enqueue_as`). Otherwise the
caller and their ownership of the target are looked up first.
"""

from redis import Redis

from core import queue
from core.access import Access
from core.accounts import Caller
from core.reports import Report, ReportError, build_report


class NotCaller(Exception):
    """The token belongs to nobody."""


class NotOwned(Exception):
    """The report's target is not the caller's."""


class Intake:
    def __init__(self, access: Access, broker: Redis):
        self._access = access
        self._broker = broker

    def submit(
        self, token: str, caller: Caller, kind: str, target: int, body: dict
    ) -> Report:
        """Check and queue a report; raises NotCaller, NotOwned, or
        ReportError (a bad body, once the target is known to be theirs).
        """

        def build(who: Caller) -> Report:
            return build_report(
                body,
                user_id=who.id,
                kind=kind,
                target_id=target,
                zone=who.timezone,
            )

        try:
            report = build(caller)
        except ReportError:
            if not self._access.owns(caller.id, kind, target):
                raise NotOwned from None
            raise
        if self._access.enqueue_as(token, caller, report):
            return report

        current = self._access.caller(token)
        if current is None:
            raise NotCaller
        if not self._access.owns(current.id, kind, target):
            raise NotOwned
        if current != caller:  # the time zone changed: date it again
            report = build(current)
        queue.enqueue_report(self._broker, report)
        return report
