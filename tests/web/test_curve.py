#!/usr/bin/python3
"""genre-web and genre-sub as CURVE clients of genred (genred refuses plain
text off this machine): keys from `genred --gen-keys`, with and without
genred's allow-list; wrong or missing keys get nothing, and one log line
that says why (issue 27 minor 14); bad key files, a group-writable server
key among them as genre-hub refuses it (minor 15), are one-line errors with
exit 2. Runs the real genred; skipped where it is not built."""
import os
import subprocess
import sys
import time
import urllib.parse

import zmq

import webtest
from test_sse import Reader
from webtest import GENRE_WEB, check

GENRED = os.path.join(webtest.BUILD, "bin", "genred")
GENRE_SUB = os.path.join(webtest.BUILD, "bin", "genre-sub")
CLIP = os.path.join(webtest.HERE, "..", "data", "music_excerpt.wav")


def gen_keys(directory):
    subprocess.run([GENRED, "--gen-keys", directory], check=True, capture_output=True)
    return os.path.join(directory, "curve.pub"), os.path.join(directory, "curve.key")


def public_key(path):
    return next(line.strip() for line in open(path) if line.strip() and line[0] != "#")


def bad_key_files(tmp, server_pub):
    loose = os.path.join(tmp, "loose.key")
    with open(loose, "w") as f:
        f.write(open(os.path.join(tmp, "client", "curve.key")).read())
    os.chmod(loose, 0o644)
    junk = os.path.join(tmp, "junk.pub")
    with open(junk, "w") as f:
        f.write("# not a key\nhello\n")
    # Anyone could swap a world-writable server key for their own.
    writable = os.path.join(tmp, "writable.pub")
    with open(writable, "w") as f:
        f.write(open(server_pub).read())
    os.chmod(writable, 0o666)
    for args, mention in ((["--server-key", junk], "junk.pub"),
                          (["--server-key", os.path.join(tmp, "none.pub")], "none.pub"),
                          (["--server-key", server_pub, "--client-key", loose], "chmod 600"),
                          (["--server-key", writable], "writable by group or others"),
                          (["--client-key", loose], "--server-key")):
        for tool, extra in ((GENRE_WEB, ["--listen", "127.0.0.1:0"]), (GENRE_SUB, [])):
            r = subprocess.run([tool, *extra, *args], capture_output=True, text=True,
                               timeout=10)
            lines = r.stderr.strip().splitlines()
            check(r.returncode == 2 and len(lines) == 1 and mention in lines[0],
                  f"{os.path.basename(tool)} {' '.join(a.replace(tmp, '') for a in args)} "
                  f"-> exit 2: {r.stderr.strip()!r}")


def subscribe(procs, endpoint, *key_args):
    web, url = webtest.start_genre_web(procs, "--endpoint", endpoint, *key_args)
    u = urllib.parse.urlsplit(url)
    reader = Reader(u.hostname, u.port)
    reader.web = web
    reader.start()
    return reader


def handshake_lines(text, endpoint):
    return [line for line in text.splitlines()
            if endpoint in line and ("handshake" in line or "refused our CURVE key" in line)]


def check_why(what, stderr, endpoint, why):
    lines = handshake_lines(stderr, endpoint)
    check(len(lines) == 1 and why in lines[0],
          f"with {what}: one line says why ({why!r}): {lines}")


def probs(reader):
    return [d for _, name, d in reader.events if name == "genre.probs"]


def run_genred(procs, tmp, name, secret, allow=""):
    conf = os.path.join(tmp, f"{name}.conf")
    with open(conf, "w") as f:
        f.write(f'curve_secret_key = "{secret}";\ncurve_allow = "{allow}";\n')
    endpoint = f"ipc://{tmp}/{name}.ipc"
    procs.start([GENRED, "--config", conf, "--input", f"file:{CLIP}", "--realtime", "--loop",
                 "--name", name, "--publish", endpoint])
    return endpoint


