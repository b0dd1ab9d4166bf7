"""`python -m app`: serve with the host, port, limits and log format from settings.

One worker process by default: each worker holds its own copy of every model. SEQSERVE_WORKERS=N
runs N on one port (app/workers.py), to use every core of a machine without containers; in
containers, scale the containers out instead. Access logs are off: the app logs each request.
"""

from __future__ import annotations

from app.config import get_settings
from app.server import serve


def main() -> None:
    serve(get_settings())


if __name__ == "__main__":
    main()
