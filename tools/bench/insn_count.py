#!/usr/bin/python3
"""tools/bench/insn_count.py: instructions genred executes per second of audio,
arm64 against x86-64, counted the same way for both builds (issue 19).

Both builds run under qemu-user (qemu-aarch64-static and qemu-x86_64-static)
with -d in_asm,exec,nochain: in_asm lists the guest instructions of each
translation block once, exec logs every execution of a block (nochain: no
block jumps straight into the next unlogged), so the sum over executions of
their blocks' lengths is the number of instructions executed. Debian's qemu
has no plugin support (no libinsn); on genre-model-info this count is within
0.1 % of singlestepping (one log line per instruction), 6 times faster.
genred classifies a 48 kHz mono clip (a USB microphone's format; the model
runs at 22.05 kHz, so the resampler is included) with the built-in model at
the default 0.5 s hop, played once and then N+1 times (--loop): the
difference is N clip lengths of steady state, without start-up, model
loading and the first window's fill. On x86-64 valgrind --tool=callgrind
counts the same two runs independently, as a check of the method.

  tools/bench/insn_count.py [--x86 build] [--arm64 build-arm64] [--loops N] [--portable]
  tools/bench/insn_count.py --profile     (arm64 instructions per function instead)

--portable also counts both with GENRED_NO_SIMD=1 (the portable int8 GRU).
Prints one line per configuration:
  ARCH PATH INSTRUCTIONS_PER_AUDIO_SECOND [callgrind: N]
and a closing estimate of a Raspberry Pi 4 core's share, stated as one.
"""
import argparse
import bisect
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import wave

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RATE = 48000
# Raspberry Pi 4 (BCM2711): Cortex-A72 at 1.5 GHz (1.8 GHz on later boards).
# Instructions per cycle are an assumption, not a measurement: 1 for this
# mix of NEON, scalar float and library code, with 0.7..1.5 as the range.
PI4_HZ = 1.5e9
PI4_IPC = (0.7, 1.0, 1.5)


def make_clip(path):
    """tests/data/music_excerpt.wav (22.05 kHz mono) linearly interpolated
    to 48 kHz: the content only has to be music-like."""
    import numpy as np
    with wave.open(os.path.join(ROOT, "tests", "data", "music_excerpt.wav")) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    t = np.arange(int(len(x) * RATE / rate)) * (rate / RATE)
    y = np.clip(np.round(np.interp(t, np.arange(len(x)), x)), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(y.tobytes())
    return len(y) / RATE


def genred_args(build, clip, plays, tmp):
    return [os.path.join(build, "bin", "genred"), "--input", "file:" + clip,
            "--loop=%d" % plays, "--publish", "ipc://%s/insn.ipc" % tmp, "--log-level", "error"]


def count_instructions(fifo, out, per_block=None):
    """Reads qemu's log: "IN:" starts a block, each "0xPC:  ..." line is one of
    its instructions (the first one's PC names the block), and each
    "Trace N: HOST [FLAGS/PC/...]" is one execution of block PC. per_block,
    a dict, gets each block's instructions executed, by PC."""
    size, pc, total = {}, None, 0
    with open(fifo, "rb") as f:
        for line in f:
            if line.startswith(b"Trace "):
                block = line.split(b"/", 2)[1]
                total += size[block]
                if per_block is not None:
                    per_block[block] = per_block.get(block, 0) + size[block]
            elif line.startswith(b"IN:"):
                pc = None
            elif line.startswith(b"0x"):
                if pc is None:
                    pc = line.split(b":", 1)[0][2:].rjust(16, b"0")
                    size[pc] = 0
                size[pc] += 1
    out.append(total)


def qemu_count(qemu, cpu, argv, env, tmp, per_block=None):
    """Guest instructions of one run under qemu-user (per_block: see
    count_instructions)."""
    fifo = os.path.join(tmp, "log.fifo")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=count_instructions, args=(fifo, got, per_block))
    reader.start()
    r = subprocess.run([qemu] + cpu + ["-d", "in_asm,exec,nochain", "-D", fifo] + argv,
                       env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    reader.join()
    if r.returncode != 0:
        sys.exit("insn_count: %s exited %d: %s" % (argv[0], r.returncode, r.stderr[-300:]))
    return got[0]


def callgrind_count(argv, env, tmp):
    out = os.path.join(tmp, "callgrind.out")
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + argv,
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("insn_count: callgrind exited %d: %s" % (r.returncode, r.stderr[-300:]))
    for line in r.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1].replace(",", ""))
    sys.exit("insn_count: no 'Collected' line from callgrind")


def per_second(count, build, clip, seconds, loops, env, tmp):
    """Instructions per second of audio: (N+1 plays - 1 play) / N clips."""
    one = count(genred_args(build, clip, 1, tmp), env, tmp)
    more = count(genred_args(build, clip, loops + 1, tmp), env, tmp)
    return (more - one) / (loops * seconds)


