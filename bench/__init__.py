"""llmdeck's benchmarks: each one runs alone (`python -m bench.NAME`) and writes its section of
docs/benchmarks.md."""
