"""Side-by-side benchmarks: the same Ray Core workloads on Ray and on fusion-flow.

Entry point: ``python -m benchmarks.run`` (see benchmarks/README.md). Each backend runs in
its own subprocess (``python -m benchmarks.workloads.<suite> --backend NAME``); the runner
merges their JSON and writes the Markdown report into benchmarks/results/.
"""
