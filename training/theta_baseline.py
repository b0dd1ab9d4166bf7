"""statsforecast's Theta, the independent statistical baseline of the forecast report, run in
parallel processes: it fits one series at a time in Python, and a report has thousands.

This module imports only numpy and statsforecast, so the spawned processes start in the few
seconds statsforecast takes to import (they do not load TensorFlow, as the training modules
would).
"""

from __future__ import annotations

import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

import numpy as np
from tqdm import tqdm

MAX_LENGTH = 400  # longer histories (hourly) take seconds each: left out (NaN)
CHUNKS_PER_PROCESS = 8  # small enough to balance the processes, large enough to amortise


def theta_forecasts(
    histories: list[np.ndarray], seasons: np.ndarray, horizon: int, processes: int
) -> np.ndarray:
    """[rows, horizon] Theta forecasts; NaN rows for histories over MAX_LENGTH values.
    `processes` 1 runs them in this process."""
    forecasts = np.full((len(histories), horizon), np.nan)
    rows = [i for i, history in enumerate(histories) if len(history) <= MAX_LENGTH]
    if processes == 1 or len(rows) < 2:
        forecasts[rows] = _theta_rows([histories[i] for i in rows], seasons[rows], horizon)
        return forecasts
    chunks = [c for c in np.array_split(rows, processes * CHUNKS_PER_PROCESS) if len(c)]
    # Spawned, not forked: the parent may hold TensorFlow's threads, which a fork can deadlock.
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        jobs = {
            pool.submit(_theta_rows, [histories[i] for i in chunk], seasons[chunk], horizon): chunk
            for chunk in chunks
        }
        with tqdm(total=len(rows), desc="statsforecast Theta", leave=False) as bar:
            for job in as_completed(jobs):
                forecasts[jobs[job]] = job.result()
                bar.update(len(jobs[job]))
    return forecasts


def _theta_rows(histories: list[np.ndarray], seasons: np.ndarray, horizon: int) -> np.ndarray:
    from statsforecast.models import Theta

    rows = np.empty((len(histories), horizon))
    for k, (history, season) in enumerate(zip(histories, seasons, strict=True)):
        m = int(season) if len(history) >= 2 * season else 1  # a season needs two cycles
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows[k] = Theta(season_length=m).forecast(y=history, h=horizon)["mean"]
    return rows