def main():
    if not os.path.exists(GENRED):
        print("SKIP: genred is not built", flush=True)
        sys.exit(webtest.SKIP)
    with webtest.Processes() as procs:
        tmp = procs.tmp
        server_pub, server_key = gen_keys(os.path.join(tmp, "server"))
        other_pub, _ = gen_keys(os.path.join(tmp, "other"))
        client_pub, client_key = gen_keys(os.path.join(tmp, "client"))
        bad_key_files(tmp, server_pub)

        allow = os.path.join(tmp, "allow")
        with open(allow, "w") as f:
            f.write(public_key(client_pub) + "\n")
        open_ep = run_genred(procs, tmp, "open", server_key)
        listed_ep = run_genred(procs, tmp, "listed", server_key, allow)
        # All at once, so the negative cases cost no extra time.
        cases = {
            "the server key": (open_ep, ["--server-key", server_pub], True),
            "no key": (open_ep, [], False),
            "another server's key": (open_ep, ["--server-key", other_pub], False),
            "an allowed client key": (listed_ep, ["--server-key", server_pub,
                                                  "--client-key", client_key], True),
            "a key not on the allow-list": (listed_ep, ["--server-key", server_pub], False),
        }
        plain_ep = f"ipc://{tmp}/plain.ipc"
        plain = zmq.Context().socket(zmq.XPUB)
        plain.setsockopt(zmq.LINGER, 0)
        plain.bind(plain_ep)
        cases["a server key for a plain-text publisher"] = (plain_ep, ["--server-key", server_pub],
                                                            False)
        readers = {what: subscribe(procs, ep, *args) for what, (ep, args, _) in cases.items()}
        # genred needs a 3 s window before its first message.
        webtest.wait_for(lambda: all(len(probs(readers[w])) >= 2
                                     for w, (_, _, ok) in cases.items() if ok), 15)
        time.sleep(1)
        for what, (_, _, ok) in cases.items():
            n = len(probs(readers[what]))
            check((n >= 2) if ok else (n == 0),
                  f"with {what}: {'messages arrive' if ok else 'nothing arrives'} ({n})")
            readers[what].stop = True
        # libzmq has retried every handshake many times by now.
        logs = {}
        for what, r in readers.items():
            r.web.terminate()
            logs[what] = r.web.communicate(timeout=10)[1]
        why = {"no key": "requires CURVE; give its public key (curve.pub) with --server-key",
               "another server's key": "--server-key is not its public key",
               "a key not on the allow-list": "refused our CURVE key (ZAP status 400)",
               "a server key for a plain-text publisher": "does not use CURVE"}
        for what, (ep, _, ok) in cases.items():
            if ok:
                check(not handshake_lines(logs[what], ep), f"with {what}: no handshake complaint")
            else:
                check_why(what, logs[what], ep, why[what])
        genre_sub(tmp, open_ep, server_pub, other_pub)
        plain.close()
    webtest.finish()


def genre_sub(tmp, endpoint, server_pub, other_pub):
    """genre-sub with the right key prints messages; with another server's
    key it says why nothing comes."""
    good = subprocess.run([GENRE_SUB, "--json", "--count", "1", "--timeout", "15",
                           "--server-key", server_pub, endpoint, "genre.probs"],
                          capture_output=True, text=True, timeout=30)
    check(good.returncode == 0 and '"topic":"genre.probs"' in good.stdout,
          f"genre-sub --server-key receives: {good.stderr.strip()!r}")
    bad = subprocess.run([GENRE_SUB, "--timeout", "3", "--server-key", other_pub, endpoint],
                         capture_output=True, text=True, timeout=30)
    check(bad.returncode == 1, "genre-sub with another server's key times out")
    check_why("genre-sub and another server's key", bad.stderr, endpoint,
              "--server-key is not its public key")


if __name__ == "__main__":
    main()
