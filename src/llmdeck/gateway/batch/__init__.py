"""The Batch API: files, batches and the runner that works through them in the background."""

from llmdeck.gateway.batch.batches import Batches
from llmdeck.gateway.batch.files import Files
from llmdeck.gateway.batch.runner import BatchRunner
from llmdeck.gateway.batch.work import Work, output_record, request_id

__all__ = ["BatchRunner", "Batches", "Files", "Work", "output_record", "request_id"]
