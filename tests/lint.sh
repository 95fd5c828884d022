#!/usr/bin/env bash
# The project's scripts through their linters, as part of the suite:
#   tests/lint.sh shellcheck   every tracked shell script (by .sh or a sh/bash #!)
#   tests/lint.sh pyflakes     every tracked Python script (by .py or a python #!)
# Exit 0 when clean, 1 with the findings, 77 (skip) without the linter.
set -euo pipefail
cd "$(dirname "$0")/.."
tool=${1:?usage: tests/lint.sh shellcheck|pyflakes}
case $tool in
shellcheck) ext='\.sh$' shebang='^#!.*[/ ](ba|da)?sh$' cmd=(shellcheck -f gcc) ;;
pyflakes) ext='\.py$' shebang='^#!.*python3?$' cmd=(pyflakes3) ;;
*) echo "lint: unknown linter '$tool'" >&2; exit 2 ;;
esac
command -v "${cmd[0]}" >/dev/null || { echo "SKIP: ${cmd[0]} is not installed"; exit 77; }
files=()
# The first line read by the shell itself: a process or two per tracked file
# cost the suite seconds of CPU.
while IFS= read -r f; do
    [ -f "$f" ] || continue
    first=
    [[ $f =~ $ext ]] || IFS= read -r first <"$f" 2>/dev/null || true
    if [[ $f =~ $ext || $first =~ $shebang ]]; then files+=("$f"); fi
done < <(git ls-files)
echo "lint: ${cmd[0]} on ${#files[@]} files"
"${cmd[@]}" "${files[@]}"
