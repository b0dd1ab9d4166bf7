"""Benchmarks of the service: each tool measures and reports, none asserts (README: Benchmarks).

`python -m bench` (`make bench`; cli.py, scenarios.py, report.py) starts the real service, a
hello-world ceiling and a baseline server on loopback and writes bench/results/latest.md;
`bench.overload`, `bench.soak` and `bench.workers` start the service under other loads;
`bench.tracing`, `bench.forecast_cost`, `bench.forecast_probes` and `bench.text_costs` measure
in-process. What they share is one module each: options, payloads, procs and service, metrics,
load / closedloop / openloop (with jobs and client), machine, markdown.
"""
