"""The benchmark suite (issue 8): ``python -m bench``; method and figures in BENCHMARKS.md."""
