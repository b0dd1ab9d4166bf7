"""Prometheus metrics: request counts and latency by endpoint and status, in-flight requests and
each model's state. One CollectorRegistry per app, so several apps (tests) never collide.

With several workers (app/workers.py) prometheus-client keeps counters, histograms and gauges in
files that every worker writes, and a scrape of any worker adds them up (multiprocess mode); what
is read at scrape time from live objects (model states, input drift, dropped capture lines) is
the answering worker's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from app.registry import STATES, Registry
from app.stages import BatchStages

# Most requests take milliseconds; generations of many characters take seconds.
# Model calls and queue waits: tenths of a millisecond to a tenth of a second.
_FAST_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _ModelStates(Collector):
    """Read at scrape time, so the gauge can never disagree with the registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "seqserve_model_state",
            "1 for each model version's current state",
            labels=["model", "version", "state"],
        )
        for status in self.registry.statuses():
            for entry in status.versions:
                version = str(entry.version or "")
                for state in STATES:
                    value = 1.0 if entry.state == state else 0.0
                    family.add_metric([status.name, version, state], value)
        yield family


class _InputDrift(Collector):
    """Each serving version's input statistics against its training data, at scrape time."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        labels = ["model", "version", "statistic"]
        psi = GaugeMetricFamily(
            "seqserve_input_psi", "population stability index against training", labels=labels
        )
        mean = GaugeMetricFamily(
            "seqserve_input_mean", "mean of an input statistic over recent requests", labels=labels
        )
        for status in self.registry.statuses():
            profile = getattr(status.predictor, "profile", None)
            if profile is None:
                continue
            version = status.predictor.info.version  # type: ignore[union-attr]
            for name, stat in profile.summary().items():
                if isinstance(stat, dict):
                    for family, value in ((psi, stat["psi"]), (mean, stat["mean"])):
                        if value is not None:
                            family.add_metric([status.name, version, name], value)
        yield psi
        yield mean


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: Registry, multiprocess_dir: Path | None = None) -> None:
        self.collectors = CollectorRegistry()
        self.multiprocess_dir = multiprocess_dir
        self._live: list[Collector] = []  # read at scrape time, in this process
        labels = ["endpoint", "method", "status"]
        self.requests = Counter(
            "seqserve_requests", "HTTP requests", labels, registry=self.collectors
        )
        self.latency = Histogram(
            "seqserve_request_duration_seconds",
            "time from request to the end of the response",
            labels,
            buckets=_BUCKETS,
            registry=self.collectors,
        )
        self.in_flight = Gauge(
            "seqserve_requests_in_flight",
            "requests being handled",
            registry=self.collectors,
            multiprocess_mode="livesum",  # of the workers alive
        )
        self.register(_ModelStates(registry))
        self.register(_InputDrift(registry))
        self.batch_rows = Histogram(
            "seqserve_batch_rows",
            "rows (series, texts, streams) per model call",
            ["model", "version"],
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=self.collectors,
        )
        self.queue_seconds = Histogram(
            "seqserve_batch_queue_seconds",
            "time the oldest request of a batch waited before its model call",
            ["model", "version"],
            buckets=_FAST_BUCKETS,
            registry=self.collectors,
        )
        self.compute_seconds = Histogram(
            "seqserve_batch_compute_seconds",
            "time of one model call, preprocessing included",
            ["model", "version"],
            buckets=_FAST_BUCKETS,
            registry=self.collectors,
        )
        self.stage_seconds = Histogram(
            "seqserve_stage_seconds",
            "time of each stage of a model batch: queue (oldest request), preprocess, model "
            "(inside the runtime), postprocess",
            ["model", "version", "stage"],
            buckets=_FAST_BUCKETS,
            registry=self.collectors,
        )

    def observe_batch(self, model: str, queue_seconds: float, stages: BatchStages) -> None:
        # `model` is "<name>:<version>" (the registry labels each version's batches).
        name, _, version = model.partition(":")
        self.batch_rows.labels(name, version).observe(stages.rows)
        self.queue_seconds.labels(name, version).observe(queue_seconds)
        self.compute_seconds.labels(name, version).observe(stages.ended - stages.started)
        stage = self.stage_seconds
        stage.labels(name, version, "queue").observe(queue_seconds)
        stage.labels(name, version, "preprocess").observe(stages.preprocess)
        stage.labels(name, version, "model").observe(stages.model_seconds)
        stage.labels(name, version, "postprocess").observe(stages.postprocess)

    def observe(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        labels = (endpoint, method, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def register(self, collector: Collector) -> None:
        """A collector read at scrape time (not a file-backed metric)."""
        self.collectors.register(collector)
        self._live.append(collector)

    def render(self) -> bytes:
        if self.multiprocess_dir is None:
            return generate_latest(self.collectors)
        every_worker = CollectorRegistry()
        multiprocess.MultiProcessCollector(every_worker, str(self.multiprocess_dir))
        for collector in self._live:
            every_worker.register(collector)
        return generate_latest(every_worker)
