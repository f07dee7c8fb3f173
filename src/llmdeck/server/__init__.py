"""The HTTP server: one application mounting every capability's routes."""

from llmdeck.server.app import Runtime, build_runtime, create_app

__all__ = ["Runtime", "build_runtime", "create_app"]
