"""Settings: llmdeck.yaml and the LLMDECK_* environment, validated once and passed in."""

from llmdeck.config.load import find_config, format_loc, load_settings
from llmdeck.config.schema import (
    CacheMode,
    Deployment,
    IndexSettings,
    Metric,
    ModelAlias,
    ObserveSettings,
    Price,
    Routing,
    Section,
    ServerSettings,
    Settings,
    VectorBackend,
    VectorsSettings,
)

__all__ = [
    "CacheMode",
    "Deployment",
    "IndexSettings",
    "Metric",
    "ModelAlias",
    "ObserveSettings",
    "Price",
    "Routing",
    "Section",
    "ServerSettings",
    "Settings",
    "VectorBackend",
    "VectorsSettings",
    "find_config",
    "format_loc",
    "load_settings",
]
