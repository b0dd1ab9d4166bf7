"""`python -m app`: serve with the host, port and log level from settings (one worker).

One worker per process on purpose: each worker would hold its own copy of every model; scale out
with more containers instead. Access logs are off because the app logs each request itself.
"""

from __future__ import annotations

import uvicorn

from app.config import get_settings


def main() -> None:
    settings = get_settings()
    uvicorn.run(
        "app.main:app",
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        # SIGTERM drains: in-flight requests and streams finish, up to this long.
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) or None,
    )


if __name__ == "__main__":
    main()
