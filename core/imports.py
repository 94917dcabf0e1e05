"""Checking a file of past reports, whole, before any of it is queued."""

import json
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import INT_MAX
from core.models import CustomAction, User, UserAction
from core.reports import KINDS, Report, ReportError, build_report

TARGETS = {"action": UserAction, "customaction": CustomAction}


class FileError(ValueError):
    """A file that cannot be imported; names the first bad line."""


def _entry(number: int, line: str) -> dict:
    try:
        entry = json.loads(line)
    except ValueError:
        raise FileError(f"line {number}: not valid JSON") from None
    if not isinstance(entry, dict):
        raise FileError(f"line {number}: expected a JSON object")
    for name in ("user", "target"):
        value = entry.get(name)
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not 1 <= value <= INT_MAX
        ):
            raise FileError(f"line {number}: {name}: expected a positive id")
    if entry.get("kind") not in KINDS:
        raise FileError(f"line {number}: kind: action or customaction")
    if entry.get("occurred_at") is None:
        raise FileError(f"line {number}: occurred_at: required")
    return entry


def read_file(session: Session, path: str) -> list[Report]:
    try:
        with open(path, encoding="utf-8") as handle:
            lines = [
                (number, line)
                for number, line in enumerate(handle, 1)
                if line.strip()
            ]
    except (OSError, UnicodeDecodeError) as exc:
        raise FileError(f"cannot read {path}: {exc}") from None
    # Lines after the first malformed one wait: an earlier line may
    # still be refused below, and the first bad line is the one named.
    entries, malformed = [], None
    for number, line in lines:
        try:
            entries.append((number, _entry(number, line)))
        except FileError as exc:
            malformed = exc
            break

    user_ids = {entry["user"] for _, entry in entries}
    zones = dict(
        session.execute(
            select(User.id, User.timezone).where(User.id.in_(user_ids))
        ).all()
    )
    owned = {
        kind: set(
            session.execute(
                select(model.user_id, model.id).where(
                    model.user_id.in_(user_ids)
                )
            ).all()
        )
        for kind, model in (
            ("action", UserAction),
            ("customaction", CustomAction),
        )
    }

    now = datetime.now(UTC)
    reports = []
    for number, entry in entries:
        user_id, kind, target = entry["user"], entry["kind"], entry["target"]
        if user_id not in zones:
            raise FileError(f"line {number}: user: no user with id {user_id}")
        if (user_id, target) not in owned[kind]:
            raise FileError(
                f"line {number}: target: user {user_id} has no {kind} {target}"
            )
        try:
            reports.append(
                build_report(
                    entry,
                    user_id=user_id,
                    kind=kind,
                    target_id=target,
                    zone=zones[user_id],
                    now=now,
                    any_past=True,
                )
            )
        except ReportError as exc:
            raise FileError(f"line {number}: {exc}") from None
    if malformed is not None:
        raise malformed
    return reports
