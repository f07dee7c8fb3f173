"""The shape of llmdeck.yaml, as frozen pydantic models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from llmdeck.config.cache import AliasCache, BatchSettings, CacheSettings
from llmdeck.config.evals import EvalsSettings
from llmdeck.config.guards import GuardsConfig
from llmdeck.config.jobs import JobsSettings
from llmdeck.config.limits import LimitsSettings, StateSettings
from llmdeck.config.rag import RagSettings
from llmdeck.config.routing import Backoff, CircuitSettings, ComplexitySettings, HealthCheck

Routing = Literal[
    "priority", "weighted", "least-latency", "lowest-cost", "least-busy", "complexity"
]


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
    cache: AliasCache = Field(default_factory=AliasCache)
    deployments: tuple[Deployment, ...] = ()
    tiers: dict[str, str] | None = None
    guards: GuardsConfig | None = None
    retries: int = Field(default=2, ge=0, le=10)
    deadline: float = Field(default=120.0, gt=0)
    queue_timeout: float = Field(default=5.0, ge=0)
    backoff: Backoff = Field(default_factory=Backoff)
    circuit: CircuitSettings = Field(default_factory=CircuitSettings)
    health_check: HealthCheck | None = None
    complexity: ComplexitySettings = Field(default_factory=ComplexitySettings)

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


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(value: object) -> float:
    """Seconds from a number or a string such as "90s", "15m", "12h", "30d", "2w"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip().lower()
        unit = _UNITS.get(text[-1])
        try:
            seconds = float(text[:-1]) * unit if unit else float(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a duration like 90s, 15m, 12h or 30d") from None
    else:
        raise ValueError(f"{value!r} is not a duration like 90s, 15m, 12h or 30d")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds; written as a number or as "90s", "15m", "12h", "30d", "2w"."""


class RetentionSettings(Section):
    """How long raw traces and roll-ups are kept (`None` keeps them)."""

    max_age: Duration | None = 30 * 86400.0
    max_spans: int | None = Field(default=10_000_000, gt=0)
    minute_rollups: Duration | None = 14 * 86400.0
    hour_rollups: Duration | None = 400 * 86400.0
    day_rollups: Duration | None = None
    interval: Duration = 60.0
    batch_size: int = Field(default=2_000, gt=0)


class ExportSettings(Section):
    """Forward recorded spans to an external OTLP/HTTP collector."""

    endpoint: str
    headers: dict[str, str] = Field(default_factory=dict)
    protocol: Literal["http/protobuf", "http/json"] = "http/protobuf"
    timeout: float = Field(default=10.0, gt=0)
    queue_size: int = Field(default=20_000, gt=0)

    @field_validator("endpoint")
    @classmethod
    def _traces_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("not a URL")
        value = value.rstrip("/")
        return value if value.endswith("/v1/traces") else value + "/v1/traces"


class ObserveSettings(Section):
    """Recording of calls and spans: the write-behind queue, sampling, retention, export."""

    queue_size: int = Field(default=100_000, gt=0)
    batch_size: int = Field(default=1_000, gt=0)
    flush_interval: float = Field(default=0.2, gt=0)
    max_field_chars: int = Field(default=32_000, gt=0)
    sample_rate: float = Field(default=1.0, ge=0, le=1)
    spool: bool = True  # write queued spans ahead under `home`, so a killed process loses none
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    export: ExportSettings | None = None


class PromptsSettings(Section):
    """The prompt registry: protected labels, resolution cache, rendering limits, canaries."""

    protected_labels: tuple[str, ...] = ("production",)
    default_label: str = "production"
    cache_ttl: float = Field(default=5.0, ge=0)
    max_render_chars: int = Field(default=1_000_000, gt=0)
    render_timeout: float = Field(default=1.0, gt=0)
    canary_interval: float = Field(default=30.0, gt=0)


VectorBackend = Literal["embedded", "pgvector"]
Metric = Literal["cosine", "dot", "l2"]
IndexType = Literal["hnsw", "ivfflat", "flat"]


class IndexSettings(Section):
    """An ANN index and its parameters. `flat` is exact search (no ANN index)."""

    type: IndexType = "hnsw"
    m: int = Field(default=16, ge=4, le=128)
    ef_construction: int = Field(default=80, ge=8, le=2000)
    ef_search: int = Field(default=40, ge=1, le=2000)
    lists: int = Field(default=100, ge=1, le=65536)
    probes: int = Field(default=10, ge=1, le=65536)


class VectorsSettings(Section):
    """Vector collections: where they live and the defaults for new ones."""

    backend: VectorBackend = "embedded"
    url: str | None = None  # PostgreSQL with pgvector; default: database_url when PostgreSQL
    model: str = "embed"  # the model alias that embeds new collections
    metric: Metric = "cosine"
    index: IndexSettings = Field(default_factory=IndexSettings)
    exact_below: int = Field(default=5000, ge=0)  # rows under which search is always exact
    quality_interval: float = Field(default=3600.0, ge=0)  # seconds; 0 turns scheduling off
    quality_drop: float = Field(default=0.05, ge=0, le=1)  # recall drop that records an event
    quality_k: int = Field(default=10, ge=1, le=1000)


class UiSettings(Section):
    """The web UI's sign-in sessions (signed cookies; see docs/ui.md)."""

    session_ttl: Duration = 8 * 3600.0  # a session ends this long after sign-in
    # Signs the session cookies. Default: derived from the admin key (so replicas agree and
    # rotating the key ends every session), else a random secret kept under `home`.
    session_secret: SecretStr | None = None


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
    prompts: PromptsSettings = Field(default_factory=PromptsSettings)
    vectors: VectorsSettings = Field(default_factory=VectorsSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    batch: BatchSettings = Field(default_factory=BatchSettings)
    jobs: JobsSettings = Field(default_factory=JobsSettings)
    state: StateSettings = Field(default_factory=StateSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    evals: EvalsSettings = Field(default_factory=EvalsSettings)
    rag: RagSettings = Field(default_factory=RagSettings)
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
        shared: dict[str, tuple[str, Deployment]] = {}
        for alias in self.models:
            for deployment in alias.deployments:
                first = shared.setdefault(deployment.name, (alias.name, deployment))
                if first[1] != deployment:
                    raise ValueError(
                        f"deployment name {deployment.name!r} is used by {first[0]!r} and "
                        f"{alias.name!r} with different settings; a name is one deployment"
                    )
        routed = {m.name: m.routing for m in self.models}
        if self.cache.backend == "redis" and not self.redis_url:
            raise ValueError("cache.backend: redis needs a Redis URL (LLMDECK_REDIS_URL)")
        if self.jobs.backend == "postgres" and not self.uses_postgres:
            raise ValueError(
                "jobs.backend: postgres needs a PostgreSQL database (LLMDECK_DATABASE_URL)"
            )
        for alias in self.models:
            for tier, target in (alias.tiers or {}).items():
                if target not in routed:
                    raise ValueError(f"{alias.name}.tiers.{tier}: unknown model alias {target!r}")
                if routed[target] == "complexity":
                    raise ValueError(
                        f"{alias.name}.tiers.{tier}: {target!r} routes by complexity itself; "
                        "a tier must be an alias with deployments"
                    )
            if alias.cache.semantic and alias.cache.embedding not in routed:
                raise ValueError(
                    f"{alias.name}.cache.embedding: unknown model alias {alias.cache.embedding!r}"
                    " (semantic caching embeds the question with it: define an embedding alias,"
                    " e.g. {name: embed, deployments: [{provider: local,"
                    " model: default-embedding}]})"
                )
        return self

    @model_validator(mode="after")
    def _rag_aliases(self) -> Settings:
        known = {m.name for m in self.models}
        for name, pipeline in self.rag.pipelines.items():
            for field, alias_name in pipeline.aliases().items():
                if alias_name not in known:
                    raise ValueError(
                        f"rag.pipelines.{name}.{field}: unknown model alias {alias_name!r}"
                    )
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
    def uses_postgres(self) -> bool:
        """Whether the database is PostgreSQL (shared by replicas) rather than SQLite."""
        url = self.database_url or ""
        return url.startswith(("postgres://", "postgresql://", "postgresql+"))

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to the SQLite file under `home`."""
        return self.database_url or f"sqlite:///{self.sqlite_path}"
