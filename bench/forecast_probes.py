"""The sanity probes of tests/test_forecast_probes.py, run through a trained artifact.

`python -m bench.forecast_probes [models/forecast/1]`: for each probe, the largest error of the
served forecast (base + the trained correction) and of the base alone over 48 steps, relative to
the scale the test states (the true value for the line, the amplitude for cycles, ...).
"""

from __future__ import annotations

import numpy as np

from app.preprocessing import forecast_inputs
from bench.forecast_cost import VersionOptions, forecast_predictor
from bench.options import parse

H = 48


def probes() -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """name -> (history, true continuation, the unit errors are measured in)."""
    t = np.arange(400 + H, dtype=np.float64)
    cases = {
        "line 1..400 (unit: true value)": (1 + t[:400], 1 + t[400:], 0.0),
        "constant 5 (unit: level)": (np.full(50, 5.0), np.full(H, 5.0), 5.0),
        "all zeros (unit: 1)": (np.zeros(40), np.zeros(H), 1.0),
        "exp growth 1.02^t (unit: true value)": (1.02 ** t[:100], 1.02 ** t[100 : 100 + H], 0.0),
        "step 10 -> 20 (unit: step)": (np.repeat([10.0, 20.0], 50), np.full(H, 20.0), 10.0),
        "1e9 + daily sine (unit: amplitude)": (
            1e9 + np.sin(2 * np.pi * t[:240] / 24),
            1e9 + np.sin(2 * np.pi * t[240 : 240 + H] / 24),
            1.0,
        ),
        "-100 + 10 sin, period 12 (unit: amplitude)": (
            -100 + 10 * np.sin(2 * np.pi * t[:120] / 12),
            -100 + 10 * np.sin(2 * np.pi * t[120 : 120 + H] / 12),
            10.0,
        ),
    }
    for period in (2, 3, 7, 12, 24, 52, 168):
        n = max(5 * period, 48)
        wave = 10 + np.cos(2 * np.pi * np.arange(n + H) / period)
        cases[f"10 + cos, period {period} (unit: amplitude)"] = (wave[:n], wave[n:], 1.0)
    return cases


def main(argv: list[str] | None = None) -> None:
    options = parse(VersionOptions, argv, "python -m bench.forecast_probes", __doc__)
    model = forecast_predictor(options.forecast_dir)
    spec = model.spec
    print(f"{'probe':<46} {'season':>6} {'model':>9} {'base':>9}")
    for name, (history, truth, unit) in probes().items():
        scale = np.abs(truth) if unit == 0.0 else unit
        served = model.predict([history.tolist()], np.zeros(1, dtype=np.int64))
        base = forecast_inputs([history], np.zeros(1, dtype=np.int64), spec).base[0]
        model_error = np.max(np.abs(served.values[0, :H] - truth) / scale)
        base_error = np.max(np.abs(base[:H] - truth) / scale)
        print(f"{name:<46} {served.seasons[0]:>6} {model_error:>9.2%} {base_error:>9.2%}")


if __name__ == "__main__":
    main()
