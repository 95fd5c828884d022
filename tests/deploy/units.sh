#!/usr/bin/env bash
# Installs the build into a scratch root exactly as "cmake --install" does and
# checks what lands there: every unit passes systemd-analyze verify (binaries
# and man pages resolved inside the scratch root), the system units' offline
# security exposure is at most 2.0, the template keeps the same hardening as
# the single unit, the sysusers entry creates its user, and a second install
# keeps an edited /etc/genred/genred.conf.
set -euo pipefail
build=${GENRED_BUILD_DIR:?} max_exposure=2.0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing (tools/dev deps installs systemd)"

DESTDIR=$root cmake --install "$build" --prefix /usr >"$tmp/install.log" ||
    { cat "$tmp/install.log"; fail "cmake --install"; }
sys=$root/usr/lib/systemd/system user=$root/usr/lib/systemd/user
for f in "$sys/genred.service" "$sys/genred@.service" "$user/genred.service" "$user/genre-web.service" \
    "$root/usr/lib/sysusers.d/genred.conf" "$root/etc/genred/genred.conf"; do
    [ -f "$f" ] || fail "not installed: ${f#"$root"}"
done

# Units name /usr/bin/genred; point them at the staged binary, which has to
# exist and be executable for verify to pass.
stage() { # unit-file out-dir [new-name]
    mkdir -p "$2"
    sed "s|/usr/bin/|$root/usr/bin/|g" "$1" >"$2/${3:-$(basename "$1")}"
}
stage "$sys/genred.service" "$tmp/system"
stage "$sys/genred@.service" "$tmp/system"
stage "$sys/genred@.service" "$tmp/system" genred@radio1.service
stage "$user/genred.service" "$tmp/user"
stage "$user/genre-web.service" "$tmp/user"
user_units="genred.service genre-web.service"
# genre-bridge is built (and its unit installed) with liblo and libmosquitto.
if [ -x "$build/bin/genre-bridge" ]; then
    [ -f "$user/genre-bridge.service" ] || fail "not installed: /usr/lib/systemd/user/genre-bridge.service"
    stage "$user/genre-bridge.service" "$tmp/user"
    user_units="$user_units genre-bridge.service"
fi
[ -f "$sys/genre-hub.service" ] || fail "not installed: /usr/lib/systemd/system/genre-hub.service"
stage "$sys/genre-hub.service" "$tmp/system"
grep -q "^ExecStart=$root/usr/bin/genred " "$tmp/system/genred.service" ||
    fail "genred.service does not start the installed /usr/bin/genred"

export MANPATH=$root/usr/share/man XDG_RUNTIME_DIR=$tmp
for unit in genred.service genred@.service genred@radio1.service genre-hub.service; do
    systemd-analyze verify "$tmp/system/$unit" || fail "systemd-analyze verify $unit"
    echo "verify $unit: ok"
done
for unit in $user_units; do
    systemd-analyze --user verify "$tmp/user/$unit" || fail "systemd-analyze --user verify $unit (user)"
    echo "verify user/$unit: ok"
done

for unit in genred.service genred@radio1.service genre-hub.service; do
    report=$(systemd-analyze security --offline=yes "$tmp/system/$unit") ||
        fail "systemd-analyze security $unit"
    exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$report")
    [ -n "$exposure" ] || { echo "$report"; fail "no exposure figure for $unit"; }
    echo "security --offline=yes $unit: exposure $exposure (limit $max_exposure)"
    awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }' ||
        { echo "$report"; fail "$unit exposure $exposure > $max_exposure"; }
done

# The template differs from the single unit only in what names the instance.
normalise() {
    grep -v -e '^#' -e '^Description=' "$1" |
        sed -e 's|/etc/genred/%i.conf|/etc/genred/genred.conf|g' -e 's|=genred/%i$|=genred|'
}
diff <(normalise "$sys/genred.service") <(normalise "$sys/genred@.service") ||
    fail "genred@.service drifted from genred.service (above)"

mkdir -p "$tmp/sysroot/etc"
systemd-sysusers --root="$tmp/sysroot" "$root/usr/lib/sysusers.d/genred.conf" ||
    fail "systemd-sysusers rejected genred.conf"
grep -q '^genred:x:[0-9]*:[0-9]*:.*:/var/lib/genred:' "$tmp/sysroot/etc/passwd" ||
    fail "sysusers did not create user genred with home /var/lib/genred"

echo "# edited by the administrator" >>"$root/etc/genred/genred.conf"
DESTDIR=$root cmake --install "$build" --prefix /usr >"$tmp/install.log"
grep -q "^# edited by the administrator" "$root/etc/genred/genred.conf" ||
    fail "a second install overwrote the edited /etc/genred/genred.conf"
echo "second install kept the edited genred.conf"
