"""Serving benchmark (issue 4, part 5): `python -m bench` or `make bench`.

Starts the real service, a hello-world ceiling server and a plain FastAPI + ONNX Runtime baseline
server, each as its own uvicorn process on loopback, drives them with wrk (or an asyncio client
when wrk is missing), benchmarks streaming generation, start-up time and memory, and prints one
markdown report that is also written to `bench/results/latest.md`.
"""
