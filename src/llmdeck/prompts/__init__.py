"""The prompt registry: versioned prompts with labels, rollback, canaries and prompts as files.

Other capabilities use only what is exported here: the gateway's prompt stage resolves and
renders through `Prompts`; the server mounts `routes` and runs the `CanaryController`; the
evaluation capability adds a `PromotionGate`; the SDK composes `PromptsClient`.
"""

from llmdeck.prompts.canary import (
    CanaryCheck,
    CanaryWindow,
    ErrorRateCheck,
    Verdict,
    bucket,
    choose,
)
from llmdeck.prompts.client import AsyncPromptsClient, PromptsClient, ServerUnavailable
from llmdeck.prompts.controller import CanaryController
from llmdeck.prompts.diff import VersionDiff, diff_versions
from llmdeck.prompts.files import FileProblem, dump_version, read_file, read_folder
from llmdeck.prompts.model import (
    CanaryPlan,
    LabelEvent,
    LabelState,
    Prompt,
    PromptSpec,
    PromptVersion,
    RenderedPrompt,
    Target,
    targets_text,
)
from llmdeck.prompts.render import RenderError
from llmdeck.prompts.routes import routes
from llmdeck.prompts.service import (
    Actor,
    Promotion,
    PromotionGate,
    Prompts,
    PushResult,
    Resolved,
    System,
)
from llmdeck.prompts.sync import PushReport, pull_folder, push_folder
from llmdeck.prompts.variables import Variable

__all__ = [
    "Actor",
    "AsyncPromptsClient",
    "CanaryCheck",
    "CanaryController",
    "CanaryPlan",
    "CanaryWindow",
    "ErrorRateCheck",
    "FileProblem",
    "LabelEvent",
    "LabelState",
    "Promotion",
    "PromotionGate",
    "Prompt",
    "PromptSpec",
    "PromptVersion",
    "Prompts",
    "PromptsClient",
    "PushReport",
    "PushResult",
    "RenderError",
    "RenderedPrompt",
    "Resolved",
    "ServerUnavailable",
    "System",
    "Target",
    "Variable",
    "Verdict",
    "VersionDiff",
    "bucket",
    "choose",
    "diff_versions",
    "dump_version",
    "pull_folder",
    "push_folder",
    "read_file",
    "read_folder",
    "routes",
    "targets_text",
]
