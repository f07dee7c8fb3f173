"""The `guards` section of a model alias: which detectors run on the input and the output,
and what happens when one fires.

```yaml
guards:
  input:
    injection: {mode: block, threshold: 0.8}
    pii: {mode: redact, restore: true}
  output:
    pii: redact                      # a bare mode is short for {mode: redact}
    json: {mode: flag, schema: {type: object, required: [answer]}}
```

Keys other than `mode`, `threshold`, `restore` and `roles` are the detector's own options,
checked by the detector when the gateway starts (and by `llmdeck config check`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

GuardMode = Literal["off", "flag", "redact", "block"]
Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class GuardRule(BaseModel):
    """One detector on one side of a call: `off`, `flag` (record only), `redact` (replace the
    findings with placeholders), or `block` (refuse with a 400 naming the guard)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    mode: GuardMode = "flag"
    threshold: float | None = Field(default=None, ge=0, le=1)
    restore: bool = False
    roles: tuple[Role, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_mode(cls, value: Any) -> Any:
        return {"mode": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _restore_needs_redact(self) -> GuardRule:
        if self.restore and self.mode != "redact":
            raise ValueError("restore only applies to mode redact")
        return self

    @property
    def options(self) -> dict[str, Any]:
        """The detector's own options (every key that is not the rule's)."""
        return dict(self.model_extra or {})


class GuardsConfig(BaseModel):
    """Detectors by name for the request (`input`) and the reply (`output`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: dict[str, GuardRule] = Field(default_factory=dict)
    output: dict[str, GuardRule] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _restore_on_input_only(self) -> GuardsConfig:
        for name, rule in self.output.items():
            if rule.restore:
                raise ValueError(f"output.{name}.restore: restore applies to input redaction")
        return self

    @property
    def active(self) -> bool:
        """Whether any rule is on."""
        return any(r.mode != "off" for r in (*self.input.values(), *self.output.values()))
