#!/usr/bin/env bash
# Benchmark `seccomp-gate serve` against nginx returning a fixed AdmissionReview over the same
# TLS. The server (and nginx) run pinned to CPU 0, wrk to CPU 1. Not a test: prints figures.
#
#   bench/server/run.sh [path/to/seccomp-gate]
#   (environment: DURATION=10s CONNECTIONS=16 LOG_LEVEL=info SERVER_CPU=0 CLIENT_CPU=1)
#
# Needs: wrk, nginx (nginx-light is enough), openssl, taskset (util-linux), curl.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BINARY=${1:-$ROOT/build/dev/cli/seccomp-gate}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SERVER_PORT=${SERVER_PORT:-18443}
NGINX_PORT=${NGINX_PORT:-18444}
for tool in wrk nginx openssl taskset curl pgrep; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is not installed (see Needs: above)" >&2; exit 1; }
done
WORK=$(mktemp -d /tmp/seccomp-gate-bench.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

BODIES=(
    "pod-4.3KB:$ROOT/bench/admission-pod.json"
    "deployment:$ROOT/test/server/data/deployment.json"
    "denied-pod:$ROOT/test/server/data/denied-pod.json"
)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -keyout "$WORK/tls.key" -out "$WORK/tls.crt" -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

peak_rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# Waits for `$@` to print something, 20 times a second for at most 10 s; prints it.
wait_output() {
    local out
    for _ in $(seq 200); do
        out=$("$@" 2>/dev/null || true)
        if [ -n "$out" ]; then
            echo "$out"
            return 0
        fi
        sleep 0.05
    done
    return 1
}

wait_port() {
    for _ in $(seq 100); do
        curl -sk -o /dev/null "https://127.0.0.1:$1/healthz" && return 0
        sleep 0.05
    done
    echo "nothing listening on $1" >&2
    return 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_wrk() {  # port pid label body-file (empty: GET /healthz)
    local before after out requests
    before=$(cpu_ticks "$2")
    if [ -n "$4" ]; then
        echo "== $3 ($(wc -c <"$4") bytes), $CONNECTIONS connections, $DURATION"
        out=$(BODY=$4 taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency \
            -s "$HERE/post.lua" "https://127.0.0.1:$1/validate?timeout=10s")
    else
        echo "== $3, $CONNECTIONS connections, $DURATION"
        out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency \
            "https://127.0.0.1:$1/healthz")
    fi
    after=$(cpu_ticks "$2")
    echo "$out" | grep -E "Requests/sec|Non-2xx|Socket errors| 50%| 99%|requests in"
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    # CPU time the server spent per request: comparable even when other work shares the CPU.
    echo "  server CPU per request: $(( (after - before) * 1000000 / $(getconf CLK_TCK) / requests )) us"
}

handshakes() {  # port pid
    local before after out count
    echo "== new TLS handshakes (openssl s_time -new, 5 s; s_time itself is the bottleneck)"
    before=$(cpu_ticks "$2")
    out=$(taskset -c "$CLIENT_CPU" openssl s_time -connect "127.0.0.1:$1" -new -time 5 2>/dev/null)
    after=$(cpu_ticks "$2")
    echo "$out" | grep -E "real seconds"
    count=$(echo "$out" | awk '/real seconds/ {print $1}')
    echo "  server CPU per handshake: $(( (after - before) * 1000000 / $(getconf CLK_TCK) / count )) us"
}

echo "# seccomp-gate: $BINARY"
taskset -c "$SERVER_CPU" "$BINARY" serve --policy "$ROOT/examples/policy.yaml" \
    --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key" --listen "127.0.0.1:$SERVER_PORT" \
    --log-level "${LOG_LEVEL:-info}" 2>"$WORK/server.log" &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
wait_port "$SERVER_PORT"
echo "threads: $(grep -o '"threads":[0-9]*' "$WORK/server.log")  rss at start: $(awk '/VmRSS/ {print $2}' /proc/$SERVER_PID/status) KiB"
for entry in "${BODIES[@]}"; do
    run_wrk "$SERVER_PORT" "$SERVER_PID" "${entry%%:*}" "${entry#*:}"
done
run_wrk "$SERVER_PORT" "$SERVER_PID" "GET /healthz (transport only)" ""
handshakes "$SERVER_PORT" "$SERVER_PID"
echo "peak RSS: $(peak_rss_kib "$SERVER_PID") KiB"
echo "log lines written: $(wc -l <"$WORK/server.log")"
kill -TERM "$SERVER_PID"

# nginx answers the response that seccomp-gate gives for the 4.3 KB pod.
RESPONSE=$("$BINARY" review --policy "$ROOT/examples/policy.yaml" "$ROOT/bench/admission-pod.json" || true)
mkdir -p "$WORK/body" "$WORK/proxy" "$WORK/fastcgi" "$WORK/uwsgi" "$WORK/scgi"
sed -e "s|@DIR@|$WORK|g" -e "s|@PORT@|$NGINX_PORT|g" -e "s|@RESPONSE@|$RESPONSE|" \
    "$HERE/nginx.conf.in" >"$WORK/nginx.conf"
echo
echo "# nginx $(nginx -v 2>&1 | sed 's/.*\///'), fixed AdmissionReview"
taskset -c "$SERVER_CPU" nginx -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log" &
PIDS+=($!)
wait_port "$NGINX_PORT"
# On a fresh machine nginx can answer before its pid file is there (or fail after binding):
# wait for the pid file and a worker, each for a bounded time, and say which one never came.
nginx_failed() {
    echo "run.sh: $*; nginx's error log:" >&2
    sed 's/^/    /' "$WORK/nginx-error.log" >&2 2>/dev/null || true
    exit 1
}
NGINX_MASTER=$(wait_output head -c 32 "$WORK/nginx.pid") ||
    nginx_failed "nginx wrote no pid file ($WORK/nginx.pid) within 10 s"
[[ "$NGINX_MASTER" =~ ^[0-9]+$ ]] || nginx_failed "nginx's pid file holds \"$NGINX_MASTER\", not a pid"
NGINX_WORKER=$(wait_output pgrep -o -P "$NGINX_MASTER") ||
    nginx_failed "nginx (pid $NGINX_MASTER) started no worker process within 10 s"
for entry in "${BODIES[@]}"; do
    run_wrk "$NGINX_PORT" "$NGINX_WORKER" "${entry%%:*}" "${entry#*:}"
done
run_wrk "$NGINX_PORT" "$NGINX_WORKER" "GET /healthz" ""
handshakes "$NGINX_PORT" "$NGINX_WORKER"
echo "peak RSS (worker): $(peak_rss_kib "$NGINX_WORKER") KiB"
