"""Servers the service is compared with, each run by uvicorn as `bench.servers.<name>:app`.

Both expose `GET /ready` (200 once they can answer) and `POST /forecast` with the service's own
request schema, so the load generator drives all three servers the same way.
"""
