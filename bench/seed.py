"""Users for the load: made in SQL at once, each with a token and an action.

The CLI makes one user per process start, which would take minutes for
a thousand; these rows are what `create-user` and a selected action
would leave (the token stored as its SHA-256 hash).
"""

import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select

from core.accounts import hash_token
from core.days import utcnow
from core.db import Database
from core.models import Action, Goal, User, UserAction

ZONES = ("UTC", "Europe/Berlin", "Asia/Tokyo", "America/New_York")


@dataclass(frozen=True)
class Member:
    user_id: int
    user_action_id: int
    token: str
    zone: str

    @property
    def report_path(self) -> str:
        return f"/api/users/actions/{self.user_action_id}/complete/"


def seed_members(
    database_url: str, count: int, prefix: str, zones=ZONES
) -> list[Member]:
    """`count` users, each with one selected action, in the given zones."""
    db = Database(database_url)
    now = utcnow()
    tokens = [secrets.token_hex(20) for _ in range(count)]
    emails = [f"{prefix}{n}@bench.example.org" for n in range(count)]
    zone_of = {email: zones[n % len(zones)] for n, email in enumerate(emails)}

    def work(session):
        goal = session.scalar(
            insert(Goal).values(title="Benchmark").returning(Goal.id)
        )
        action = session.scalar(
            insert(Action)
            .values(title="Report", goal_id=goal)
            .returning(Action.id)
        )
        session.execute(
            insert(User),
            [
                {
                    "email": email,
                    "timezone": zone_of[email],
                    "token_hash": hash_token(token),
                    "created_on": now,
                }
                for email, token in zip(emails, tokens, strict=True)
            ],
        )
        users = dict(
            session.execute(
                select(User.email, User.id).where(User.email.in_(emails))
            ).all()
        )
        session.execute(
            insert(UserAction),
            [
                {"user_id": users[e], "action_id": action, "created_on": now}
                for e in emails
            ],
        )
        chosen = dict(
            session.execute(
                select(UserAction.user_id, UserAction.id).where(
                    UserAction.action_id == action
                )
            ).all()
        )
        return users, chosen

    try:
        users, chosen = db.write(work)
    finally:
        db.dispose()
    return [
        Member(users[e], chosen[users[e]], token, zone_of[e])
        for e, token in zip(emails, tokens, strict=True)
    ]
