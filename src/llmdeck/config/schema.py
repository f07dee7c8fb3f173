"""The shape of llmdeck.yaml, as frozen pydantic models."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from llmdeck.config.guards import GuardsConfig
from llmdeck.config.limits import LimitsSettings, StateSettings

Routing = Literal[
    "priority", "weighted", "least-latency", "lowest-cost", "least-busy", "complexity"
]
CacheMode = Literal["off", "exact", "semantic"]


class Section(BaseModel):
    """Base of every config section: frozen, and unknown keys are errors (typos show up)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Price(Section):
    """USD per one million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)


class Deployment(Section):
    """One concrete model behind an alias: a provider, a model name, and how to reach it."""

    provider: str
    model: str
    name: str = ""
    api_base: str | None = None
    api_key: SecretStr | None = None
    price: Price | None = None
    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)
    timeout: float = Field(default=60.0, gt=0)
    weight: float = Field(default=1.0, ge=0)
    max_parallel: int | None = Field(default=None, gt=0)
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("api_base")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("not a URL")
        return value.rstrip("/")


class ModelAlias(Section):
    """A name clients ask for, and the deployments (or tiers) that serve it."""

    name: str = Field(min_length=1)
    routing: Routing = "priority"
    cache: CacheMode = "off"
    deployments: tuple[Deployment, ...] = ()
    tiers: dict[str, str] | None = None
    guards: GuardsConfig | None = None

    @model_validator(mode="after")
    def _needs_targets(self) -> ModelAlias:
        if self.routing == "complexity":
            if not self.tiers or not {"simple", "complex"} <= set(self.tiers):
                raise ValueError("complexity routing needs tiers: {simple: ALIAS, complex: ALIAS}")
        elif not self.deployments:
            raise ValueError("needs at least one deployment")
        seen: set[str] = set()
        named = []
        for index, deployment in enumerate(self.deployments):
            name = deployment.name or f"{self.name}-{index}"
            if name in seen:
                raise ValueError(f"deployment name {name!r} is used twice")
            seen.add(name)
            named.append(deployment.model_copy(update={"name": name}))
        object.__setattr__(self, "deployments", tuple(named))
        return self


class ServerSettings(Section):
    """How `llmdeck serve` listens."""

    host: str = "127.0.0.1"
    port: int = Field(default=4000, ge=0, le=65535)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, gt=0)


class ObserveSettings(Section):
    """The write-behind recorder of calls and spans."""

    queue_size: int = Field(default=100_000, gt=0)
    batch_size: int = Field(default=500, gt=0)
    flush_interval: float = Field(default=0.2, gt=0)
    max_field_chars: int = Field(default=32_000, gt=0)


def default_models() -> tuple[ModelAlias, ...]:
    """The embedded defaults: local extractive answers and local embeddings, no keys."""
    return (
        ModelAlias(name="chat", deployments=(Deployment(provider="local", model="extractive"),)),
        ModelAlias(
            name="embed", deployments=(Deployment(provider="local", model="default-embedding"),)
        ),
    )


class Settings(Section):
    """Everything llmdeck needs to run, built once by `load_settings` and passed in."""

    models: tuple[ModelAlias, ...] = Field(default_factory=default_models)
    server: ServerSettings = Field(default_factory=ServerSettings)
    observe: ObserveSettings = Field(default_factory=ObserveSettings)
    state: StateSettings = Field(default_factory=StateSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    home: Path = Path(".llmdeck")
    database_url: str | None = None
    redis_url: str | None = None
    admin_key: SecretStr | None = None
    source: str = ""

    @model_validator(mode="after")
    def _unique_aliases(self) -> Settings:
        names = [m.name for m in self.models]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"model alias {name!r} is defined twice")
        known = set(names)
        for alias in self.models:
            for tier, target in (alias.tiers or {}).items():
                if target not in known:
                    raise ValueError(f"{alias.name}.tiers.{tier}: unknown model alias {target!r}")
        return self

    def alias(self, name: str) -> ModelAlias | None:
        """The model alias called `name`, if configured."""
        for alias in self.models:
            if alias.name == name:
                return alias
        return None

    @property
    def sqlite_path(self) -> Path:
        """Where the embedded database lives."""
        return self.home / "llmdeck.db"

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to the SQLite file under `home`."""
        return self.database_url or f"sqlite:///{self.sqlite_path}"
