"""The gateway's stages, each one small unit with one job (see `pipeline.Stage`)."""
