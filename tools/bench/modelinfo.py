"""modelinfo: a model's sizes (the shipped one by default), read from genre-model-info's text,
for the benchmark scripts (the PyTorch side must run the same network)."""
import re
import subprocess


def model_sizes(info_bin, model=None):
    """Front-end and network sizes from genre-model-info's text, of `model`
    (a .gmdl file) or of the built-in model."""
    out = subprocess.run([info_bin] + ([model] if model else []), capture_output=True, text=True,
                         check=True).stdout
    fe = re.search(r"front-end:\s+(\d+) Hz, n_fft (\d+), hop (\d+), (\d+) mels, (\d+) coeff"
                   r"icients, ([\d.]+)\.\.([\d.]+) Hz", out)
    win = re.search(r"window:\s+[\d.]+ s = (\d+) frames", out)
    layers = re.findall(r"layer \d+:\s+GRU (\d+) -> (\d+)", out)
    pool = re.search(r"pool:\s+(\w+)", out)
    dense = re.search(r"dense:\s+(\d+) -> (\d+)", out)
    deltas = re.search(r"deltas:\s+(yes|no)", out)
    if not (fe and win and layers and pool and dense):
        raise SystemExit("modelinfo: cannot read genre-model-info output:\n" + out)
    return {"rate": int(fe.group(1)), "n_fft": int(fe.group(2)), "hop": int(fe.group(3)),
            "n_mels": int(fe.group(4)), "n_coeffs": int(fe.group(5)),
            "fmin": float(fe.group(6)), "fmax": float(fe.group(7)),
            "frames": int(win.group(1)), "hidden": int(layers[0][1]), "layers": len(layers),
            "pool": pool.group(1), "labels": int(dense.group(2)),
            "deltas": bool(deltas and deltas.group(1) == "yes")}
