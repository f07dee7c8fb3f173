"""Evaluation: datasets, evaluators, experiments, comparison and regression gates.

Other capabilities and the server use only what is exported here: `Evals` (the service),
`routes`, the promotion gate, and the suite and dataset types the CLI reads.
"""

from llmdeck.evals.compare import Comparison, Difference, compare
from llmdeck.evals.datasets import DatasetInfo, Datasets
from llmdeck.evals.evaluators import Case, Chunk, EvalScore, Evaluator, Tools
from llmdeck.evals.experiments import ExperimentRequest, Experiments
from llmdeck.evals.from_traces import TraceFilter, items_from_traces
from llmdeck.evals.gate import promotion_gate
from llmdeck.evals.items import DatasetError, Item, read_items, to_csv, to_jsonl
from llmdeck.evals.local import local_evals
from llmdeck.evals.online import OnlineEvaluator
from llmdeck.evals.report import as_json, junit, markdown
from llmdeck.evals.routes import routes
from llmdeck.evals.runs import Result, Run, Runs
from llmdeck.evals.service import Evals, Outcome
from llmdeck.evals.setup import build_experiments
from llmdeck.evals.suite import Suite, load_suite, parse_suite
from llmdeck.evals.targets import TargetSpec

__all__ = [
    "TraceFilter",
    "as_json",
    "items_from_traces",
    "junit",
    "local_evals",
    "markdown",
    "Case",
    "Chunk",
    "Comparison",
    "DatasetError",
    "DatasetInfo",
    "Datasets",
    "Difference",
    "EvalScore",
    "Evals",
    "Evaluator",
    "ExperimentRequest",
    "Experiments",
    "Item",
    "OnlineEvaluator",
    "Outcome",
    "Result",
    "Run",
    "Runs",
    "Suite",
    "TargetSpec",
    "Tools",
    "build_experiments",
    "compare",
    "load_suite",
    "parse_suite",
    "promotion_gate",
    "read_items",
    "routes",
    "to_csv",
    "to_jsonl",
]
