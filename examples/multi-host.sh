#!/usr/bin/env bash
# A deployment's roles started one by one, each with only its own credential bundle, as on
# separate hosts (here every "host" is a directory on this machine). docs/MULTI-HOST.md
# explains each step; test/multiHost.test.ts runs this script, and checks that the guide shows it as it is.
#
#   examples/multi-host.sh [work dir]      (PRIVAGG, MQTT_PORT, LEDGER_PORT may be set)
set -euo pipefail
PRIVAGG=${PRIVAGG:-npx privagg}
WORK=${1:-$(mktemp -d)}
MQTT_PORT=${MQTT_PORT:-18883}
LEDGER_PORT=${LEDGER_PORT:-18443}
mkdir -p "$WORK" && cd "$WORK"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null' EXIT

# 1. The TA writes the deployment file: every host gets a copy (it holds no secret).
cat > deployment.yaml <<YAML
name: plant-7
stateDir: ./state
scheme: { ians: 2, devicesPerIan: 5, gateways: 3, threshold: 2, ldp: off }
rounds: { count: 3, durationMs: 2000 }
broker: { url: "mqtts://127.0.0.1:$MQTT_PORT" }
ledger: { host: 127.0.0.1, port: $LEDGER_PORT }
YAML

# 2. The TA issues one credential bundle per identity (state/credentials, mode 0600) and a
#    Mosquitto configuration with TLS, client certificates and the deployment's ACL.
#    Started as root, Mosquitto drops to its own user, which cannot read state/ (0700: it
#    holds the TA's secrets); here, as root on one machine, it stays root. On a real broker
#    host, copy state/mosquitto/ there and give it to Mosquitto's user instead.
as_root=()
[ "$(id -u)" = 0 ] && as_root=(--mosquitto-user root)
$PRIVAGG credentials issue deployment.yaml --mosquitto-port "$MQTT_PORT" "${as_root[@]}"

# 3. Each host receives its own bundle only.
for h in ledger gw-1 gw-2 gw-3 devices oem auditor; do mkdir -p "hosts/$h"; done
cp state/credentials/plant-7.ledger.json hosts/ledger/
for l in 1 2 3; do cp state/credentials/plant-7.gw-0-$l.json state/credentials/plant-7.gw-1-$l.json "hosts/gw-$l/"; done
cp state/credentials/plant-7.devices-0.json hosts/devices/
cp state/credentials/plant-7.oem-0.json hosts/oem/
cp state/credentials/plant-7.auditor.json hosts/auditor/

# 4. The broker host: Mosquitto with the generated configuration.
mosquitto -c state/mosquitto/mosquitto.conf > mosquitto.log 2>&1 &
pids+=($!)

# 5. Round 0 starts at an agreed time: every role is given it (or reads rounds.epochMs).
EPOCH=$(( $(date +%s) * 1000 + 20000 ))

# 6. The ledger host, then one host per gateway index (gateway l of every IAN), then the
#    device fleet. Each process loads only the bundles in its --credentials directory.
$PRIVAGG ledger serve --deployment deployment.yaml --epoch "$EPOCH" --credentials hosts/ledger > ledger.log 2>&1 &
pids+=($!)
for l in 1 2 3; do
  $PRIVAGG gateway --deployment deployment.yaml --epoch "$EPOCH" --credentials "hosts/gw-$l" \
    --ian all --gateway "$l" --ledger "https://127.0.0.1:$LEDGER_PORT" > "gateway-$l.log" 2>&1 &
  pids+=($!)
done
$PRIVAGG devices --deployment deployment.yaml --epoch "$EPOCH" --credentials hosts/devices > devices.log 2>&1 &
pids+=($!)

# 7. The OEM's host: a query over rounds 0..2 and both IANs. Until every IAN-round of the
#    window is concluded the ledger answers WRONG_ROUND (and charges nothing): ask again.
for attempt in $(seq 1 60); do
  if $PRIVAGG query --deployment deployment.yaml --credentials hosts/oem \
      --ledger "https://127.0.0.1:$LEDGER_PORT" --number 2 --start 0 --end 2 > answer.json 2> query.err; then
    break
  fi
  [ "$attempt" = 60 ] && { cat answer.json query.err >&2; exit 1; }
  sleep 1
done
echo "answer: $(node -e 'const a = require(process.argv[1]).answer; console.log(a.dimensions.map((d) => `${d.name} ${d.total}`).join(", "))' "$PWD/answer.json")"

# 8. The auditor's host: the ledger file (copied, or read where it is), checked with its bundle.
$PRIVAGG ledger verify state/ledger.sqlite --bundle hosts/auditor/plant-7.auditor.json
