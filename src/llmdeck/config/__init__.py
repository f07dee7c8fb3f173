"""Settings: llmdeck.yaml and the LLMDECK_* environment, validated once and passed in."""

from llmdeck.config.guards import GuardMode, GuardRule, GuardsConfig
from llmdeck.config.load import find_config, format_loc, load_settings
from llmdeck.config.routing import (
    Backoff,
    CircuitSettings,
    ComplexityExample,
    ComplexitySettings,
    HealthCheck,
)
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
    "Backoff",
    "CircuitSettings",
    "ComplexityExample",
    "ComplexitySettings",
    "HealthCheck",
    "CacheMode",
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
