"""The `dailyprogress` command: one JSON object on stdout per command."""

import argparse
import json
import sys

from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from tqdm import tqdm

from core import accounts, imports, logs, pipeline, queue, streaks
from core.accounts import AccountError
from core.days import today
from core.db import is_transient
from core.migrate import upgrade
from core.models import DailyProgress, User
from core.ranks import Ranks
from core.services import Services
from core.settings import Settings


class CommandError(Exception):
    """A command that cannot be done; exit 1 with the message."""


def create_user(services: Services, args) -> dict:
    def work(session):
        user, token = accounts.create_user(session, args.email, args.timezone)
        return {
            "id": user.id,
            "email": user.email,
            "timezone": user.timezone,
            "token": token,
        }

    return services.db.write(work)


def create_goal(services: Services, args) -> dict:
    def work(session):
        goal = accounts.create_goal(session, args.title)
        return {"id": goal.id, "title": goal.title}

    return services.db.write(work)


def create_action(services: Services, args) -> dict:
    def work(session):
        action = accounts.create_action(session, args.title, args.goal)
        return {"id": action.id, "title": action.title, "goal": args.goal}

    return services.db.write(work)


def import_reports(services: Services, args) -> dict:
    with services.db.reading() as session:
        try:
            reports = imports.read_file(session, args.file)
        except imports.FileError as exc:
            raise CommandError(str(exc)) from None
    bar = tqdm(total=len(reports), desc="queueing", unit="report")
    queued = queue.enqueue_reports(
        services.broker, reports, progress=bar.update
    )
    bar.close()
    users = len({report.user_id for report in reports})
    return {"queued": queued, "users": users, "file": args.file}


def rebuild_cache(services: Services, args) -> dict:
    """Ranks and streak caches, recomputed from SQL."""
    Ranks(services.redis).clear()
    ranked = pipeline.recompute_all(services.db, services.redis)

    cache = streaks.StreakCache(services.redis)
    cache.clear()
    with services.db.reading() as session:
        users = session.execute(
            select(User.id, User.timezone)
            .join(DailyProgress, DailyProgress.user_id == User.id)
            .group_by(User.id, User.timezone)
            .having(func.count(DailyProgress.id) > 0)
        ).all()
        for user_id, zone in tqdm(users, desc="streaks", unit="user"):
            streaks.read_counts(cache, session, user_id, today(zone))
    return {
        "ranked": Ranks(services.redis).size(),
        "measured": ranked,
        "streaks": len(users),
    }


def recompute(services: Services, args) -> dict:
    return {"users": pipeline.recompute_all(services.db, services.redis)}


def migrate(services: Services, args) -> dict:
    upgrade(services.settings.database_url)
    return {"migrated": True}


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are failures like any other: JSON, exit 1."""

    def error(self, message):
        _print({"error": message})
        sys.exit(1)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dailyprogress")
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )

    user = commands.add_parser("create-user", help="a user and their token")
    user.add_argument("--email", required=True)
    user.add_argument("--timezone", default="UTC")
    user.set_defaults(run=create_user)

    goal = commands.add_parser("create-goal", help="a goal in the catalogue")
    goal.add_argument("--title", required=True)
    goal.set_defaults(run=create_goal)

    action = commands.add_parser("create-action", help="an action")
    action.add_argument("--title", required=True)
    action.add_argument("--goal", type=int)
    action.set_defaults(run=create_action)

    load = commands.add_parser("import-reports", help="queue past reports")
    load.add_argument("file")
    load.set_defaults(run=import_reports)

    for name, run, text in (
        ("rebuild-cache", rebuild_cache, "rebuild Redis from SQL"),
        ("recompute", recompute, "recompute engagement and ranks now"),
        ("migrate", migrate, "bring the database schema up to date"),
    ):
        commands.add_parser(name, help=text).set_defaults(run=run)
    return parser


def _print(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")


def main(argv=None) -> int:
    logs.configure("WARNING")
    args = _parser().parse_args(argv)
    services = Services.from_settings(Settings.from_env())
    try:
        _print(args.run(services, args))
        return 0
    except (CommandError, AccountError) as exc:
        _print({"error": str(exc)})
        return 1
    except RedisError as exc:
        _print({"error": f"Redis is unavailable: {exc}"})
        return 2
    except OperationalError as exc:
        _print({"error": f"database error: {exc.orig}"})
        return 2 if is_transient(exc) else 1
    finally:
        services.db.dispose()


if __name__ == "__main__":
    sys.exit(main())
