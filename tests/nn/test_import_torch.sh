#!/bin/sh
# genre-import-torch end to end: a random PyTorch GRU becomes a model file
# that genre-model-info reads back with the right shapes, labels, front-end
# flags and normalisation; bad input gives one clear line. Skipped (77)
# where Debian's python3-torch is missing, as in CI.
set -u
BIN=$GENRED_BUILD_DIR/bin
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "no python3-torch: skipped"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

/usr/bin/python3 - "$T" <<'PY' || fail "making the state dict"
import sys, torch
torch.manual_seed(7)
gru, fc = torch.nn.GRU(20, 24, 2, batch_first=True), torch.nn.Linear(24, 3)
sd = {"gru." + k: v for k, v in gru.state_dict().items()}
sd.update({"fc." + k: v for k, v in fc.state_dict().items()})
torch.save(sd, sys.argv[1] + "/sd.pt")
del sd["fc.bias"]
torch.save(sd, sys.argv[1] + "/nofc.pt")
PY
seq 1 20 | tr '\n' ' ' >"$T/mean.txt"
seq 1 20 | tr '\n' ',' >"$T/std.txt"

"$BIN/genre-import-torch" "$T/sd.pt" --labels rock,jazz,fado --out "$T/m.gmdl" --quantize \
    --pool mean --name unit --n-coeffs 20 --n-mels 40 --sample-rate 16000 --mean "$T/mean.txt" \
    --std "$T/std.txt" || fail "import"
info=$("$BIN/genre-model-info" "$T/m.gmdl") || fail "model-info: $info"
for want in "labels:    3: rock, jazz, fado" "16000 Hz, n_fft 2048, hop 512, 40 mels, 20 coefficients, 0..8000 Hz" \
    "layer 0:   GRU 20 -> 24, int8" "layer 1:   GRU 24 -> 24, int8" "pool:      mean over time" \
    "normalise: mean/std over 20 inputs" "id:        unit 20"; do
    echo "$info" | grep -qF "$want" || fail "model-info lacks '$want' in: $info"
done

err=$("$BIN/genre-import-torch" "$T/nofc.pt" --labels a,b,c --out "$T/x.gmdl" 2>&1) &&
    fail "accepted a state dict without fc.bias"
echo "$err" | grep -q "no fc.weight/fc.bias" || fail "unclear error: $err"
err=$("$BIN/genre-import-torch" "$T/sd.pt" --labels a,b --out "$T/x.gmdl" --n-coeffs 20 2>&1) &&
    fail "accepted 2 labels for a 3-way fc"
echo "$err" | grep -q "fc: weight" || fail "unclear error: $err"
[ ! -e "$T/x.gmdl" ] || fail "wrote a file despite the error"
echo "ok"
