#!/usr/bin/env python3
"""e2e load: long-lived TCP connections and steady UDP streams, run inside
the client namespace while the agent is restarted under them.

  loadgen.py DIR --tcp ADDR:PORT:N ... --udp ADDR:PORT ... [--interval S]
             [--udp-rate PPS]

Every TCP connection sends "GET /" on the same connection every --interval
seconds (staggered) and remembers the first answer's "pod=NAME
client=IP:PORT": a later answer naming another Pod or another client
address means the flow was moved (conntrack lost, SNAT port changed), an
error or close means it broke. Each UDP stream (one socket, one 5-tuple)
sends "seq N" at --udp-rate; podserver echoes the sequence number, so lost
datagrams are counted exactly.

DIR/ready appears once every connection has its first answer; DIR/progress
is rewritten about once a second ("answers errors"). Creating DIR/stop
ends the run: UDP stops sending, every TCP connection must answer one last
request, UDP answers get 3 s to drain, and the summary is printed as JSON
on stdout. Any broken connection is reported by its local port and error.
"""
import argparse
import json
import os
import selectors
import socket
import sys
import time

REQ = b"GET / HTTP/1.1\r\nHost: xlb\r\n\r\n"
ANSWER_TIMEOUT = 60.0	# liveness bound only: TCP retransmits ride out stalls


class Conn:
    def __init__(self, target, idx):
        self.target = target
        self.idx = idx
        self.sock = None
        self.lport = 0
        self.first = None	# "pod=... client=..." of the first answer
        self.pending = None	# monotonic time the outstanding request left
        self.buf = b""
        self.answers = 0
        self.error = None
        self.next_at = 0.0
        self.final_sent = False
        self.final_ok = False


