"""What each protocol costs against our own endpoint, on the same model, in one service process:

- `/forecast` vs Open Inference Protocol `/v2/models/forecast/infer` with JSON tensors and with
  binary tensor data: requests/s and server CPU per request at 32 connections;
- `/generate` vs `/v1/completions`, both streamed: characters/s of one greedy stream.

    python -m bench.protocols [--models-dir models] [--seconds 10]

Writes bench/results/protocols.md.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from bench.load import LoadResult, pick_generator, run_load
from bench.options import RESULTS, Options, option, parse
from bench.payloads import HORIZON, forecast_bodies
from bench.procs import Server
from bench.service import running_service, write_report


def v2_json(body: bytes) -> bytes:
    request = json.loads(body)
    series = request["series"]
    tensor = {"name": "series", "datatype": "FP32", "shape": [1, len(series)], "data": series}
    return json.dumps({"inputs": [tensor], "parameters": {"horizon": request["horizon"]}}).encode()


def v2_binary(body: bytes) -> tuple[bytes, int]:
    """The body with the series as binary FP32, asking for the output in binary too."""
    request = json.loads(body)
    raw = np.asarray(request["series"], dtype="<f4").tobytes()
    tensor = {
        "name": "series",
        "datatype": "FP32",
        "shape": [1, len(request["series"])],
        "parameters": {"binary_data_size": len(raw)},
    }
    header = {
        "inputs": [tensor],
        "parameters": {"horizon": request["horizon"], "binary_data_output": True},
    }
    text = json.dumps(header).encode()
    return text + raw, len(text)


def measured(
    server: Server,
    path: str,
    bodies: list[bytes],
    seconds: float,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    generator = pick_generator("python")  # wrk's script reads bodies as lines: not binary ones
    run_load(generator, server.url + path, bodies, 32, 1.0, headers)  # warm-up
    before = server.cpu_seconds()
    result = run_load(generator, server.url + path, bodies, 32, seconds, headers)
    used = server.cpu_seconds() - before
    return LoadResult(
        result.requests, result.seconds, result.p50_ms, result.p99_ms, result.errors, used
    )


def chars_per_second(server: Server, path: str, body: dict[str, object], runs: int = 3) -> float:
    """Characters/s of one streamed generation (the median of `runs`)."""
    rates = []
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for _ in range(runs):
            started, chars = time.perf_counter(), 0
            with client.stream("POST", path, json=body) as response:
                for line in response.iter_lines():
                    if line.startswith("data: {"):
                        data = json.loads(line[6:])
                        choices = data.get("choices") or [data]  # OpenAI's chunks, or ours
                        chars += len(choices[0].get("text", ""))
            rates.append(chars / (time.perf_counter() - started))
    return sorted(rates)[len(rates) // 2]


@dataclass(frozen=True)
class ProtocolOptions(Options):
    output: Path = option(RESULTS / "protocols.md", "where the markdown report goes")
    seconds: float = option(10.0, "each /forecast-like run (10)")


def main(argv: list[str] | None = None) -> None:
    args = parse(ProtocolOptions, argv, "python -m bench.protocols", __doc__)
    bodies = forecast_bodies()
    binary, length = v2_binary(bodies[0])
    tokens = 500
    with running_service(args.models_dir, "protocols") as server:
        runs = {
            "/forecast (our JSON)": measured(server, "/forecast", bodies, args.seconds),
            "V2 infer, JSON tensors": measured(
                server, "/v2/models/forecast/infer", [v2_json(b) for b in bodies], args.seconds
            ),
            "V2 infer, binary tensors": measured(
                server,
                "/v2/models/forecast/infer",
                [binary],
                args.seconds,
                {"Inference-Header-Content-Length": str(length)},
            ),
        }
        ours = chars_per_second(
            server,
            "/generate",
            {"prompt": "ROMEO:", "max_tokens": tokens, "temperature": 0, "stream": True},
        )
        openai = chars_per_second(
            server,
            "/v1/completions",
            {
                "model": "generate",
                "prompt": "ROMEO:",
                "max_tokens": tokens,
                "temperature": 0,
                "stream": True,
            },
        )
    base = runs["/forecast (our JSON)"].rps
    lines = [
        "## Protocols on the same model",
        f"`/forecast` bodies: {len(bodies[0]):,} bytes of JSON (horizon {HORIZON}); 32 "
        f"connections (the asyncio load generator, which sends binary bodies), {args.seconds:g} s "
        "each, one service process.",
        "",
        "| endpoint | req/s | vs /forecast | p99 ms | server CPU ms/req | errors |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {name} | {r.rps:,.0f} | {r.rps / base:.2f}x | {r.p99_ms:.1f} | "
            f"{r.cpu_ms_per_request or 0:.3f} | {r.errors} |"
            for name, r in runs.items()
        ),
        "",
        f"Streaming {tokens} characters (greedy, one stream, median of 3): `/generate` "
        f"{ours:,.0f} chars/s, `/v1/completions` {openai:,.0f} chars/s ({openai / ours:.2f}x).",
        "",
    ]
    report = "\n".join(lines)
    write_report(report, args.output)


if __name__ == "__main__":
    main()
