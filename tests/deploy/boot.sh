#!/usr/bin/env bash
# The units under a real systemd: boots this machine's own OS in a container
# (systemd-nspawn over a throw-away overlay of /, private network), installs
# the Debian package there with dpkg -i, and drives genred.service with
# systemctl: start (Type=notify: returns once genred reports ready), a
# subscriber receives genre.probs through the sandbox, the watchdog is fed,
# reload re-reads the config and refuses a broken one, an instance of
# genred@.service runs beside it, stop is clean. Needs
# root and systemd-nspawn (package systemd-container); skips without them.
# The package comes from the deb_package test (a ctest fixture).
set -euo pipefail
deb=${GENRED_BUILD_DIR:?}/tests/deploy/genred.deb
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (mount namespace, overlay, nspawn)"
[ -f "$deb" ] || { echo "FAIL: no $deb (made by the deb_package test)"; exit 1; }
for tool in systemd-nspawn unshare /usr/bin/python3; do
    command -v "$tool" >/dev/null || skip "$tool not installed"
done
/usr/bin/python3 -c 'import zmq' 2>/dev/null || skip "python3-zmq not installed"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$tmp/results/inside.log" ] && cat "$tmp/results/inside.log" >&2; exit 1; }

mkdir -p "$tmp/results"
cp "$deb" "$tmp/results/genred.deb"
# Four seconds of a chord with a pulse, 22.05 kHz mono: real audio, not silence.
/usr/bin/python3 - "$tmp/results/test.wav" <<'PY'
import math, struct, sys, wave
rate = 22050
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
    w.writeframes(b"".join(struct.pack("<h", int(6000 * (
        math.sin(2 * math.pi * 220 * i / rate) + math.sin(2 * math.pi * 277 * i / rate)) *
        (1.0 if (i // (rate // 4)) % 2 == 0 else 0.3))) for i in range(4 * rate)))
PY
cp "$(dirname "$0")/boot-inside.sh" "$tmp/results/inside.sh"
cat >"$tmp/genred-boot-test.service" <<'UNIT'
[Unit]
Description=genred deployment test inside the container
[Service]
Type=oneshot
ExecStart=/bin/bash /results/inside.sh
ExecStopPost=/bin/systemctl --no-block poweroff
UNIT

# nspawn will not boot "/" itself: give it an overlay of the root file system
# whose writes land in a tmpfs, inside a mount namespace that dies with us.
cat >"$tmp/nspawn.sh" <<'NS'
set -e
t=$1; shift
mkdir -p "$t/lower" "$t/rw" "$t/merged" /run/systemd/nspawn
mount --make-rprivate /
mount --bind / "$t/lower"
mount -t tmpfs tmpfs /run/systemd/nspawn
mount -t tmpfs tmpfs "$t/rw"
mkdir "$t/rw/upper" "$t/rw/work"
mount -t overlay overlay -o "lowerdir=$t/lower,upperdir=$t/rw/upper,workdir=$t/rw/work" "$t/merged"
exec systemd-nspawn -q -D "$t/merged" --private-network --keep-unit --register=no \
    --link-journal=no -M genred-test "$@"
NS
timeout 150 unshare -m bash "$tmp/nspawn.sh" "$tmp" --bind="$tmp/results:/results" \
    --bind-ro="$tmp/genred-boot-test.service:/etc/systemd/system/genred-boot-test.service" \
    --boot systemd.unit=genred-boot-test.service >"$tmp/boot.log" 2>&1 ||
    { tail -20 "$tmp/boot.log"; fail "container did not boot and power off"; }

log=$tmp/results/inside.log
[ -f "$log" ] || { tail -30 "$tmp/boot.log"; fail "the test unit never ran"; }
grep '^RESULT' "$log"
expect() { grep -qx "RESULT $1" "$log" || fail "expected 'RESULT $1'"; }
expect "installed: ok"
expect "user: genred"
expect "start: ok"
expect "active: active"
expect "received: genre.probs"
expect "watchdog restarts: 0"
expect "reload: ok"
expect "bad reload refused: yes"
expect "still running after reloads: yes"
expect "instance start: ok"
expect "instance received: genre.probs"
expect "instance runtime directory: yes"
expect "main unaffected: yes"
expect "transient start: ok"
expect "transient received: genre.probs"
expect "stop: ok"
expect "result: success"
exposure=$(sed -n 's/^RESULT exposure: //p' "$log")
echo "systemd-analyze security genred.service under systemd: $exposure"
