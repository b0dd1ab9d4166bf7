"""`python -m bench.overload`: does the service shed load it cannot serve, fast, and survive?

1. Starts the real service (`python -m app`) and measures the capacity of `/forecast`: closed
   loop, 32 connections (wrk when installed), after a warm-up.
2. Offers 4x that rate open loop (bench/openloop.py: requests start on schedule whatever the
   answers, from a pool of at most 512 connections) for 10 s, and counts what came back: served
   (200), shed (503 `overloaded`, which must carry Retry-After), other answers (must be none),
   connection errors, and requests given up (no free connection within 1 s: "unsent"; no answer
   within 10 s of sending: "unanswered"). Latencies are from the moment a request was sent.
3. `/generate` streams: 4x the stream limit (SEQSERVE_MAX_STREAMS) clients at once for 10 s, each
   starting a stream again as soon as the last ended (100 ms after a 503): the excess must get a
   fast 503, the accepted streams must finish.
4. After each: the process is alive, `/health` and `/ready` answer 200.

When a run sheds nothing (the client could not fill the model's queue), it is repeated with a
lower SEQSERVE_BATCH_MAX_QUEUE_ROWS (`--lowered-queue-rows`). `--in-flight 16 64` and
`--queue-rows 64` add /forecast runs with other SEQSERVE_MAX_IN_FLIGHT or
SEQSERVE_BATCH_MAX_QUEUE_ROWS values, for comparison. Every /forecast run is a fresh service
process. During each run a `GET /health` every 50 ms shows how long the event loop takes to get
to a request that costs nothing. Prints a markdown report and writes it to
bench/results/overload.md.
"""
