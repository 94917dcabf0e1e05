"""Tokens are kept only as hashes, in SQL and in Redis alike."""

from sqlalchemy import inspect, text

from core.accounts import hash_token


def everything_in_sql(world) -> str:
    with world.db.reading() as session:
        tables = inspect(session.connection()).get_table_names()
        return "\n".join(
            repr(row)
            for table in tables
            for row in session.execute(text(f'SELECT * FROM "{table}"'))
        )


def everything_in_redis(world) -> str:
    redis = world.services.redis
    found = []
    for key in redis.scan_iter():
        found.append(repr(key))
        kind = redis.type(key).decode()
        if kind == "string":
            found.append(repr(redis.get(key)))
        elif kind == "hash":
            found.append(repr(redis.hgetall(key)))
        elif kind == "zset":
            found.append(repr(redis.zrange(key, 0, -1, withscores=True)))
        elif kind == "stream":
            found.append(repr(redis.xrange(key)))
        elif kind == "set":
            found.append(repr(redis.smembers(key)))
    return "\n".join(found)


def test_a_used_token_is_nowhere_in_sql_or_redis_but_its_hash_is(
    world, alice, owned
):
    assert alice.get("/api/users/me/").status_code == 200
    response = alice.post(f"/api/users/actions/{owned.user_action}/complete/")
    assert response.status_code == 202
    world.drain()

    sql, cached = everything_in_sql(world), everything_in_redis(world)
    assert hash_token(alice.token) in sql
    assert hash_token(alice.token) in cached
    assert alice.token not in sql
    assert alice.token not in cached
