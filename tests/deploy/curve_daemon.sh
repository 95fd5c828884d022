#!/usr/bin/env bash
# CURVE wired into the daemon, end to end with the real genred binary and
# pyzmq subscribers: keys from `genred --gen-keys`; an allow-listed client
# receives genre.probs, a client with valid keys that is not listed and a
# plain-text client receive nothing; a loose or malformed key file and a
# non-loopback endpoint without CURVE stop genred at start with a clear
# message; allow_plaintext_remote = true starts with a warning.
set -euo pipefail
genred=${GENRED_BUILD_DIR:?}/bin/genred
/usr/bin/python3 -c 'import zmq; assert zmq.has("curve")' 2>/dev/null ||
    { echo "SKIP: python3-zmq with CURVE not installed"; exit 77; }
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
key() { grep -v '^#' "$1"; }

for d in server listed other; do "$genred" --gen-keys "$tmp/$d" >/dev/null; done
key "$tmp/listed/curve.pub" >"$tmp/clients.allow"
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
/usr/bin/python3 - "$tmp/tone.wav" <<'PY'
import math, struct, sys, wave
rate = 16000
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
    w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                           for i in range(2 * rate)))
PY
conf() { # extra config lines on stdin -> $tmp/genred.conf
    { echo "input = \"file:$tmp/tone.wav\"; realtime = true; loop = true; hop = 0.25;"; cat; } \
        >"$tmp/genred.conf"
}

# 1. Allow-list: only the listed client receives.
conf <<CONF
publish = "tcp://127.0.0.1:$port";
curve_secret_key = "$tmp/server/curve.key";
curve_allow = "$tmp/clients.allow";
CONF
"$genred" --config "$tmp/genred.conf" 2>"$tmp/log" &
pids+=($!)
/usr/bin/python3 - "$port" "$(key "$tmp/server/curve.pub")" "$tmp" <<'PY' || fail "subscribers (above)"
import sys, time, zmq
port, server_public, tmp = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
ctx = zmq.Context()
def key(path):
    return [l for l in open(path).read().split("\n") if l and not l.startswith("#")][0].encode()
def sub(name, curve):
    s = ctx.socket(zmq.SUB)
    if curve:
        s.curve_serverkey = server_public
        s.curve_publickey = key(f"{tmp}/{name}/curve.pub")
        s.curve_secretkey = key(f"{tmp}/{name}/curve.key")
    s.setsockopt(zmq.SUBSCRIBE, b"genre.probs")
    s.connect(f"tcp://127.0.0.1:{port}")
    return s
subs = {"listed": sub("listed", True), "other": sub("other", True), "plain": sub("plain", False)}
got = dict.fromkeys(subs, 0)
poller = zmq.Poller()
for s in subs.values():
    poller.register(s, zmq.POLLIN)
deadline, settle = time.time() + 15, None
while time.time() < deadline and (settle is None or time.time() < settle):
    for s, _ in poller.poll(100):
        name = next(n for n, v in subs.items() if v is s)
        topic, body = s.recv_multipart()
        got[name] += 1
    if got["listed"] and settle is None:
        settle = time.time() + 1.5  # time for a wrongly admitted client to receive too
print("received:", got)
sys.exit(0 if got["listed"] > 0 and got["other"] == 0 and got["plain"] == 0 else 1)
PY
grep -qF "CURVE on, server public key $(key "$tmp/server/curve.pub"); 1 client key(s) allowed" \
    "$tmp/log" || { cat "$tmp/log"; fail "genred did not log the CURVE server key"; }
kill "${pids[0]}"
wait "${pids[0]}" || true # its port and its log must be free for step 3

# 2. Start-up refusals, each with a message that names the problem.
refused() { # expected-text: genred must exit non-zero at start, saying it
    local rc=0
    timeout 20 "$genred" --config "$tmp/genred.conf" >/dev/null 2>"$tmp/log" || rc=$?
    if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then fail "genred started (rc $rc); expected: $1"; fi
    grep -qF -- "$1" "$tmp/log" || { cat "$tmp/log"; fail "message lacks '$1'"; }
    echo "refused: $(tail -1 "$tmp/log")"
}
chmod 0644 "$tmp/server/curve.key"
conf <<CONF
publish = "tcp://127.0.0.1:$port";
curve_secret_key = "$tmp/server/curve.key";
CONF
refused "curve_secret_key '$tmp/server/curve.key': accessible by group or others (mode 0644)"
chmod 0600 "$tmp/server/curve.key"
printf 'not a key\n' >"$tmp/bad.key"
chmod 0600 "$tmp/bad.key"
conf <<CONF
publish = "tcp://127.0.0.1:$port";
curve_secret_key = "$tmp/bad.key";
CONF
refused "curve_secret_key '$tmp/bad.key': line 1: not a 40-character Z85 CURVE key"
conf <<CONF
publish = "tcp://0.0.0.0:$port";
CONF
refused "publish 'tcp://0.0.0.0:$port': not loopback or ipc, so it needs curve_secret_key"
"$genred" --check-config --config "$tmp/genred.conf" >/dev/null 2>&1 &&
    fail "--check-config accepted a plain-text non-loopback endpoint"

# 3. The explicit opt-out starts, with a warning in the log.
conf <<CONF
publish = "tcp://0.0.0.0:$port";
allow_plaintext_remote = true;
CONF
"$genred" --config "$tmp/genred.conf" 2>"$tmp/log" &
pids+=($!)
# Until it says so or exits: a minute, for a loaded machine.
for _ in $(seq 600); do
    grep -q "plain text off this machine" "$tmp/log" && break
    kill -0 "${pids[1]}" 2>/dev/null || break
    sleep 0.1
done
grep -q "plain text off this machine" "$tmp/log" || { cat "$tmp/log"; fail "no plain-text warning"; }
kill -0 "${pids[1]}" 2>/dev/null || { cat "$tmp/log"; fail "genred exited with allow_plaintext_remote"; }
echo "allow_plaintext_remote: $(grep -m1 "plain text off" "$tmp/log")"
