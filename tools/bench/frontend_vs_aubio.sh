#!/usr/bin/env bash
# frontend_vs_aubio.sh [BUILD_DIR] [SECONDS] [RUNS]: times genre-features
# (decode + mix + resample 44.1 -> 22.05 kHz + MFCC + print) against
# `aubiomfcc -B 2048 -H 512` (decode + MFCC at 44.1 kHz + print) on the same
# synthetic 44.1 kHz stereo WAV, alternating the two, and prints the medians
# of wall and CPU (user + sys) time and our/aubio ratios. Needs aubio-tools.
# A benchmark, not a test: on a busy machine trust the CPU figures.
set -euo pipefail
build=${1:-build} seconds=${2:-600} runs=${3:-5}
command -v aubiomfcc >/dev/null || { echo "frontend_vs_aubio: aubiomfcc not found (apt-get install aubio-tools)" >&2; exit 2; }
for p in genre-features bench_frontend; do
    [ -x "$build/bin/$p" ] || { echo "frontend_vs_aubio: $build/bin/$p missing; build first" >&2; exit 2; }
done
wav=$(mktemp /tmp/genred-bench-XXXXXX.wav)
trap 'rm -f "$wav"' EXIT
"$build/bin/bench_frontend" --wav "$wav" "$seconds"

TIMEFORMAT='%R %U %S'
measure() { { time "$@" >/dev/null 2>&1; } 2>&1; }
ours_wall=() ours_cpu=() aubio_wall=() aubio_cpu=()
for ((i = 0; i < runs; i++)); do
    read -r w u s < <(measure aubiomfcc -B 2048 -H 512 -i "$wav")
    aubio_wall+=("$w") aubio_cpu+=("$(echo "$u + $s" | bc)")
    read -r w u s < <(measure "$build/bin/genre-features" "$wav")
    ours_wall+=("$w") ours_cpu+=("$(echo "$u + $s" | bc)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ow=$(median "${ours_wall[@]}") oc=$(median "${ours_cpu[@]}")
aw=$(median "${aubio_wall[@]}") ac=$(median "${aubio_cpu[@]}")
echo "$seconds s of 44.1 kHz stereo, $runs alternating runs, medians:"
printf '  genre-features: wall %6.2f s  cpu %6.2f s\n' "$ow" "$oc"
printf '  aubiomfcc:      wall %6.2f s  cpu %6.2f s\n' "$aw" "$ac"
printf '  ours / aubio:   wall %6.2fx   cpu %6.2fx\n' "$(echo "$ow / $aw" | bc -l)" "$(echo "$oc / $ac" | bc -l)"
