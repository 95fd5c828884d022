#!/usr/bin/env bash
# The manual pages stay true to the programs: each renders without groff
# warnings, and the long options its OPTIONS section documents are exactly
# those the program's --help lists (--help itself aside).
set -euo pipefail
src=${GENRED_SOURCE_DIR:?} bin=${GENRED_BUILD_DIR:?}/bin
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v groff >/dev/null || { echo "SKIP: groff not installed"; exit 77; }

render() { # page
    local warnings
    warnings=$(groff -man -ww -z "$src/$1" 2>&1) || fail "groff failed on $1"
    [ -z "$warnings" ] || fail "$1: groff warnings: $warnings"
}

check() { # program page
    local program=$1 page=$src/$2 help documented
    render "$2"
    help=$("$bin/$program" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    documented=$(sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$page" | sed 's/\\-/-/g; s/\\f[BIRP]//g' |
        grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    [ -n "$help" ] || fail "$program --help lists no options"
    local missing extra
    missing=$(comm -23 <(echo "$help") <(echo "$documented"))
    # --help itself may go unmentioned in the help text.
    extra=$(comm -13 <(echo "$help") <(echo "$documented") | grep -vx -- --help || true)
    [ -z "$missing" ] || fail "$2 lacks options $program --help lists: $(tr '\n' ' ' <<<"$missing")"
    [ -z "$extra" ] || fail "$2 documents options $program --help does not list: $(tr '\n' ' ' <<<"$extra")"
    echo "$2: $(echo "$help" | wc -l) options, all documented; no groff warnings"
}
check genred daemon/genred.8
check genre-train tools/genre-train.1
check genre-classify tools/genre-classify.1
check genre-eval tools/genre-eval.1
check genre-sub tools/genre-sub.1
check genre-web tools/genre-web.1
check genre-hub tools/fleet/genre-hub.8
# Built only with libnats (GENRED_WITH_NATS) or liblo and libmosquitto
# (GENRED_WITH_BRIDGE); their pages are installed only with them, but must
# render either way.
for page in tools/fleet/genre-queue.1 tools/fleet/genre-replay.1 tools/genre-bridge.1; do
    program=$(basename "$page" .1)
    if [ -x "$bin/$program" ]; then
        check "$program" "$page"
    else
        render "$page"
        echo "$page: no groff warnings; $program not built, options not compared"
    fi
done
