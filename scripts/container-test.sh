#!/usr/bin/env bash
# Builds the images, starts the compose stack (trainer, then api) and calls every endpoint:
#
#   scripts/container-test.sh          # or: make container-test
#
# - Uses its own compose project (seqserve-ctest), so its `models` volume and containers never
#   touch a stack started with plain `docker compose up`; it removes both when it ends, even on
#   failure. Host port: CTEST_PORT (18000).
# - Trains with the `tiny` preset (seconds per task; SEQSERVE_TRAIN_PRESET overrides it) from
#   SEQSERVE_HOST_DATA_DIR (../shared/data).
# - Without a reachable Docker daemon it sources ../shared/tools/container-env.sh (or
#   CONTAINER_ENV), which provides docker and docker compose on top of podman.
# - Publishes a second forecaster (`--name sales`) into the models volume while the API runs and
#   checks that the API serves it without a restart.
# Prints the build time, the image sizes, the time until `up --wait` returned (training
# included) and the API's own time to ready after a restart with trained models.
set -euo pipefail
cd "$(dirname "$0")/.."

export COMPOSE_PROJECT_NAME=seqserve-ctest
export SEQSERVE_TRAIN_PRESET=${SEQSERVE_TRAIN_PRESET:-tiny}
export SEQSERVE_HOST_PORT=${CTEST_PORT:-18000}
BASE=http://127.0.0.1:$SEQSERVE_HOST_PORT

if ! docker info >/dev/null 2>&1; then
  env_script=${CONTAINER_ENV:-../shared/tools/container-env.sh}
  [[ -f $env_script ]] || { echo "no Docker daemon and no $env_script" >&2; exit 1; }
  # shellcheck source=/dev/null
  source "$env_script"
fi

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

cleanup() {
  status=$?
  if [[ $status -ne 0 ]]; then
    echo "--- failed (exit $status); last container logs:" >&2
    docker compose logs --no-color --tail 40 >&2 || true
  fi
  docker compose down --volumes --remove-orphans >/dev/null 2>&1 || true
  exit "$status"
}
trap cleanup EXIT

echo "== build (trainer and api images)"
t0=$(now)
docker compose build
build_s=$(seconds "$t0" "$(now)")

echo "== up --wait (trainer: preset $SEQSERVE_TRAIN_PRESET, then api until healthy)"
t0=$(now)
docker compose up --detach --wait
up_s=$(seconds "$t0" "$(now)")
docker compose logs --no-color trainer | tail -4

echo "== endpoints at $BASE"
python3 - "$BASE" <<'PY'
import json
import sys
import urllib.error
import urllib.request

base = sys.argv[1]


def call(method: str, path: str, body: object = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200, (path, response.status)
        return json.load(response)


ready = call("GET", "/ready")
assert ready["status"] == "ready" and set(ready["models"]) == {"forecast", "sentiment", "generate"}
print("GET  /ready      ", ready)

models = {m["name"]: m for m in call("GET", "/models")["models"]}
window, max_horizon = (models["forecast"]["info"]["input"][k] for k in ("window", "max_horizon"))
series = [10 + (i % 24) for i in range(window)]
horizon = min(12, max_horizon)
out = call("POST", "/forecast", {"series": series, "horizon": horizon})
assert len(out["forecast"]) == horizon, out
print(f"POST /forecast    window {window}: {horizon} values, first {out['forecast'][0]:.3f}")

texts = ["A moving, beautifully shot film.", "Dull, far too long, and badly acted."]
out = call("POST", "/sentiment", {"texts": texts})
labels = [p["label"] for p in out["predictions"]]
assert len(labels) == 2 and set(labels) <= {"negative", "positive"}, out
print("POST /sentiment   ", labels)

out = call("POST", "/generate", {"prompt": "ROMEO:", "max_tokens": 40, "seed": 1})
assert out["tokens"] == 40 and out["finish_reason"] == "length", out
print("POST /generate    ", repr(out["text"]))

# The container serves with the same connection limits as `python -m app` on a host.
big = urllib.request.Request(base + "/health", headers={"X-Big": "a" * 20_000})
try:
    urllib.request.urlopen(big, timeout=10)
    sys.exit("a 20 kB header was accepted")
except urllib.error.HTTPError as refused:
    assert refused.code == 431 and json.load(refused)["type"] == "headers_too_large"
print("GET  /health       20 kB header: 431")

with urllib.request.urlopen(base + "/docs", timeout=10) as page:
    assert b"/docs/assets/swagger-ui-bundle.js" in page.read()
with urllib.request.urlopen(base + "/docs/assets/swagger-ui-bundle.js", timeout=10) as script:
    assert script.status == 200
print("GET  /docs         assets served locally")
PY

echo "== a second forecaster, published into the models volume while the api runs"
t0=$(now)
docker compose run --rm --no-deps trainer \
  python -m training forecast --preset "$SEQSERVE_TRAIN_PRESET" --name sales --dataset m4_hourly \
  | tail -2
python3 - "$BASE" <<'PY'
import json
import sys
import time
import urllib.request

base = sys.argv[1]
deadline = time.monotonic() + 120  # the api rescans the repository every 5 s
while True:
    with urllib.request.urlopen(base + "/models", timeout=10) as response:
        models = {m["name"]: m for m in json.load(response)["models"]}
    if models.get("sales", {}).get("state") == "ready":
        break
    if time.monotonic() > deadline:
        sys.exit(f"the api did not serve the new model within 120 s: {models.get('sales')}")
    time.sleep(0.5)
window = models["sales"]["info"]["input"]["window"]
body = json.dumps({"series": [10 + (i % 24) for i in range(window)], "horizon": 6}).encode()
request = urllib.request.Request(base + "/models/sales/forecast", data=body, method="POST")
request.add_header("Content-Type", "application/json")
with urllib.request.urlopen(request, timeout=30) as response:
    answer = json.load(response)
assert answer["model"] == {"name": "sales", "version": "1"} and len(answer["forecast"]) == 6
print("POST /models/sales/forecast  served without a restart:", answer["model"])
PY
second_s=$(seconds "$t0" "$(now)")

echo "== api restart: time to ready with trained models"
api=$(docker compose ps --quiet api)
docker stop "$api" >/dev/null
t0=$(now)
docker start "$api" >/dev/null  # the container alone: `compose start` would rerun the trainer
python3 - "$BASE" <<'PY'
import sys
import time
import urllib.request

deadline = time.monotonic() + 120
while True:
    try:
        with urllib.request.urlopen(sys.argv[1] + "/ready", timeout=2) as response:
            if response.status == 200:
                break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit("the api did not become ready within 120 s")
    time.sleep(0.1)
PY
ready_s=$(seconds "$t0" "$(now)")

size() { docker image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'; }
echo
echo "== results"
echo "build (docker compose build):            ${build_s} s"
echo "up --wait (tiny training + api healthy): ${up_s} s"
echo "second model trained and served live:    ${second_s} s"
echo "api time to ready (restart):             ${ready_s} s"
echo "image seqserve:cpu      $(size seqserve:cpu)"
echo "image seqserve:trainer  $(size seqserve:trainer)"
echo "base python:3.11-slim   $(size python:3.11-slim)"
echo "container test passed"
