#!/bin/bash
# Runs inside the test container as a oneshot unit (see boot.sh); every
# finding is a "RESULT ..." line in /results/inside.log.
exec >/results/inside.log 2>&1
result() { echo "RESULT $*"; }
set -x

dpkg -i /results/genred.deb && result "installed: ok"
result "user: $(getent passwd genred | cut -d: -f1)"
install -m 0644 /results/test.wav /srv/test.wav
cat >/etc/genred/genred.conf <<'CONF'
input = "file:/srv/test.wav";
realtime = true;
loop = true;
publish = "tcp://127.0.0.1:5556";
status_interval = 1.0;
CONF
# A short watchdog, so a few seconds prove genred keeps feeding it.
mkdir -p /etc/systemd/system/genred.service.d
printf '[Service]\nWatchdogSec=2s\n' >/etc/systemd/system/genred.service.d/test.conf
systemctl daemon-reload

timeout 30 systemctl start genred.service && result "start: ok"
result "active: $(systemctl is-active genred.service)"
receive() { # port: one genre.probs within 5 s
    /usr/bin/python3 - "$1" <<'PY'
import sys, zmq
s = zmq.Context().socket(zmq.SUB)
s.setsockopt(zmq.SUBSCRIBE, b"genre.probs")
s.setsockopt(zmq.RCVTIMEO, 5000)
s.connect("tcp://127.0.0.1:" + sys.argv[1])
topic, body = s.recv_multipart()
print(topic, body[:200])
PY
}
receive 5556 && result "received: genre.probs"
pid=$(systemctl show -P MainPID genred.service)
sleep 3
result "watchdog restarts: $(systemctl show -P NRestarts genred.service)"
timeout 30 systemctl reload genred.service && result "reload: ok"
cp /etc/genred/genred.conf /root/good.conf
echo 'hop = "not a number";' >>/etc/genred/genred.conf
timeout 30 systemctl reload genred.service || result "bad reload refused: yes"
cp /root/good.conf /etc/genred/genred.conf
sleep 1
[ "$(systemctl show -P MainPID genred.service)" = "$pid" ] &&
    [ "$(systemctl is-active genred.service)" = active ] && result "still running after reloads: yes"
# A template instance beside it, with its own config and runtime directory.
sed 's/5556/5557/' /etc/genred/genred.conf >/etc/genred/radio1.conf
timeout 30 systemctl start genred@radio1.service && result "instance start: ok"
receive 5557 && result "instance received: genre.probs"
[ -d /run/genred/radio1 ] && result "instance runtime directory: yes"
timeout 30 systemctl stop genred@radio1.service
[ "$(systemctl is-active genred.service)" = active ] && result "main unaffected: yes"
# README's recipe for trying genred as a transient unit (there --user; the
# same properties here): ready once audio flows, and it publishes.
timeout 30 systemd-run --unit=genred-try -p Type=notify -p WatchdogSec=10s /usr/bin/genred \
    --input file:/srv/test.wav --realtime --loop --publish tcp://127.0.0.1:5558 &&
    result "transient start: ok"
receive 5558 && result "transient received: genre.probs"
timeout 30 systemctl stop genred-try.service
result "exposure: $(systemd-analyze security genred.service | sed -n 's/.*Overall exposure level for [^:]*: //p')"
timeout 30 systemctl stop genred.service && result "stop: ok"
result "result: $(systemctl show -P Result genred.service)"
journalctl -u genred.service --no-pager | tail -40
systemctl status genred.service --no-pager | head -5
