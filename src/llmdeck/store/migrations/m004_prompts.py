"""The prompt registry: prompts, versions, labels and the history of label moves."""

from sqlalchemy import Connection

from llmdeck.store.migrations import create_tables
from llmdeck.store.tables import prompt_label_events, prompt_labels, prompt_versions, prompts


def up(conn: Connection) -> None:
    """Create the registry's tables with their indexes."""
    create_tables(conn, prompts, prompt_versions, prompt_labels, prompt_label_events)
