"""Settings: llmdeck.yaml and the LLMDECK_* environment, validated once and passed in."""

from llmdeck.config.cache import (
    DEFAULT_THRESHOLD,
    AliasCache,
    BatchSettings,
    CacheMode,
    CacheScope,
    CacheSettings,
)
from llmdeck.config.guards import GuardMode, GuardRule, GuardsConfig
from llmdeck.config.load import find_config, format_loc, load_settings
from llmdeck.config.schema import (
    Deployment,
    ModelAlias,
    ObserveSettings,
    Price,
    Routing,
    Section,
    ServerSettings,
    Settings,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "AliasCache",
    "BatchSettings",
    "CacheMode",
    "CacheScope",
    "CacheSettings",
    "Deployment",
    "GuardMode",
    "GuardRule",
    "GuardsConfig",
    "ModelAlias",
    "ObserveSettings",
    "Price",
    "Routing",
    "Section",
    "ServerSettings",
    "Settings",
    "find_config",
    "format_loc",
    "load_settings",
]
