"""Experiment: the real service behind an in-flight limit at the very edge, outside everything.

`python -m bench.overload --admission-limit N` runs this next to the service as it is, for
comparison. At most `BENCH_ADMISSION_LIMIT` inference requests are inside the app at once; one
more is answered at once with the service's own 503 body (type `overloaded`, Retry-After 1),
before its body is read and before any of the service's middleware runs: no request id, no log
line, no metrics. That is the cheapest refusal an ASGI app can make, so the difference from the
service's own admission control (SEQSERVE_MAX_IN_FLIGHT, inside the request-context middleware)
is what a refusal's bookkeeping costs under overload.

Not the service's code: the requests it refuses are not in /metrics.
"""

from __future__ import annotations

import os

from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import error_response
from app.main import app as service

INFERENCE = ("/forecast", "/sentiment", "/generate")


class InFlightLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit, self.in_flight = app, limit, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(INFERENCE):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            message = f"{self.limit} requests in flight; retry after 1s"
            refused = error_response(503, message, "overloaded", headers={"Retry-After": "1"})
            await refused(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


app = InFlightLimit(service, int(os.environ.get("BENCH_ADMISSION_LIMIT", "32")))
