"""Users, their tokens, the catalogue, and what each user selected."""

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.days import is_zone, today
from core.models import Action, CustomAction, Goal, User, UserAction, UserGoal
from core.progress import lock_users, refresh_totals


class AccountError(ValueError):
    """A request about accounts that cannot be done; says why."""


@dataclass(frozen=True)
class Caller:
    """The authenticated user, as the API needs it on every request."""

    id: int
    timezone: str


def _shown(value: object) -> str:
    """A value from a request, as JSON text: what the client sent."""
    try:
        return json.dumps(value, ensure_ascii=False)[:100]
    except (TypeError, ValueError):
        return "that value"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(session: Session, email: str, timezone: str = "UTC"):
    """A new user and their token; the token is shown only here.

    Emails are kept trimmed and in lower case, so case cannot make twins.
    """
    email = email.strip().lower() if isinstance(email, str) else ""
    if not email or "@" not in email or len(email) > 254:
        raise AccountError("email: not an email address")
    if not is_zone(timezone):
        raise AccountError(f"timezone: unknown time zone {_shown(timezone)}")
    token = secrets.token_hex(20)
    user = User(email=email, timezone=timezone, token_hash=hash_token(token))
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise AccountError(f"email: {email} is already taken") from None
    return user, token


def authenticate(session: Session, token: str) -> Caller | None:
    digest = hash_token(token)
    user = session.scalars(
        select(User).where(User.token_hash == digest)
    ).one_or_none()
    if user is None or not hmac.compare_digest(user.token_hash, digest):
        return None
    return Caller(user.id, user.timezone)


def set_timezone(session: Session, user_id: int, timezone: object) -> User:
    if not is_zone(timezone):
        raise AccountError(f"timezone: unknown time zone {_shown(timezone)}")
    user = session.get(User, user_id)
    user.timezone = timezone
    return user


def create_goal(session: Session, title: str) -> Goal:
    goal = Goal(title=_title(title))
    session.add(goal)
    session.flush()
    return goal


def create_action(session: Session, title: str, goal_id=None) -> Action:
    if goal_id is not None and session.get(Goal, goal_id) is None:
        raise AccountError(f"goal: no goal with id {goal_id}")
    action = Action(title=_title(title), goal_id=goal_id)
    session.add(action)
    session.flush()
    return action


def _title(title: object) -> str:
    if not isinstance(title, str) or not 1 <= len(title) <= 256:
        raise AccountError("title: a string of 1 to 256 characters")
    return title


def select_goal(session: Session, caller: Caller, goal_id: int):
    """Returns (user goal, created)."""
    if session.get(Goal, goal_id) is None:
        raise AccountError(f"goal: no goal with id {goal_id}")
    lock_users(session, [caller.id])
    found = session.scalars(
        select(UserGoal).where(
            UserGoal.user_id == caller.id, UserGoal.goal_id == goal_id
        )
    ).one_or_none()
    if found is not None:
        return found, False
    chosen = UserGoal(user_id=caller.id, goal_id=goal_id)
    session.add(chosen)
    session.flush()
    return chosen, True


def unselect_goal(session: Session, caller: Caller, goal_id: int) -> bool:
    lock_users(session, [caller.id])
    gone = session.execute(
        delete(UserGoal).where(
            UserGoal.user_id == caller.id, UserGoal.goal_id == goal_id
        )
    )
    return gone.rowcount > 0


def select_action(session: Session, caller: Caller, action_id: int):
    """Returns (user action, created); today's totals follow."""
    if session.get(Action, action_id) is None:
        raise AccountError(f"action: no action with id {action_id}")
    lock_users(session, [caller.id])
    found = session.scalars(
        select(UserAction).where(
            UserAction.user_id == caller.id, UserAction.action_id == action_id
        )
    ).one_or_none()
    if found is not None:
        return found, False
    chosen = UserAction(user_id=caller.id, action_id=action_id)
    session.add(chosen)
    session.flush()
    refresh_totals(session, caller.id, today(caller.timezone))
    return chosen, True


def unselect_action(session: Session, caller: Caller, user_action_id: int):
    lock_users(session, [caller.id])
    gone = session.execute(
        delete(UserAction).where(
            UserAction.user_id == caller.id, UserAction.id == user_action_id
        )
    )
    if gone.rowcount:
        refresh_totals(session, caller.id, today(caller.timezone))
    return gone.rowcount > 0


def create_custom_action(session: Session, caller: Caller, title: object):
    lock_users(session, [caller.id])
    custom = CustomAction(user_id=caller.id, title=_title(title))
    session.add(custom)
    session.flush()
    refresh_totals(session, caller.id, today(caller.timezone))
    return custom


def delete_custom_action(session: Session, caller: Caller, custom_id: int):
    lock_users(session, [caller.id])
    gone = session.execute(
        delete(CustomAction).where(
            CustomAction.user_id == caller.id, CustomAction.id == custom_id
        )
    )
    if gone.rowcount:
        refresh_totals(session, caller.id, today(caller.timezone))
    return gone.rowcount > 0


def targets(session: Session, user_id: int) -> set[str]:
    """What the user may report on, as "action:<id>", "customaction:<id>"."""
    owned = set()
    for kind, model in (
        ("action", UserAction),
        ("customaction", CustomAction),
    ):
        ids = session.scalars(select(model.id).where(model.user_id == user_id))
        owned.update(f"{kind}:{target}" for target in ids)
    return owned
