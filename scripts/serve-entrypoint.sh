#!/bin/sh
# Entry point of the serving images (Dockerfile): seeds numba's cache, then runs the command.
#
# The forecast kernel (app/forecast_kernel.py) was compiled at image build into /opt/numba-cache.
# numba only uses a cache directory it can write, and the API's root filesystem is read-only, so
# the cache is copied into NUMBA_CACHE_DIR (/tmp/numba-cache: compose mounts a tmpfs at /tmp,
# Kubernetes an emptyDir). Without a writable /tmp the kernel compiles at warm-up instead (about
# 25 s) and the service still starts.
set -eu
seed=/opt/numba-cache
if [ -d "$seed" ] && [ -n "${NUMBA_CACHE_DIR:-}" ]; then
    if ! { mkdir -p "$NUMBA_CACHE_DIR" && cp -R "$seed/." "$NUMBA_CACHE_DIR/"; } 2>/dev/null; then
        echo "seqserve: cannot write NUMBA_CACHE_DIR=$NUMBA_CACHE_DIR; the forecast kernel" \
            "compiles at warm-up (about 25 s)" >&2
    fi
fi
exec "$@"
