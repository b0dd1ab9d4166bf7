from __future__ import annotations

from fastapi import APIRouter, Response

from app.deps import MetricsDep

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response)
async def metrics(collected: MetricsDep) -> Response:
    """Prometheus text format: requests, latency, in-flight requests and model states."""
    return Response(collected.render(), media_type=collected.content_type)
