"""POST /api/guards/check: run detectors on a text (DESIGN.md shape)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmdeck.errors import BadRequest
from llmdeck.guards.base import Detector, DetectorContext
from llmdeck.guards.grounded import GroundednessDetector
from llmdeck.guards.policy import run_detector
from llmdeck.guards.registry import build_detector
from llmdeck.web import json_response, read_model

Authenticate = Callable[[Request], Awaitable[Any]]


class CheckRequest(BaseModel):
    """`detectors` entries are names, or objects with a `name` and the detector's options
    (`threshold` included)."""

    model_config = ConfigDict(extra="forbid")

    text: str
    detectors: list[str | dict[str, Any]] = Field(min_length=1, max_length=32)
    context: str | list[str] | None = None
    question: str | None = None

    @field_validator("detectors")
    @classmethod
    def _named(cls, value: list[str | dict[str, Any]]) -> list[str | dict[str, Any]]:
        for entry in value:
            if isinstance(entry, dict) and not isinstance(entry.get("name"), str):
                raise ValueError("an object in detectors needs a name")
        return value

    def context_text(self) -> str | None:
        """The context as one text (documents joined by blank lines)."""
        if isinstance(self.context, list):
            return "\n\n".join(self.context)
        return self.context


def _build(entry: str | dict[str, Any], index: int, context: DetectorContext) -> Detector:
    name, options = (entry, {}) if isinstance(entry, str) else (entry["name"], dict(entry))
    options.pop("name", None)
    try:
        return build_detector(name, options, context)
    except ValueError as exc:
        raise BadRequest(f"detectors[{index}]: {exc}", param=f"detectors[{index}]") from None


async def check(body: CheckRequest, context: DetectorContext) -> dict[str, Any]:
    """The response body for a check request."""
    detectors = [_build(entry, i, context) for i, entry in enumerate(body.detectors)]
    text_context = body.context_text()
    results = []
    for detector in detectors:
        if isinstance(detector, GroundednessDetector) and detector.judge is None:
            verdict = detector.assess(body.text, text_context or "", body.question)
        else:
            verdict = await run_detector(detector, body.text, text_context)
        results.append(
            {
                "detector": detector.name,
                "score": round(verdict.score, 4),
                "flagged": verdict.score >= detector.threshold,
                "threshold": detector.threshold,
                "findings": [f.as_dict() for f in verdict.findings],
            }
        )
    return {"results": results}


def routes(authenticate: Authenticate, context: DetectorContext) -> list[BaseRoute]:
    """The guards' management routes."""

    async def check_route(request: Request) -> Response:
        await authenticate(request)
        body = await read_model(request, CheckRequest)
        return json_response(await check(body, context))

    return [Route("/api/guards/check", check_route, methods=["POST"])]
