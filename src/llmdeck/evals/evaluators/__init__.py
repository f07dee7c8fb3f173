"""Evaluators: one protocol, built-ins, LLM judges, RAG metrics and custom functions."""

from llmdeck.evals.evaluators.base import Case, Chunk, EvalScore, Evaluator, Tools
from llmdeck.evals.evaluators.judge import JUDGE_MESSAGES, JUDGE_PROMPT_NAME
from llmdeck.evals.evaluators.registry import (
    BUILTIN,
    EvaluatorSpecError,
    build_evaluators,
    build_one,
)

__all__ = [
    "BUILTIN",
    "JUDGE_MESSAGES",
    "JUDGE_PROMPT_NAME",
    "Case",
    "Chunk",
    "EvalScore",
    "Evaluator",
    "EvaluatorSpecError",
    "Tools",
    "build_evaluators",
    "build_one",
]
