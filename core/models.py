"""The SQL schema: the source of truth for everything the service shows."""

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.days import utcnow

COUNTERS = (
    "actions_total",
    "actions_completed",
    "actions_snoozed",
    "actions_dismissed",
    "customactions_total",
    "customactions_completed",
    "customactions_snoozed",
    "customactions_dismissed",
)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Bumped each time the user's engagement is stored; the rank set keeps
    # the value with the highest, whatever day the user is on.
    rank_version: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default="0"
    )
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Goal(Base):
    __tablename__ = "goals"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(256))


class Action(Base):
    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(256))
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goals.id"))


class UserGoal(Base):
    __tablename__ = "user_goals"
    __table_args__ = (UniqueConstraint("user_id", "goal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id"))
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class UserAction(Base):
    __tablename__ = "user_actions"
    # Ids are never reused: recorded states name their target by id.
    __table_args__ = (
        UniqueConstraint("user_id", "action_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"))
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CustomAction(Base):
    __tablename__ = "custom_actions"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(256))
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ActionReport(Base):
    """Every report as received; `seq` is its place in the queue."""

    __tablename__ = "action_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    day: Mapped[date] = mapped_column(Date)
    length: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ActionState(Base):
    """The one recorded state of an action on a user's local day.

    Targets carry no foreign key: states outlive deleted actions.
    """

    __tablename__ = "action_states"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "target_id", "day"),
        # Covers the engagement query: it never reads the table.
        Index("ix_action_states_user_day_state", "user_id", "day", "state"),
        Index("ix_action_states_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    seq: Mapped[int] = mapped_column(BigInteger)


class DailyProgress(Base):
    __tablename__ = "daily_progress"
    __table_args__ = (UniqueConstraint("user_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    day: Mapped[date] = mapped_column(Date)
    actions_total: Mapped[int] = mapped_column(default=0)
    actions_completed: Mapped[int] = mapped_column(default=0)
    actions_snoozed: Mapped[int] = mapped_column(default=0)
    actions_dismissed: Mapped[int] = mapped_column(default=0)
    customactions_total: Mapped[int] = mapped_column(default=0)
    customactions_completed: Mapped[int] = mapped_column(default=0)
    customactions_snoozed: Mapped[int] = mapped_column(default=0)
    customactions_dismissed: Mapped[int] = mapped_column(default=0)
    engagement_15_days: Mapped[float] = mapped_column(Float, default=0.0)
    engagement_30_days: Mapped[float] = mapped_column(Float, default=0.0)
    engagement_60_days: Mapped[float] = mapped_column(Float, default=0.0)
    engagement_rank: Mapped[float] = mapped_column(Float, default=0.0)
    # Bumped by every write; lets the streak cache keep the newest count.
    version: Mapped[int] = mapped_column(default=1)
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Checkin(Base):
    """One goal's check-in on a day row; `goal_status` is built from these.

    A row per goal keeps concurrent check-ins for different goals apart.
    """

    __tablename__ = "checkins"

    progress_id: Mapped[int] = mapped_column(
        ForeignKey("daily_progress.id"), primary_key=True
    )
    goal_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
