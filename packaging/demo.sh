#!/usr/bin/env bash
# make demo: broker with demo data + an office-PC stand-in + the app.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${ZAITAKU_DEMO_DATA:-./zaitaku-data}
LISTEN=${ZAITAKU_DEMO_LISTEN:-127.0.0.1:8443}
# The demo office PCs' RDP port (3389 may be taken by a local RDP server).
export ZAITAKU_DEMO_RDP_PORT=${ZAITAKU_DEMO_RDP_PORT:-33389}
LOG=$(mktemp -t zaitaku-demo-broker.XXXXXX.log)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# The admin console answers this machine only in the demo.
bin/broker serve -demo -data "$DATA" -listen "$LISTEN" -console-allow 127.0.0.0/8,::1/128 >"$LOG" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  grep -q 'fingerprint:' "$LOG" && break
  if ! kill -0 "${pids[0]}" 2>/dev/null; then cat "$LOG"; echo "broker did not start (see above)"; exit 1; fi
  sleep 0.1
done
URL=$(sed -n 's/.*serving on \(https:[^ ]*\).*/\1/p' "$LOG" | head -1)
PIN=$(sed -n 's/.*(SHA-256 of SPKI): \(sha256\/[A-Za-z0-9+\/=]*\).*/\1/p' "$LOG" | head -1)
grep -E '^(Zaitaku|Demo|Certificate|Public key pin)' "$LOG" || true

# The demo office PCs listen on 127.0.0.1 (ports from `broker admin terminals list`).
# On Linux, FreeRDP's shadow server on a virtual display stands in for them.
if command -v freerdp-shadow-cli >/dev/null && command -v Xvfb >/dev/null; then
  ports=$(bin/broker admin terminals list -data "$DATA" 2>/dev/null | awk 'NR>1 {print $0}' | grep -oE '127\.0\.0\.1:[0-9]+' | cut -d: -f2 | sort -u || true)
  n=90
  for port in $ports; do
    while [ -e "/tmp/.X$n-lock" ]; do n=$((n+1)); done
    # -noreset: the painter below is the display's only client for a moment, and an
    # X server that resets when its last client leaves would drop the background.
    Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp -noreset >/dev/null 2>&1 & pids+=($!)
    for _ in $(seq 1 50); do DISPLAY=":$n" xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
    # A visible desktop naming the PCs on this port, not a black screen.
    names=$(bin/broker admin terminals list -data "$DATA" 2>/dev/null | awk -v p="127.0.0.1:$port" 'NR>1 && index($0, p) {print $2}' | paste -sd '/' - || true)
    packaging/demo-desktop.sh ":$n" "${names:-Zaitaku demo}" || echo "(could not paint the demo desktop: ImageMagick missing?)"
    DISPLAY=":$n" freerdp-shadow-cli "/port:$port" /bind-address:127.0.0.1 -auth >"$DATA/office-pc-$port.log" 2>&1 & pids+=($!)
    for _ in $(seq 1 50); do ss -ltn 2>/dev/null | grep -q "127.0.0.1:$port " && break; sleep 0.1; done
    if ss -ltn 2>/dev/null | grep -q "127.0.0.1:$port "; then
      echo "Demo office PC on 127.0.0.1:$port (display :$n)"
    else
      echo "Demo office PC on port $port did not start; see $DATA/office-pc-$port.log"
    fi
    n=$((n+1))
  done
else
  echo "FreeRDP shadow server not found: the demo office PCs will show as asleep."
fi

echo "One-time code for yamada: $(bin/broker admin users otp-code yamada -data "$DATA")  (new one: bin/broker admin users otp-code yamada -data $DATA)"
echo "Admin console: $URL/console (admin; code: bin/broker admin users otp-code admin -data $DATA)"
lang_flag=()
[ -n "${ZAITAKU_LANG:-}" ] && lang_flag=(-lang "$ZAITAKU_LANG")
app=(bin/zaitaku -broker "$URL" -pin "$PIN" -data "$DATA/app" "${lang_flag[@]}")
if [ -n "${XDG_RUNTIME_DIR:-}" ] && [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  "${app[@]}"   # a desktop session: the user's own keyring
else
  # No desktop session (a server or container): a private session bus and
  # an unlocked keyring kept in the demo data dir, instead of prompts.
  mkdir -p "$DATA/keyring/keyrings" && chmod -R 700 "$DATA/keyring"
  export ZAITAKU_DEMO_KEYRING_HOME="$DATA/keyring"
  dbus-run-session -- bash -c '
    printf demo | XDG_DATA_HOME="$ZAITAKU_DEMO_KEYRING_HOME" gnome-keyring-daemon --unlock --components=secrets >/dev/null
    exec "$@"' _ "${app[@]}"
fi
