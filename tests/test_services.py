"""The test services themselves: PostgreSQL and Redis found or started, and the tests'
data kept apart (a database and schemas of their own, a key prefix of their own)."""

from __future__ import annotations

import psycopg

from tests.support import services


def test_the_session_has_a_postgresql_database_and_the_test_a_schema_of_its_own(
    postgres_database: str, postgres_url: str
) -> None:
    with psycopg.connect(postgres_url) as db:
        name, schema = db.execute("SELECT current_database(), current_schema()").fetchone()
        db.execute("CREATE TABLE scratch (n BIGINT)")
    assert postgres_database.endswith("/" + name) and name.startswith("kibitz_test_")
    assert schema.startswith("t_")
    with services.postgres_schema(postgres_database) as other, psycopg.connect(other) as db:
        (other_schema,) = db.execute("SELECT current_schema()").fetchone()
        tables = db.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
            (other_schema,),
        ).fetchone()
    assert other_schema != schema and tables == (0,)  # the other schema sees no scratch
    with psycopg.connect(postgres_database) as db:
        left = db.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
            (other_schema,),
        ).fetchone()
    assert left == (0,)  # dropped at the end of its block


def test_redis_answers_and_only_the_prefix_s_keys_are_deleted(
    redis_port: int, redis_prefix: str
) -> None:
    assert services.redis_command(redis_port, "PING") == b"PONG"
    other = redis_prefix + "x:"  # stands for another test's prefix below this one's
    services.redis_command(redis_port, "SET", redis_prefix + "a", "1")
    services.redis_command(redis_port, "SET", redis_prefix + "b", "2")
    assert services.redis_command(redis_port, "GET", redis_prefix + "a") == b"1"
    assert services.delete_keys(redis_port, other) == 0
    assert services.delete_keys(redis_port, redis_prefix) == 2
    assert services.redis_command(redis_port, "EXISTS", redis_prefix + "a") == 0


def test_nothing_is_missing_where_the_services_answer_or_are_installed() -> None:
    assert services.missing_packages() == []
