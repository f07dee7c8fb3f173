"""The job queue's tables, functions and triggers (procrastinate's schema), on PostgreSQL only:
with SQLite, jobs run in-process and need no table.

procrastinate is pinned to one minor version (pyproject.toml); moving to a release that changes
its schema takes a new migration applying its files in `procrastinate/sql/migrations`.
"""

from sqlalchemy import Connection


def up(conn: Connection) -> None:
    """Apply procrastinate's schema in the current schema (search_path)."""
    if conn.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    exists = conn.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar()
    if exists is not None:
        return
    # several statements in one string: run them on the driver's connection (no parameters),
    # inside the migration's transaction
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(SchemaManager.get_schema())
