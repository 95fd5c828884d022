#!/usr/bin/env bash
# Builds the Debian package from the release build the way a maintainer would
# (cpack -G DEB), then checks it as dpkg sees it: Depends computed by
# dpkg-shlibdeps name the package of every library the shipped binaries link,
# the config is a conffile, and the unpacked genred runs from a scratch root
# (dpkg -x) against the system's libraries. The package is left in
# $GENRED_BUILD_DIR/tests/deploy/ for the boot test. In the arm64 cross build
# the package is arm64: its libraries are the multiarch arm64 ones and its
# programs run under $GENRED_EMULATOR (qemu-user).
set -euo pipefail
build=${GENRED_BUILD_DIR:?} cpack=${CPACK:-cpack}
for tool in "$cpack" dpkg-deb dpkg-shlibdeps dpkg-architecture readelf; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

rm -f "$build/tests/deploy/genred.deb"
"$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
    { cat "$tmp/cpack.log"; fail "cpack -G DEB"; }
debs=("$tmp"/out/*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then fail "expected one .deb, got: ${debs[*]}"; fi
deb=${debs[0]}
echo "built $(basename "$deb")"
multiarch=$(dpkg-architecture -a "$(dpkg-deb -f "$deb" Architecture)" -qDEB_HOST_MULTIARCH 2>/dev/null)
run=(${GENRED_EMULATOR:+"$GENRED_EMULATOR"})
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
echo "Maintainer: $(dpkg-deb -f "$deb" Maintainer)"
# One "name" per alternative: "libjack-jackd2-0 (>= 1.9.10+20150825) | libjack-0.125" -> both.
names=" $(tr ',|' '\n' <<<"$depends" | sed 's/(.*)//; s/[[:space:]]//g' | tr '\n' ' ') "

root=$tmp/root
dpkg-deb -x "$deb" "$root"
# Every library a shipped executable needs must come from a package in Depends.
# (readelf fails on the scripts among them; their dependencies are Suggests.)
sonames=$({ find "$root/usr/bin" -type f -perm -u+x -exec readelf -d {} + 2>/dev/null || true; } |
    sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u)
[ -n "$sonames" ] || fail "no NEEDED libraries found in the packaged executables"
# Merged /usr: dpkg may know a library as /lib/... or /usr/lib/..., so ask
# for both spellings and count the libraries that got an owner.
paths=()
for soname in $sonames; do
    path=$(ldconfig -p | awk -v s="$soname" -v d="/$multiarch/" \
        '$1 == s && index($NF, d) && !found++ { print $NF }')
    # The host's ldconfig cache has no foreign-architecture libraries.
    for dir in /usr/lib/$multiarch /lib/$multiarch; do
        [ -z "$path" ] && [ -e "$dir/$soname" ] && path=$dir/$soname
    done
    [ -n "$path" ] || fail "$soname (needed by a packaged executable) not found by ldconfig"
    real=$(readlink -f "$path")
    paths+=("$real" "${real#/usr}")
done
# Libraries chosen by alternatives (OpenBLAS: libopenblas0 -> libopenblas0-pthread)
# come from a package that one in Depends pulls in.
provided_via_depends() {
    local dep
    for dep in $names; do
        dpkg-query -W -f='${Depends}\n' "$dep" 2>/dev/null | tr ',|' '\n' |
            sed 's/(.*)//; s/[[:space:]]//g' | grep -qx "$1" && return 0
    done
    return 1
}
owned=()
while IFS= read -r line; do
    pkg=${line%%:*} file=${line##*: }
    [[ $names == *" $pkg "* ]] || provided_via_depends "$pkg" ||
        fail "$file comes from $pkg, which is missing in Depends"
    owned+=("$(basename "$file")")
done < <(dpkg -S "${paths[@]}" 2>/dev/null)
checked=$(printf '%s\n' "${owned[@]}" | sort -u | wc -l)
[ "$checked" -eq $((${#paths[@]} / 2)) ] ||
    fail "dpkg -S found owners for $checked of $((${#paths[@]} / 2)) libraries"
echo "Depends covers all $checked libraries the packaged executables need"
for want in libzmq5 libconfig9 libportaudio2 libjack libliquid libfftw3-single3 libsndfile1 libjansson4 libsystemd0; do
    [[ $names == *" $want"* ]] || fail "Depends lacks $want"
done

dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/genred/genred.conf ||
    fail "/etc/genred/genred.conf is not a conffile"
files=(usr/bin/genred etc/genred/genred.conf usr/lib/systemd/system/genred.service
    usr/lib/systemd/system/genred@.service usr/lib/systemd/user/genred.service
    usr/lib/systemd/user/genre-web.service
    usr/lib/sysusers.d/genred.conf usr/share/man/man8/genred.8 usr/share/man/man1/genre-train.1
    usr/share/man/man1/genre-classify.1 usr/share/man/man1/genre-eval.1
    usr/share/man/man1/genre-sub.1 usr/share/man/man1/genre-web.1
    usr/bin/genre-hub usr/share/man/man8/genre-hub.8
    usr/bin/genre-train usr/bin/genre-model-info usr/share/genred/default.gmdl
    usr/share/doc/genred/copyright)
# genre-queue and genre-replay are built only with libnats (GENRED_WITH_NATS;
# the arm64 cross build has none), their pages installed only with them.
if grep -qx 'GENRED_WITH_NATS:BOOL=ON' "$build/CMakeCache.txt"; then
    files+=(usr/bin/genre-queue usr/bin/genre-replay usr/share/man/man1/genre-queue.1
        usr/share/man/man1/genre-replay.1)
fi
# genre-bridge with liblo and libmosquitto (GENRED_WITH_BRIDGE).
if grep -qx 'GENRED_WITH_BRIDGE:BOOL=ON' "$build/CMakeCache.txt"; then
    files+=(usr/bin/genre-bridge usr/share/man/man1/genre-bridge.1
        usr/lib/systemd/user/genre-bridge.service)
    for want in liblo7 libmosquitto1; do
        [[ $names == *" $want"* ]] || fail "Depends lacks $want (genre-bridge)"
    done
fi
for f in "${files[@]}"; do
    [ -e "$root/$f" ] || fail "package lacks /$f"
done

version=$("${run[@]}" "$root/usr/bin/genred" --version) || fail "genred --version from the package"
echo "genred --version: $version"
[[ $version == *"$(dpkg-deb -f "$deb" Version)"* ]] ||
    fail "genred --version does not report the package version $(dpkg-deb -f "$deb" Version)"
"${run[@]}" "$root/usr/bin/genred" --check-config --config "$root/etc/genred/genred.conf" ||
    fail "genred --check-config on the packaged config"
echo "packaged genred.conf passes --check-config"
"${run[@]}" "$root/usr/bin/genre-model-info" "$root/usr/share/genred/default.gmdl" >/dev/null ||
    fail "packaged genre-model-info cannot read the packaged default.gmdl"
if [ ${#run[@]} -gt 0 ]; then
    # No arm64 system to boot here: ask apt whether the package's Depends
    # resolve against the arm64 archive, as they would on a Raspberry Pi.
    apt-get -s install "$deb" >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log"; fail "apt-get -s install"; }
    echo "apt-get -s install: $(grep -c '^Inst ' "$tmp/apt.log") package(s) to install, Depends resolved"
fi
mkdir -p "$build/tests/deploy"
cp "$deb" "$build/tests/deploy/genred.deb"
