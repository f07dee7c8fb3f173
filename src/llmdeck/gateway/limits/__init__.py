"""Limits: rate limits for keys and deployments, budgets that hold under concurrency, and the
`Controls` that hold them together with keys, prices and spend.

For routers: `Controls.deployment_available(name)` (no I/O) says whether a deployment is over its
own rpm or tpm; a refused attempt raises `DeploymentLimited`, which is not an upstream failure.
"""

from llmdeck.gateway.limits.budgets import Budgets, Hold
from llmdeck.gateway.limits.controls import Controls
from llmdeck.gateway.limits.deployments import DeploymentLimited, DeploymentLimits
from llmdeck.gateway.limits.events import read_limit_events, record_limit_event
from llmdeck.gateway.limits.rates import RateLimiter, Refusal, Ticket

__all__ = [
    "Budgets",
    "Controls",
    "DeploymentLimited",
    "DeploymentLimits",
    "Hold",
    "RateLimiter",
    "Refusal",
    "Ticket",
    "read_limit_events",
    "record_limit_event",
]
