"""`python -m bench.soak --minutes 10`: mixed traffic for a while; does resident memory grow?

Starts the real service (`python -m app`) and sends it, open loop at a moderate rate (`--rate`, 50
requests/s by default), a seeded mix of: /forecast, /forecast/batch, /sentiment (one text and
several), /generate (whole and streamed, sampled with per-request seeds), streams whose client goes
away after a few characters, and bad requests from the catalogue the tests use too
(tests/bad_inputs.py: invalid JSON, wrong content type, out-of-range fields, unknown fields, too
large a body, wrong method, unknown path...) that must each get a 4xx. The service's RSS (VmRSS,
with children) is sampled every `--sample-every` seconds. At the end: start vs end RSS, min and
max, a least-squares slope over the second half (after warm-up) in MB per minute, a verdict, the
answers by request kind and status, and that no 5xx came back. Writes bench/results/soak.md and the
samples to bench/results/soak_rss.csv.
"""