def parse_http(buf):
    """(body or None, rest): one complete response off the front of buf."""
    if b"\r\n\r\n" not in buf:
        return None, buf
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 200"):
        raise ConnectionError("bad status %r" % lines[0])
    clen = None
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        if k.strip().lower() == "content-length":
            clen = int(v.strip())
    if clen is None:
        raise ConnectionError("no Content-Length")
    if len(rest) < clen:
        return None, buf
    return rest[:clen].decode().strip(), rest[clen:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--tcp", action="append", default=[])
    ap.add_argument("--udp", action="append", default=[])
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--udp-rate", type=float, default=50.0)
    a = ap.parse_args()

    sel = selectors.DefaultSelector()
    conns = []
    for spec in a.tcp:
        addr, port, n = spec.rsplit(":", 2)
        for i in range(int(n)):
            conns.append(Conn((addr, int(port)), i))
    # Connect one by one: a SYN flood of 200 at once is not what we test.
    for c in conns:
        for attempt in range(5):
            try:
                c.sock = socket.create_connection(c.target, timeout=10)
                break
            except OSError as e:
                if attempt == 4:
                    print("connect %s:%d: %s" % (c.target + (e,)), file=sys.stderr)
                    return 1
                time.sleep(0.5)
        c.sock.setblocking(False)
        c.lport = c.sock.getsockname()[1]
        sel.register(c.sock, selectors.EVENT_READ, c)

    udps = []
    for spec in a.udp:
        addr, port = spec.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((addr, int(port)))
        s.setblocking(False)
        u = {"target": spec, "sock": s, "lport": s.getsockname()[1], "sent": 0,
             "got": set(), "pods": set(), "peers": set(), "dups": 0}
        udps.append(u)
        sel.register(s, selectors.EVENT_READ, u)

    def send_req(c, now):
        try:
            c.sock.send(REQ)
            c.pending = now
        except OSError as e:
            c.error = "send: %s" % e

    def fail(c, why):
        if c.error is None:
            c.error = why
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass

    t0 = time.monotonic()
    for i, c in enumerate(conns):
        c.next_at = t0 + a.interval * i / max(len(conns), 1)
    udp_next = t0
    udp_step = 1.0 / a.udp_rate if a.udp_rate > 0 else None
    ready_written = False
    progress_at = t0
    stopping = None		# monotonic time stop was seen
    final_sent = False
    drain_until = None

    while True:
        now = time.monotonic()
        if stopping is None and os.path.exists(os.path.join(a.dir, "stop")):
            stopping = now
        # TCP: schedule requests; in the final round every live connection
        # sends one more, once its outstanding one is answered.
        for c in conns:
            if c.error:
                continue
            if c.pending is None:
                if stopping is not None:
                    if c.answers > 0 and not c.final_sent:
                        c.final_sent = True
                        send_req(c, now)
                elif now >= c.next_at:
                    c.next_at = now + a.interval
                    send_req(c, now)
            elif now - c.pending > ANSWER_TIMEOUT:
                fail(c, "no answer for %.0f s" % ANSWER_TIMEOUT)
        if stopping is None and udp_step:
            while udp_next <= now:
                for u in udps:
                    try:
                        u["sock"].send(b"seq %d" % u["sent"])
                    except OSError:
                        pass	# counted as lost: no answer comes back
                    u["sent"] += 1
                udp_next += udp_step

        for key, _ in sel.select(timeout=0.01):
            o = key.data
            if isinstance(o, dict):
                while True:
                    try:
                        d = o["sock"].recv(2048)
                    except BlockingIOError:
                        break
                    except OSError:
                        break	# e.g. ICMP unreachable during a test fault
                    txt = d.decode(errors="replace").split()
                    # "pod=NAME client=IP:PORT seq N"
                    if len(txt) >= 4 and txt[2] == "seq":
                        n = int(txt[3])
                        if n in o["got"]:
                            o["dups"] += 1
                        o["got"].add(n)
                        o["pods"].add(txt[0][4:])
                        o["peers"].add(txt[1][7:])
                continue
            c = o
            try:
                d = c.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                fail(c, "recv: %s" % e)
                continue
            if not d:
                fail(c, "closed by peer")
                continue
            c.buf += d
            try:
                body, c.buf = parse_http(c.buf)
            except ConnectionError as e:
                fail(c, str(e))
                continue
            if body is None:
                continue
            c.pending = None
            c.answers += 1
            if c.first is None:
                c.first = body
            elif body != c.first:
                fail(c, "answer moved: first %r, now %r" % (c.first, body))
                continue
            if c.final_sent:
                c.final_ok = True

        now = time.monotonic()
        if not ready_written and all(c.first or c.error for c in conns):
            with open(os.path.join(a.dir, "ready.tmp"), "w") as f:
                f.write("%d\n" % sum(1 for c in conns if c.first and not c.error))
            os.rename(os.path.join(a.dir, "ready.tmp"), os.path.join(a.dir, "ready"))
            ready_written = True
        if now - progress_at >= 1.0:
            progress_at = now
            with open(os.path.join(a.dir, "progress.tmp"), "w") as f:
                f.write("%d %d\n" % (sum(c.answers for c in conns),
                                     sum(1 for c in conns if c.error)))
            os.rename(os.path.join(a.dir, "progress.tmp"), os.path.join(a.dir, "progress"))
        if stopping is not None:
            done = all(c.error or c.final_ok for c in conns)
            if done and drain_until is None:
                drain_until = now + 3.0
            if drain_until is not None and now >= drain_until:
                break
            if now - stopping > ANSWER_TIMEOUT + 5:
                for c in conns:
                    if not c.error and not c.final_ok:
                        c.error = "no final answer"
                break

    pods = {}
    for c in conns:
        if c.first:
            p = c.first.split()[0][4:]
            pods[p] = pods.get(p, 0) + 1
    out = {
        "tcp": {
            "total": len(conns),
            "kept": sum(1 for c in conns if c.final_ok and not c.error),
            "answers": sum(c.answers for c in conns),
            "pods": pods,
            "ports": [c.lport for c in conns],
            "broken": [{"port": c.lport, "target": "%s:%d" % c.target,
                        "first": c.first, "error": c.error}
                       for c in conns if c.error or not c.final_ok],
        },
        "udp": [{"target": u["target"], "port": u["lport"], "sent": u["sent"],
                 "received": len(u["got"]), "lost": u["sent"] - len(u["got"]),
                 "dups": u["dups"], "pods": sorted(u["pods"]),
                 "peers": sorted(u["peers"])} for u in udps],
    }
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
