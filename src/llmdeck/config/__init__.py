"""Settings: llmdeck.yaml and the LLMDECK_* environment, validated once and passed in."""

from llmdeck.config.guards import GuardMode, GuardRule, GuardsConfig
from llmdeck.config.limits import LimitsSettings, StateSettings
from llmdeck.config.load import find_config, format_loc, load_settings
from llmdeck.config.schema import (
    CacheMode,
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
    "CacheMode",
    "Deployment",
    "GuardMode",
    "GuardRule",
    "GuardsConfig",
    "LimitsSettings",
    "ModelAlias",
    "ObserveSettings",
    "Price",
    "Routing",
    "Section",
    "ServerSettings",
    "Settings",
    "StateSettings",
    "find_config",
    "format_loc",
    "load_settings",
]
