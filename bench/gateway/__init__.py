"""The gateway overhead benchmark: direct calls, a thin aiohttp proxy, llmdeck and LiteLLM, side
by side against the same fake upstream (`python -m bench.gateway --help`)."""
