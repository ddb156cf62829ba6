#!/usr/bin/env bash
# CI services the tests need, made present and running; idempotent (a no-op when all is up).
#   Mosquitto on 127.0.0.1:1883: test/net/mosquitto.test.ts fails (never skips) without it.
# Needs root (or passwordless sudo) only when Mosquitto must be installed.
set -euo pipefail

HOST=${MOSQUITTO_HOST:-127.0.0.1}
PORT=${MOSQUITTO_PORT:-1883}
CONF=${MOSQUITTO_CONF:-/etc/mosquitto/mosquitto.conf}

listening() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else echo "services: need root to run: $*" >&2; return 1
  fi
}

# openssl: the deployment CA and per-role certificates are made with the system's openssl
# (src/net/pki.ts); the Mosquitto security tests start their own broker binary too.
if ! command -v openssl >/dev/null 2>&1; then
  echo "== services: openssl not installed; apt-get install -y openssl"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssl
fi

if listening; then
  echo "== services: Mosquitto already listening on $HOST:$PORT"
  exit 0
fi

if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  echo "== services: mosquitto not installed; apt-get update && apt-get install -y mosquitto"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mosquitto
fi
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

if [ -f "$CONF" ]; then
  echo "== services: starting $MOSQUITTO -d -c $CONF"
  # The packaged config writes its pid and log under /run and /var/log; make sure they exist.
  as_root mkdir -p /run/mosquitto /var/log/mosquitto /var/lib/mosquitto
  if id mosquitto >/dev/null 2>&1; then
    as_root chown mosquitto: /run/mosquitto /var/log/mosquitto /var/lib/mosquitto || true
  fi
  as_root "$MOSQUITTO" -d -c "$CONF" || echo "services: $MOSQUITTO exited with $?" >&2
else
  echo "== services: $CONF absent; starting $MOSQUITTO -d -p $PORT"
  as_root "$MOSQUITTO" -d -p "$PORT" || echo "services: $MOSQUITTO exited with $?" >&2
fi

for _ in $(seq 1 100); do
  if listening; then
    echo "== services: Mosquitto listening on $HOST:$PORT"
    exit 0
  fi
  sleep 0.1
done
echo "services: Mosquitto did not start listening on $HOST:$PORT within 10 s" >&2
if [ -f /var/log/mosquitto/mosquitto.log ]; then
  tail -n 20 /var/log/mosquitto/mosquitto.log >&2
fi
exit 1
