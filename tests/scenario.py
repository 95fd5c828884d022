"""scenario: what every Python test script here shares: the list of failed
checks, check(), and main(), which runs the one scenario named on the
command line (each scenario is its own ctest, registered by
genred_py_scenarios in tests/CMakeLists.txt) and exits 1 if a check failed.

    from scenario import check, main
    def test_something(): check(1 + 1 == 2, "sums")
    if __name__ == "__main__": main(globals(), cleanup=[TMP])
"""
import os
import shutil
import sys

failures = []


def load_factor():
    """How many times slower than an idle machine this one may be now: the
    last minute's load per core, at least 1. A limit on how long something
    takes (a prompt stop) is multiplied by it, so that beside a CPU hog
    (tools/dev test-busy) it still tells a slow machine from a slow
    program."""
    return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr, flush=True)
    return cond


def main(namespace, prefix="test_", cleanup=(), call=None):
    """Runs the function namespace[prefix + sys.argv[1]]: directly, or as
    call(function) when the scenarios share a set-up. Removes the cleanup
    folders whatever happens, and exits 1 when any check failed."""
    scenarios = {n[len(prefix):]: f for n, f in namespace.items()
                 if n.startswith(prefix) and callable(f)}
    script = namespace.get("__file__", sys.argv[0]).rsplit("/", 1)[-1]
    if len(sys.argv) != 2 or sys.argv[1] not in scenarios:
        sys.exit("usage: %s {%s}" % (script, ",".join(sorted(scenarios))))
    name = sys.argv[1]
    try:
        if call:
            call(scenarios[name])
        else:
            scenarios[name]()
    finally:
        for folder in cleanup:
            shutil.rmtree(folder, ignore_errors=True)
    if failures:
        print("%s: %d check(s) failed" % (name, len(failures)), file=sys.stderr)
        sys.exit(1)
    print("%s: ok" % name)
