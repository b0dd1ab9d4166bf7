# syntax=docker/dockerfile:1
# seqserve images, one Dockerfile, three targets:
#
#   docker build -t seqserve:cpu .                          # serve (default): ONNX Runtime on CPU
#   docker build -t seqserve-trainer --target trainer .     # trains models into /models
#   docker build -t seqserve:gpu --target gpu .             # serves model.keras with TensorFlow+CUDA
#
# Dependencies are installed from pyproject.toml alone (scripts/requirements.py) into a virtualenv
# at /opt/venv in a build stage; each runtime stage copies that venv, then installs the project's
# own small wheel on top, so editing the code rebuilds only the last few layers and the dependency
# layers are reused until pyproject.toml changes. (No `RUN --mount=type=cache` for pip: podman's
# builder, buildah <= 1.28, never reuses the layer of such a step, which costs more than it saves.)
# Runtime stages run as the unprivileged user 10001, read models from /models, datasets from /data.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/venv/bin:$PATH
# The same numeric user in every image, so the trainer's files in the shared models volume are
# readable by the API. /models is created owned by it: a new named volume copies that ownership.
RUN groupadd --gid 10001 seqserve \
 && useradd --uid 10001 --gid seqserve --create-home --home-dir /home/seqserve \
        --shell /usr/sbin/nologin seqserve \
 && install -d -o seqserve -g seqserve /models /data

# --- the project's wheel (pure Python, under 100 KB) ----------------------------------------
FROM base AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY training ./training
RUN pip wheel --no-deps --wheel-dir /wheels .

# --- serving dependencies: no TensorFlow ------------------------------------------------------
FROM base AS serve-deps
WORKDIR /src
COPY pyproject.toml ./
COPY scripts/requirements.py ./scripts/
# Not needed at run time, so not in the image: pip and setuptools (~15 MB; the base image keeps its
# own pip) and the packages' bundled test suites (numpy's alone is ~15 MB).
RUN python scripts/requirements.py > requirements.txt \
 && python -m venv /opt/venv \
 && pip install -r requirements.txt \
 && pip uninstall --yes pip setuptools \
 && find /opt/venv/lib -depth -type d -name tests -path '*/site-packages/*' -exec rm -rf {} +

# --- training dependencies: TensorFlow (CPU build) --------------------------------------------
FROM base AS train-deps
WORKDIR /src
COPY pyproject.toml ./
COPY scripts/requirements.py ./scripts/
RUN python scripts/requirements.py train > requirements.txt \
 && python -m venv /opt/venv \
 && pip install -r requirements.txt

# --- GPU dependencies: the same TensorFlow with its CUDA/cuDNN wheels -------------------------
FROM train-deps AS gpu-deps
RUN python scripts/requirements.py train --cuda > requirements-gpu.txt \
 && pip install -r requirements-gpu.txt

# ---------------------------------------------------------------------------------------------
# trainer: `python -m training all --if-missing` into /models (a volume), datasets read from /data.
FROM base AS trainer
COPY --from=train-deps /opt/venv /opt/venv
COPY --from=wheel /wheels /tmp/wheels
RUN pip --python /opt/venv/bin/python install --no-deps /tmp/wheels/*.whl \
 && rm -rf /tmp/wheels
ENV SEQSERVE_MODELS_DIR=/models \
    SEQSERVE_DATA_DIR=/data \
    SEQSERVE_TRAIN_PRESET=default \
    MPLBACKEND=Agg
WORKDIR /home/seqserve
USER 10001:10001
# A shell only to read the preset from the environment; exec hands it the process (signals).
CMD ["sh", "-c", "exec python -m training all --if-missing --preset \"$SEQSERVE_TRAIN_PRESET\""]

# ---------------------------------------------------------------------------------------------
# gpu: serves model.keras with TensorFlow on a CUDA GPU (ONNX Runtime here is the CPU build).
# Needs the NVIDIA driver and container toolkit on the host; see the gpu profile in compose.
FROM base AS gpu
COPY --from=gpu-deps /opt/venv /opt/venv
COPY --from=wheel /wheels /tmp/wheels
RUN pip --python /opt/venv/bin/python install --no-deps /tmp/wheels/*.whl \
 && rm -rf /tmp/wheels
# The forecast kernel compiled into numba's cache, as in `serve` below.
ENV NUMBA_CPU_NAME=generic
RUN NUMBA_CACHE_DIR=/opt/numba-cache \
    python -c "from app.forecast_kernel import compile_for_serving; compile_for_serving()"
COPY scripts/serve-entrypoint.sh /usr/local/bin/seqserve-entrypoint
ENTRYPOINT ["seqserve-entrypoint"]
ENV SEQSERVE_HOST=0.0.0.0 \
    SEQSERVE_PORT=8000 \
    SEQSERVE_MODELS_DIR=/models \
    SEQSERVE_DATA_DIR=/data \
    SEQSERVE_RUNTIME=tensorflow \
    TF_FORCE_GPU_ALLOW_GROWTH=true \
    MPLBACKEND=Agg \
    NUMBA_CACHE_DIR=/tmp/numba-cache
WORKDIR /home/seqserve
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/ready' % os.environ.get('SEQSERVE_PORT', '8000'), timeout=4)"]
CMD ["python", "-m", "app"]

# ---------------------------------------------------------------------------------------------
# serve (the default target, so it comes last): FastAPI + ONNX Runtime on CPU, no TensorFlow.
FROM base AS serve
COPY --from=serve-deps /opt/venv /opt/venv
COPY --from=wheel /wheels /tmp/wheels
RUN pip --python /opt/venv/bin/python install --no-deps /tmp/wheels/*.whl \
 && rm -rf /tmp/wheels
# The forecast kernel (numba), compiled once here into a cache that the entry point copies into
# the writable NUMBA_CACHE_DIR at start, so a container is ready in seconds instead of compiling
# for ~25 s at every start. For a generic x86-64 CPU: numba keys its cache on the CPU, and the
# image runs on hosts other than the one that built it.
ENV NUMBA_CPU_NAME=generic
RUN NUMBA_CACHE_DIR=/opt/numba-cache \
    python -c "from app.forecast_kernel import compile_for_serving; compile_for_serving()"
COPY scripts/serve-entrypoint.sh /usr/local/bin/seqserve-entrypoint
ENTRYPOINT ["seqserve-entrypoint"]
ENV SEQSERVE_HOST=0.0.0.0 \
    SEQSERVE_PORT=8000 \
    SEQSERVE_MODELS_DIR=/models \
    NUMBA_CACHE_DIR=/tmp/numba-cache
WORKDIR /home/seqserve
USER 10001:10001
EXPOSE 8000
# /ready is 200 once every enabled model is loaded and warmed up, 503 before: urlopen raises on
# 503, so the exit status says it. Python's urllib, so the image needs no curl.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/ready' % os.environ.get('SEQSERVE_PORT', '8000'), timeout=4)"]
CMD ["python", "-m", "app"]
