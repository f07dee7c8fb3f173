"""RagService: what the server, the job queue and the CLI use. Ingestion (blocking, run in a
thread or a job), retrieval and answering (async, every stage a span with its timings and sizes,
each under its own timeout), and the readiness of each stage."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from llmdeck.config import PipelineSettings, Settings
from llmdeck.errors import ApiError
from llmdeck.gateway import ChatChunk, ChatResponse, Gateway, Principal
from llmdeck.guards import GroundednessDetector
from llmdeck.jobs import Job, Jobs
from llmdeck.observe import Recorder, Score, Tracer
from llmdeck.rag import answer as answering
from llmdeck.rag.ingest import Ingestor, IngestReport, Progress
from llmdeck.rag.retrieve import Query, open_collection, retrieve
from llmdeck.rag.state import DocumentStates, IngestRuns
from llmdeck.rag.types import Answered, RagError, Retrieval, StageTimeout
from llmdeck.store import Store
from llmdeck.vectors import CollectionNotFound, Embed, VectorService

log = logging.getLogger("llmdeck.rag")

RAG = Principal(key_id=None, name="rag", admin=True)
INGEST_JOB = "rag.ingest"


class RagService:
    """Pipelines over one runtime's store, collections and gateway."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        vectors: VectorService,
        embed: Embed,
        gateway: Gateway,
        recorder: Recorder,
    ) -> None:
        self.settings = settings
        self.vectors = vectors
        self.gateway = gateway
        self.recorder = recorder
        self.tracer = Tracer().configure(sink=recorder.record)
        self.ingestor = Ingestor(
            vectors, embed, store, batch=settings.rag.embed_batch, tracer=self.tracer
        )
        self.documents = DocumentStates(store)
        self.runs = IngestRuns(store)
        self.grounded = GroundednessDetector()
        self.jobs: Jobs | None = None

    def pipeline(self, collection: str) -> tuple[str, PipelineSettings]:
        """(name, settings) of the pipeline serving `collection` (a pipeline name works too)."""
        found = self.settings.rag.pipelines.get(collection)
        if found is not None:
            return collection, found
        return self.settings.rag.pipeline(collection)

    def collection_of(self, name: str) -> str:
        """The collection a pipeline (or collection) name writes to."""
        pipeline_name, pipeline = self.pipeline(name)
        return pipeline.collection or pipeline_name

    # -- ingestion -----------------------------------------------------------------------------

    def ingest(
        self, collection: str, source: str | None = None, *, progress: Progress | None = None
    ) -> IngestReport:
        """Ingest `source` (default: the pipeline's) into `collection` (blocking)."""
        name, pipeline = self.pipeline(collection)
        source = source or pipeline.source
        if not source:
            raise RagError(f"pipeline {name!r} has no source: give a path", param="source")
        return self.ingestor.run(
            self.collection_of(collection), source, pipeline, progress=progress
        )

    def register(self, jobs: Jobs) -> None:
        """Run ingestion runs as `rag.ingest` jobs on `jobs`."""
        self.jobs = jobs
        jobs.register(INGEST_JOB, self._run_job)

    async def enqueue(self, collection: str, source: str | None = None) -> str:
        """Queue an ingestion run; its id (GET /api/rag/ingest/ID shows its progress)."""
        name, pipeline = self.pipeline(collection)
        source = source or pipeline.source
        if not source:
            raise RagError(f"pipeline {name!r} has no source: give a path", param="path")
        if self.jobs is None:
            raise RagError("no job queue here to run ingestion on")
        target = self.collection_of(collection)
        run_id = await asyncio.to_thread(self.runs.create, target, source)
        queued = await self.jobs.enqueue(
            INGEST_JOB,
            {"run": run_id, "collection": collection, "source": source},
            dedupe=f"{INGEST_JOB}:{target}:{source}",  # e.g. every replica starting together
            lock=f"rag:{target}",
        )
        if not queued:
            message = "the same ingestion is already waiting to run; this one was dropped"
            await asyncio.to_thread(self.runs.update, run_id, status="skipped", error=message)
        return run_id

    async def _run_job(self, job: Job) -> None:
        run_id = str(job.payload["run"])
        runs = self.runs
        await asyncio.to_thread(
            runs.update, run_id, status="running", started_at=time.time(), error=None
        )
        saved, logged = [0.0], [time.perf_counter()]

        def progress(report: IngestReport) -> None:
            now = time.perf_counter()
            if now - saved[0] >= 0.5:
                saved[0] = now
                runs.update(run_id, **_counters(report))
            if now - logged[0] >= 3.0:
                logged[0] = now
                log.info("ingesting %s: %s", report.collection, _line(report))

        try:
            report = await asyncio.to_thread(
                self.ingest,
                str(job.payload["collection"]),
                str(job.payload["source"]),
                progress=progress,
            )
        except Exception as exc:
            await asyncio.to_thread(
                runs.update, run_id, status="failed", error=str(exc), finished_at=time.time()
            )
            if isinstance(exc, ApiError) and exc.status < 500:
                return  # a bad request fails the same way every time: no retry
            # an upstream or store failure may pass: the queue retries, the run resumes
            raise
        await asyncio.to_thread(
            runs.update, run_id, status="done", finished_at=time.time(), **_counters(report)
        )
        log.info("ingested %s: %s", report.collection, _line(report))

    async def start(self) -> list[str]:
        """Queue ingestion of each pipeline with `ingest_on_start`; the run ids. In-process
        jobs died with their process: runs left unfinished are marked `interrupted` (the
        documents they finished stay; the next run does the rest)."""
        if self.jobs is not None and not self.jobs.shared:
            await asyncio.to_thread(self.runs.interrupt_unfinished)
        started = []
        for name, pipeline in self.settings.rag.pipelines.items():
            if pipeline.ingest_on_start and pipeline.source:
                started.append(await self.enqueue(name))
        return started

    # -- querying ------------------------------------------------------------------------------

    async def retrieve(
        self,
        collection: str,
        question: str,
        k: int | None = None,
        *,
        filter: dict[str, Any] | None = None,
        principal: Principal = RAG,
    ) -> Retrieval:
        """The chunks for `question`, each stage a span; LLM reranking through the gateway."""
        if not question.strip():
            raise RagError("query: must not be empty", param="query")
        with self.tracer.span("rag.retrieve", kind="chain", input=question) as root:
            found = await self._retrieve(collection, question, k, filter, principal)
            found.trace_id = root.trace_id
            root.update(
                output={"chunks": [c.id for c in found.chunks]},
                degraded=found.degraded,
                timings=found.timings,
            )
        return found

    async def _retrieve(
        self,
        collection: str,
        question: str,
        k: int | None,
        filter: dict[str, Any] | None,
        principal: Principal,
    ) -> Retrieval:
        _, pipeline = self.pipeline(collection)
        settings = pipeline.retrieval
        query = Query(self.collection_of(collection), question, k or settings.k, settings, filter)
        clock = time.perf_counter()
        with self.tracer.span("retrieve", kind="retrieval", input=question) as span:
            try:
                found = await asyncio.wait_for(
                    asyncio.to_thread(retrieve, self.vectors, query), pipeline.timeouts.retrieve
                )
            except TimeoutError:
                raise StageTimeout(
                    f"retrieval took over {pipeline.timeouts.retrieve}s", code="retrieve_timeout"
                ) from None
            span.update(
                output=[c.id for c in found.chunks],
                chunks=len(found.chunks),
                mode=found.mode,
                degraded=found.degraded,
                **found.timings,
            )
        found.timings["retrieve"] = _ms(clock)
        if settings.rerank == "llm":
            await self._llm_rerank(query, found, pipeline, principal)
        return found

    async def _llm_rerank(
        self, query: Query, found: Retrieval, pipeline: PipelineSettings, principal: Principal
    ) -> None:
        clock = time.perf_counter()
        model = pipeline.retrieval.rerank_model
        with self.tracer.span("rerank", kind="rerank", model_alias=model) as span:
            request = answering.rerank_request(query.text, found.chunks, model)
            try:
                reply = await asyncio.wait_for(
                    self._chat(request, principal), pipeline.timeouts.rerank
                )
                ordered = answering.reranked(answering.reply_text(reply), found.chunks)
            except (TimeoutError, ApiError) as exc:
                span.update(error=str(exc) or "timeout")
                ordered = None
            if ordered is None:
                found.degraded.append("rerank")
            else:
                found.chunks = ordered
            found.chunks = found.chunks[: query.k]
            span.update(output=[c.id for c in found.chunks])
        found.timings["rerank"] = _ms(clock)

    async def _chat(self, request: Any, principal: Principal) -> Any:
        call = self.gateway.new_call("chat", request, principal)
        return await self.gateway.handle(call)

    async def query(
        self,
        collection: str,
        question: str,
        k: int | None = None,
        *,
        filter: dict[str, Any] | None = None,
        principal: Principal = RAG,
    ) -> Answered:
        """Retrieve, answer with citations, score groundedness; one trace."""
        if not question.strip():
            raise RagError("query: must not be empty", param="query")
        _, pipeline = self.pipeline(collection)
        with self.tracer.span("rag.query", kind="chain", input=question) as root:
            found = await self._retrieve(collection, question, k, filter, principal)
            found.trace_id = root.trace_id
            clock = time.perf_counter()
            request = answering.chat_request(
                question, found.chunks, pipeline.answer, pipeline.prompt
            )
            with self.tracer.span("answer", kind="chain", model_alias=pipeline.answer):
                try:
                    reply = await asyncio.wait_for(
                        self._chat(request, principal), pipeline.timeouts.answer
                    )
                except TimeoutError:
                    raise StageTimeout(
                        f"the answer took over {pipeline.timeouts.answer}s", code="answer_timeout"
                    ) from None
            text = answering.reply_text(reply)
            model = reply.model if isinstance(reply, ChatResponse) else pipeline.answer
            found.timings["answer"] = _ms(clock)
            result = await self._finish(question, found, text, model, pipeline, root)
        return result

    async def _finish(
        self,
        question: str,
        found: Retrieval,
        text: str,
        model: str,
        pipeline: PipelineSettings,
        root: Any,
    ) -> Answered:
        clock = time.perf_counter()
        context = answering.context_text(found.chunks)
        risk: float | None = None
        with self.tracer.span("grounded", kind="guard") as span:
            try:
                verdict = await asyncio.wait_for(
                    asyncio.to_thread(self.grounded.assess, text, context, question),
                    pipeline.timeouts.grounded,
                )
                risk = round(verdict.score, 4)
                span.update(output={"score": risk})
            except TimeoutError:
                found.degraded.append("grounded")
        found.timings["grounded"] = _ms(clock)
        if risk is not None:
            self.recorder.record_score(
                Score(
                    root.trace_id,
                    "groundedness",
                    "numeric",
                    risk,
                    span_id=root.id,
                    source="detector",
                    comment="risk the answer is unsupported",
                )
            )
        result = Answered(found, text, answering.citations(text, found.chunks), model, risk)
        root.update(
            output=text,
            degraded=found.degraded,
            timings=found.timings,
            grounded_risk=risk,
            citations=len(result.citations),
        )
        return result

    async def stream(
        self,
        collection: str,
        question: str,
        k: int | None = None,
        *,
        filter: dict[str, Any] | None = None,
        principal: Principal = RAG,
    ) -> AsyncIterator[dict[str, Any]]:
        """Events: `retrieval` (the chunks), `delta`s of the answer, then `done` (the whole
        result, as `query` returns it)."""
        if not question.strip():
            raise RagError("query: must not be empty", param="query")
        _, pipeline = self.pipeline(collection)
        with self.tracer.span("rag.query", kind="chain", input=question) as root:
            found = await self._retrieve(collection, question, k, filter, principal)
            found.trace_id = root.trace_id
            yield {
                "type": "retrieval",
                "chunks": [c.to_dict() for c in found.chunks],
                "degraded": found.degraded,
                "trace_id": root.trace_id,
            }
            clock = time.perf_counter()
            request = answering.chat_request(
                question, found.chunks, pipeline.answer, pipeline.prompt, stream=True
            )
            parts: list[str] = []
            model = pipeline.answer
            with self.tracer.span("answer", kind="chain", model_alias=pipeline.answer):
                reply = await self._chat(request, principal)
                async for chunk in _chunks(reply):
                    model = chunk.model or model
                    delta = "".join(c.delta.content or "" for c in chunk.choices)
                    if delta:
                        parts.append(delta)
                        yield {"type": "delta", "content": delta}
            found.timings["answer"] = _ms(clock)
            result = await self._finish(question, found, "".join(parts), model, pipeline, root)
        yield {"type": "done", **result.to_dict()}

    # -- status --------------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """Each pipeline's stages: the collection (its store), embedding and answer models."""
        routing = await self.gateway.router.status()
        down = set(routing["down"])
        pipelines: dict[str, Any] = {}
        degraded = False
        for name in self.settings.rag.pipelines:
            collection = self.collection_of(name)
            _, pipeline = self.pipeline(name)
            store = await asyncio.to_thread(self._store_state, collection)
            stages = {
                "store": store,
                "embedding": "down (keyword-only)" if pipeline.embedding in down else "ok",
                "answer": "down" if pipeline.answer in down else "ok",
            }
            degraded = degraded or any(v != "ok" and v != "no collection" for v in stages.values())
            pipelines[name] = stages
        return {"ready": True, "degraded": degraded, "pipelines": pipelines}

    def _store_state(self, collection: str) -> str:
        try:
            open_collection(self.vectors, collection).count()
        except CollectionNotFound:
            return "no collection"
        except ApiError as exc:
            return f"down: {exc.message}"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return f"down: {type(exc).__name__}"
        return "ok"


async def _chunks(reply: Any) -> AsyncIterator[ChatChunk]:
    if isinstance(reply, ChatResponse):  # a provider that cannot stream answered whole
        content = {"index": 0, "delta": {"content": answering.reply_text(reply)}}
        yield ChatChunk.model_validate({"id": reply.id, "model": reply.model, "choices": [content]})
        return
    async for chunk in reply:
        yield chunk


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


def _counters(report: IngestReport) -> dict[str, Any]:
    return {
        "documents": report.documents,
        "done": report.done,
        "written": report.written,
        "skipped": report.skipped,
        "removed": report.removed,
        "chunks": report.chunks,
        "embedded": report.embedded,
        "problems": [str(p) for p in report.problems],
    }


def _line(report: IngestReport) -> str:
    elapsed = max(report.elapsed, 1e-9)
    return (
        f"{report.done} documents ({report.skipped} unchanged, {report.removed} removed), "
        f"{report.chunks} chunks, {report.done / elapsed:.1f} docs/s, "
        f"{report.chunks / elapsed:.1f} chunks/s, {len(report.problems)} problems"
    )
