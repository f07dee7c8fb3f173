"""Typed wire shapes of the APIs llmdeck speaks, and translation between them.

The gateway's own request and response form is the OpenAI chat shape (`ChatRequest`,
`ChatResponse`, `ChatChunk`); `anthropic` translates the Messages API to and from it.
"""
