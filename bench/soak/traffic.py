"""The soak's traffic: a seeded mix of good requests of every kind and bad ones that must be
refused."""

from __future__ import annotations

import json
import random
from pathlib import Path

from bench import payloads
from bench.jobs import Job, post, stream
from tests.bad_inputs import CATALOGUE

# The catalogue's refusals (its few bodies that look bad and are fine are left out).
BAD = [case for case in CATALOGUE if case.status >= 400]


def to_json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


PROMPTS = ["ROMEO:\n", "First Citizen:\n", "KING HENRY:\nWhat", "To be, or not", ""]

# Kind -> share of the traffic.
MIX: dict[str, float] = {
    "forecast": 28,
    "forecast/batch": 8,
    "sentiment": 18,
    "sentiment, 4 texts": 6,
    "generate": 6,
    "generate, stream": 14,
    "stream, client leaves": 5,
    "bad request": 15,
}


class Traffic:
    """`pick(i)`: what request i is, drawn from MIX with a seeded generator."""

    def __init__(self, data_dir: Path | None, seed: int) -> None:
        self.rng = random.Random(seed)
        self.forecast = payloads.forecast_bodies(16, seed)
        series = [json.loads(b)["series"] for b in self.forecast]
        self.batches = [
            to_json({"series": self.rng.sample(series, 8), "horizon": 24}) for _ in range(8)
        ]
        self.texts = [json.loads(b)["text"] for b in payloads.sentiment_bodies(data_dir, 32, seed)]
        self.kinds, self.weights = list(MIX), list(MIX.values())
        self.bad_sent = 0

    def _generate(self, i: int, stream_it: bool, tokens: int) -> bytes:
        body: dict[str, object] = {
            "prompt": self.rng.choice(PROMPTS),
            "max_tokens": tokens,
            "temperature": self.rng.choice([0.0, 0.7, 1.0]),
            "top_k": self.rng.choice([0, 5, 20]),
            "seed": i,
            "stream": stream_it,
        }
        if self.rng.random() < 0.3:
            body["stop"] = ["\n\n"]
        return to_json(body)

    def pick(self, i: int) -> tuple[str, Job]:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        if kind == "forecast":
            return kind, post("/forecast", self.rng.choice(self.forecast))
        if kind == "forecast/batch":
            return kind, post("/forecast/batch", self.rng.choice(self.batches))
        if kind == "sentiment":
            return kind, post("/sentiment", to_json({"text": self.rng.choice(self.texts)}))
        if kind == "sentiment, 4 texts":
            return kind, post("/sentiment", to_json({"texts": self.rng.sample(self.texts, 4)}))
        if kind == "generate":
            return kind, post("/generate", self._generate(i, False, self.rng.randint(20, 80)))
        if kind == "generate, stream":
            return kind, stream(self._generate(i, True, self.rng.randint(50, 200)))
        if kind == "stream, client leaves":
            body = self._generate(i, True, 400)
            return kind, stream(body, disconnect_after=self.rng.randint(1, 40))
        bad = BAD[self.bad_sent % len(BAD)]
        self.bad_sent += 1
        return f"{kind}: {bad.name}", post(bad.path, bad.body, bad.content_type, bad.method)
