"""Settings: llmdeck.yaml and the LLMDECK_* environment, validated once and passed in."""

from llmdeck.config.guards import GuardMode, GuardRule, GuardsConfig
from llmdeck.config.load import find_config, format_loc, load_settings
from llmdeck.config.schema import (
    CacheMode,
    Deployment,
    Duration,
    ExportSettings,
    ModelAlias,
    ObserveSettings,
    Price,
    PromptsSettings,
    RetentionSettings,
    Routing,
    Section,
    ServerSettings,
    Settings,
    parse_duration,
)

__all__ = [
    "CacheMode",
    "Deployment",
    "GuardMode",
    "GuardRule",
    "GuardsConfig",
    "Duration",
    "ExportSettings",
    "ModelAlias",
    "ObserveSettings",
    "Price",
    "RetentionSettings",
    "PromptsSettings",
    "Routing",
    "Section",
    "ServerSettings",
    "Settings",
    "find_config",
    "format_loc",
    "load_settings",
    "parse_duration",
]
