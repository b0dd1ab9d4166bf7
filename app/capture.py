"""Request/response capture: a sampled fraction of model requests written as JSON lines.

Off unless SEQSERVE_CAPTURE_FILE is set. Each captured line holds the request id, the model
(name:version), the path, the status, the request body and the answer (each cut at
SEQSERVE_CAPTURE_MAX_FIELD_BYTES) and the stage timings; never a header, so never an API key.

Nothing here can slow a request down: the line is handed to a bounded queue, and a thread of
the standard library's logging (QueueListener) writes it to a size-capped, rotated file
(RotatingFileHandler). When the writer falls behind, lines are dropped and counted
(`seqserve_capture_dropped`), never waited for.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import time
from collections.abc import Callable, Iterator
from logging.handlers import QueueHandler, QueueListener, RotatingFileHandler
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.stages import current_timeline

QUEUE_LINES = 1024  # lines waiting for the writer before new ones are dropped


class _DroppingQueueHandler(QueueHandler):
    def __init__(self, lines: queue.Queue[logging.LogRecord]) -> None:
        super().__init__(lines)
        self.dropped = 0

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record  # the message is already the finished JSON line


class Capture:
    """The file writer: `write(line)` never blocks; `close()` flushes what is queued."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        file = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, delay=True)
        file.setFormatter(logging.Formatter("%(message)s"))
        self._handler = _DroppingQueueHandler(queue.Queue(QUEUE_LINES))
        self._file = file
        self._listener = QueueListener(self._handler.queue, file)
        self._listener.start()

    @property
    def dropped(self) -> int:
        return self._handler.dropped

    def write(self, line: str) -> None:
        self._handler.handle(logging.makeLogRecord({"msg": line, "levelno": logging.INFO}))

    def close(self) -> None:
        for _ in range(500):  # the stop marker needs a free place in a queue that may be full
            try:
                self._listener.stop()
                break
            except queue.Full:
                time.sleep(0.01)
        self._file.close()


class DroppedLines(Collector):
    """`seqserve_capture_dropped_total`, read at scrape time."""

    def __init__(self, capture: Capture) -> None:
        self.capture = capture

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "seqserve_capture_dropped",
            "captured lines dropped because the writer fell behind",
            value=self.capture.dropped,
        )


def _cut(body: bytes, limit: int) -> str:
    text = body[:limit].decode("utf-8", errors="replace")
    return text + ("...[cut]" if len(body) > limit else "")


class CaptureMiddleware:
    """Samples model requests (`is_model_route`) at `fraction` and captures their exchange."""

    def __init__(
        self,
        app: ASGIApp,
        capture: Capture,
        fraction: float,
        max_field_bytes: int,
        is_model_route: Callable[[str], bool],
    ) -> None:
        self.app, self.capture, self.fraction = app, capture, fraction
        self.limit, self.is_model_route = max_field_bytes, is_model_route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or random.random() >= self.fraction
            or not self.is_model_route(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        request, answer, status = bytearray(), bytearray(), 0

        async def receive_and_keep() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(request) < self.limit + 1:
                request.extend(message.get("body", b"")[: self.limit + 1 - len(request)])
            return message

        async def send_and_keep(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and len(answer) < self.limit + 1:
                answer.extend(message.get("body", b"")[: self.limit + 1 - len(answer)])
            await send(message)

        try:
            await self.app(scope, receive_and_keep, send_and_keep)
        finally:
            self._write(scope, bytes(request), bytes(answer), status)

    def _write(self, scope: Scope, request: bytes, answer: bytes, status: int) -> None:
        timeline = current_timeline.get()
        stages = timeline.stages(time.perf_counter()) if timeline else {}
        line = {
            "time": time.time(),
            "request_id": scope.get("state", {}).get("request_id"),
            "model": timeline.model if timeline else None,
            "path": scope["path"],
            "status": status,
            "request": _cut(request, self.limit),
            "response": _cut(answer, self.limit),
            "stages_ms": {stage: round(s * 1000, 3) for stage, s in stages.items()},
        }
        self.capture.write(json.dumps(line, ensure_ascii=False))
