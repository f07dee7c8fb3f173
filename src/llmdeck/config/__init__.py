"""Settings: llmdeck.yaml and the LLMDECK_* environment, validated once and passed in."""

from llmdeck.config.guards import GuardMode, GuardRule, GuardsConfig
from llmdeck.config.load import find_config, format_loc, load_settings
from llmdeck.config.schema import (
    CacheMode,
    Deployment,
    Duration,
    ExportSettings,
    IndexSettings,
    Metric,
    ModelAlias,
    ObserveSettings,
    Price,
    RetentionSettings,
    Routing,
    Section,
    ServerSettings,
    Settings,
    VectorBackend,
    VectorsSettings,
    parse_duration,
)

__all__ = [
    "CacheMode",
    "Deployment",
    "IndexSettings",
    "Metric",
    "GuardMode",
    "GuardRule",
    "GuardsConfig",
    "Duration",
    "ExportSettings",
    "ModelAlias",
    "ObserveSettings",
    "Price",
    "RetentionSettings",
    "Routing",
    "Section",
    "ServerSettings",
    "Settings",
    "VectorBackend",
    "VectorsSettings",
    "find_config",
    "format_loc",
    "load_settings",
    "parse_duration",
]
