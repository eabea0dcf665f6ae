#!/usr/bin/env python3
"""One BGP/BFD failover measurement, run from the root namespace.

  bgpfail.py ROUTER_NS CLIENT_NS VIP PORT DEAD_NEXTHOP -- CUT_CMD...

At t0 it runs CUT_CMD (which cuts one node off), then measures, on the
monotonic clock every namespace shares:
  route_ms  until the router's kernel route for VIP no longer names
            DEAD_NEXTHOP (polled with `ip -n ROUTER_NS route show VIP`);
  conn_ms   until a batch of --batch new TCP connections from CLIENT_NS
            (fresh source ports, so the router's L4 hash sends them to
            both nodes while the dead one is still routed) all complete an
            HTTP GET within --conn-timeout each.
Prints one JSON object; exit 1 if either did not happen within --limit s.
"""
import argparse
import ctypes
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time

CLONE_NEWNET = 0x40000000


def setns(name):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), "setns " + name)
    finally:
        os.close(fd)


def route_gone(ns, vip, dead):
    out = subprocess.run(["ip", "-n", ns, "-4", "route", "show", vip],
                         capture_output=True, text=True, timeout=5).stdout
    return ("via %s " % dead) not in out + " ", out


def batch(vip, port, n, timeout):
    """n parallel connections, each GET / within timeout: all ok?"""
    socks, done = [], 0
    deadline = time.monotonic() + timeout
    req = ("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % vip).encode()
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((vip, port))
            socks.append(s)
        state = {s: b"" for s in socks}
        pending_w = set(socks)
        pending_r = set()
        while pending_w or pending_r:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, w, _ = select.select(list(pending_r), list(pending_w), [], left)
            for s in w:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    return False
                s.send(req)
                pending_w.discard(s)
                pending_r.add(s)
            for s in r:
                d = s.recv(4096)
                state[s] += d
                if not d or b"pod=" in state[s]:
                    pending_r.discard(s)
                    if b"pod=" not in state[s]:
                        return False
                    done += 1
        return done == n
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("router_ns")
    ap.add_argument("client_ns")
    ap.add_argument("vip")
    ap.add_argument("port", type=int)
    ap.add_argument("dead")
    ap.add_argument("cut", nargs=argparse.REMAINDER)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--conn-timeout", type=float, default=0.3)
    ap.add_argument("--limit", type=float, default=15)
    a = ap.parse_args()
    cut = a.cut[1:] if a.cut[:1] == ["--"] else a.cut
    res = {"route_ms": None, "conn_ms": None, "batches": 0}

    def client():
        setns(a.client_ns)
        while time.monotonic() - t0 < a.limit:
            res["batches"] += 1
            if batch(a.vip, a.port, a.batch, a.conn_timeout):
                res["conn_ms"] = round((time.monotonic() - t0) * 1000)
                return

    t0 = time.monotonic()
    subprocess.run(cut, check=True, timeout=10)
    th = threading.Thread(target=client)
    th.start()
    last = ""
    while time.monotonic() - t0 < a.limit:
        gone, last = route_gone(a.router_ns, a.vip, a.dead)
        if gone:
            res["route_ms"] = round((time.monotonic() - t0) * 1000)
            break
        time.sleep(0.005)
    th.join()
    res["route_after"] = " ".join(last.split())
    print(json.dumps(res))
    return 0 if res["route_ms"] is not None and res["conn_ms"] is not None else 1


if __name__ == "__main__":
    sys.exit(main())
