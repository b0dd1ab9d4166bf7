"""Python client for the seqserve API (`pip install ./client`; needs only httpx).

    from seqserve_client import Client
    with Client("http://localhost:8000", api_key="...") as client:
        client.forecast([1.0, 2.0, ...], horizon=6).forecast
        client.forecast([1.0, None, 3.0, ...], horizon=6, freq="monthly", level=[80, 95]).intervals
        for piece in client.generate_stream("ROMEO:", max_tokens=200):
            print(piece, end="")

`AsyncClient` has the same methods, awaited. Every call may name a model (`model="sales"`) and a
version (`version=3`); without them the task's default model answers.
"""

from seqserve_client.client import AsyncClient, Client
from seqserve_client.types import (
    Forecast,
    Generation,
    Interval,
    ModelRef,
    SentimentPrediction,
    SeqserveError,
)

__all__ = [
    "AsyncClient",
    "Client",
    "Forecast",
    "Generation",
    "Interval",
    "ModelRef",
    "SentimentPrediction",
    "SeqserveError",
]