# Where qemu-user maps a position-independent aarch64 executable (its
# default guest base); the shared libraries come after it.
QEMU_AARCH64_PIE_BASE = 0x5500000000


def profile_arm64(build, clip, plays, tmp, rows=15):
    """Instructions per function of the arm64 genred, from the same log: each
    block's PC against the executable's symbols (aarch64-linux-gnu-nm);
    what lies past them is the shared libraries (FFTW, libm, libc, ...)."""
    exe = os.path.join(build, "bin", "genred")
    nm = subprocess.run(["aarch64-linux-gnu-nm", "-n", "--defined-only", exe],
                        capture_output=True, text=True, check=True).stdout
    syms = [(int(f[0], 16), f[2]) for f in (l.split() for l in nm.splitlines())
            if len(f) == 3 and f[1] in "tTwW"]
    end = max(a for a, _ in syms)
    per_block, by_name = {}, {}
    qemu_count("qemu-aarch64-static", [], genred_args(build, clip, plays, tmp), dict(os.environ),
               tmp, per_block)
    for pc, n in per_block.items():
        off = int(pc, 16) - QEMU_AARCH64_PIE_BASE
        i = bisect.bisect_right(syms, (off, "\uffff")) - 1
        name = syms[i][1] if 0 <= off <= end + 0x10000 and i >= 0 else "(shared libraries)"
        by_name[name] = by_name.get(name, 0) + n
    total = sum(by_name.values())
    print("# arm64 genred, %d plays of the clip: guest instructions per function" % plays)
    for name, n in sorted(by_name.items(), key=lambda kv: -kv[1])[:rows]:
        print("%6.2f %% %12d %s" % (100.0 * n / total, n, name))
    print("# total %d" % total)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--x86", default=os.path.join(ROOT, "build"))
    p.add_argument("--arm64", default=os.path.join(ROOT, "build-arm64"))
    p.add_argument("--loops", type=int, default=1, help="extra plays of the clip counted (1)")
    p.add_argument("--portable", action="store_true")
    p.add_argument("--profile", action="store_true",
                   help="instead: arm64 instructions per function, 3 plays of the clip")
    a = p.parse_args()
    builds = {"x86-64": (a.x86, "qemu-x86_64-static"), "arm64": (a.arm64, "qemu-aarch64-static")}
    # -cpu max: qemu's default x86 model has no AVX2, which genred would then skip.
    cpu = {"x86-64": ["-cpu", "max"], "arm64": []}
    for arch, (build, qemu) in builds.items():
        if not os.path.exists(os.path.join(build, "bin", "genred")):
            sys.exit("insn_count: no %s genred in %s (tools/dev build %s)" % (
                arch, build, "arm64" if arch == "arm64" else "release"))
        if not shutil.which(qemu):
            sys.exit("insn_count: %s missing (tools/dev deps installs qemu-user-static)" % qemu)
    tmp = tempfile.mkdtemp(prefix="genred-insn-")
    try:
        clip = os.path.join(tmp, "clip48k.wav")
        seconds = make_clip(clip)
        if a.profile:
            profile_arm64(a.arm64, clip, 3, tmp)
            return
        print("# instructions per second of audio: genred, built-in model, hop 0.5 s, "
              "%.1f s clip at 48 kHz mono, (%d+1 plays - 1 play) / %d" % (seconds, a.loops,
                                                                          a.loops))
        paths = [("simd", {})] + ([("portable", {"GENRED_NO_SIMD": "1"})] if a.portable else [])
        result = {}
        for arch, (build, qemu) in builds.items():
            for name, extra in paths:
                env = {k: v for k, v in os.environ.items() if k != "GENRED_NO_SIMD"}
                env.update(extra)
                ips = per_second(lambda argv, e, t: qemu_count(qemu, cpu[arch], argv, e, t), build,
                                 clip, seconds, a.loops, env, tmp)
                result[(arch, name)] = ips
                line = "%s %s %.0f" % (arch, name, ips)
                if arch == "x86-64" and shutil.which("valgrind"):
                    cg = per_second(callgrind_count, build, clip, seconds, a.loops, env, tmp)
                    line += " callgrind: %.0f" % cg
                print(line, flush=True)
        x86, arm = result[("x86-64", "simd")], result[("arm64", "simd")]
        low, mid, high = (arm / (ipc * PI4_HZ) * 100 for ipc in PI4_IPC)
        print("# arm64/x86-64: %.2f. Estimate, not a measurement: on a Raspberry Pi 4 core "
              "(Cortex-A72, 1.5 GHz) at an assumed 1 instruction per cycle genred needs "
              "%.1f %% of one core (%.1f-%.1f %% for 1.5-0.7 IPC)" % (arm / x86, mid, high, low))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
