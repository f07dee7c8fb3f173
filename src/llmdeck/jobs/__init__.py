"""Background jobs: `enqueue(kind, payload)` here, a handler registered for `kind` runs it.

`open_jobs(settings)` gives the queue the settings call for: PostgreSQL (procrastinate) when the
database is PostgreSQL, so servers enqueue and `llmdeck worker` processes (and servers with
`jobs.in_server`) run the jobs; in-process otherwise (the embedded default). Capabilities
register their handlers on the one `Jobs` a runtime holds (`runtime.jobs`) and enqueue
through it; docs/architecture.md ("Background jobs") shows how.
"""

from llmdeck.config import Settings
from llmdeck.jobs.base import Handler, Job, Jobs, QueueCount, Registry, StalledJob, UnknownJobKind
from llmdeck.jobs.local import LocalJobs


def open_jobs(settings: Settings) -> Jobs:
    """The job queue for `settings` (not started)."""
    choice = settings.jobs.backend
    if choice == "postgres" or (choice == "auto" and settings.uses_postgres):
        from llmdeck.jobs.postgres import PostgresJobs  # procrastinate loads only when used

        assert settings.database_url is not None
        return PostgresJobs(settings.database_url, settings.jobs)
    return LocalJobs(settings.jobs)


__all__ = [
    "Handler",
    "Job",
    "Jobs",
    "LocalJobs",
    "QueueCount",
    "Registry",
    "StalledJob",
    "UnknownJobKind",
    "open_jobs",
]
