"""The router: picks a deployment for the call and fails over to the next when one fails."""

from llmdeck.gateway.router.router import Router

__all__ = ["Router"]
