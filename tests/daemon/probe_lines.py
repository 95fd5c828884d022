"""Parses input_probe's report lines (see tests/daemon/input_probe.c)."""

import threading
import time


class ProbeReader:
    """Collects input_probe lines in the background, timestamped on arrival."""

    def __init__(self, proc, clock):
        self.lines = []
        self.clock = clock
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc):
        for raw in proc.stdout:
            fields = dict(kv.split("=", 1) for kv in raw.decode().split() if "=" in kv)
            for k in ("t", "rate", "rms"):
                fields[k] = float(fields[k])
            for k in ("ch", "gen", "frames", "overruns"):
                fields[k] = int(fields[k])
            fields["ch_rms"] = [float(x) for x in fields.get("ch_rms", "").split(",") if x]
            fields["at"] = self.clock()
            self.lines.append(fields)

    def since(self, t):
        return [l for l in list(self.lines) if l["at"] >= t]

    def wait_for(self, match, timeout, since=0.0, count=1):
        """The count-th line at or after `since` for which match(line) holds,
        as soon as it comes, or None after timeout seconds."""
        end = time.monotonic() + timeout
        while True:
            found = [l for l in self.since(since) if match(l)]
            if len(found) >= count:
                return found[count - 1]
            if time.monotonic() > end:
                return None
            time.sleep(0.05)
