"""`python -m app`: serve with the host, port, limits and log format from settings (one worker).

One worker per process on purpose: each worker would hold its own copy of every model; scale out
with more containers instead. Access logs are off because the app logs each request itself.
"""

from __future__ import annotations

from app.config import get_settings
from app.server import serve


def main() -> None:
    serve(get_settings())


if __name__ == "__main__":
    main()
