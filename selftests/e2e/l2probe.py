#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""L2 probe for the end-to-end tests, run inside a client namespace.

  l2probe.py arp IFACE SENDER_IP VIP [-t SECONDS]
      Broadcast one ARP request "who has VIP, tell SENDER_IP" on IFACE and
      print the sender MAC of every ARP reply for VIP that arrives within
      the time (one line each, "reply MAC"), then "replies N".
  l2probe.py watch IFACE VIP [-t SECONDS]
      Print "ready", then "garp MAC" for every gratuitous ARP (sender = target = VIP)
      seen within the time, then "garps N". --first MAC: stop at the first
      one from MAC.
  l2probe.py failover IFACE VIP PORT MAC [-t SECONDS]
      Measure a takeover from inside the client, so that the figure is the
      product's and not the cost of starting tools: print "ready", then wait
      for a gratuitous ARP for VIP from MAC; at once open TCP connections to
      VIP:PORT (retried every 50 ms, each bounded by 0.5 s) until one gets
      an HTTP answer. Prints "garp T" and "served T", T the wall clock in
      ms (CLOCK_REALTIME, comparable with the shell's date +%s%N), or
      "timeout" when the time runs out first.
"""
import argparse
import socket
import struct
import sys
import time

ETH_P_ARP = 0x0806
ETH_P_ALL = 0x0003


def mac_str(b):
    return ":".join("%02x" % x for x in b)


def open_sock(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.settimeout(0.05)
    return s


def parse_arp(frame):
    if len(frame) < 42 or struct.unpack("!H", frame[12:14])[0] != ETH_P_ARP:
        return None
    a = frame[14:42]
    htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", a[:8])
    if htype != 1 or ptype != 0x0800 or hlen != 6 or plen != 4:
        return None
    return op, a[8:14], socket.inet_ntoa(a[14:18]), a[18:24], socket.inet_ntoa(a[24:28])


def arp(args):
    s = open_sock(args.iface)
    mine = open("/sys/class/net/%s/address" % args.iface).read().strip()
    src = bytes(int(x, 16) for x in mine.split(":"))
    req = (b"\xff" * 6 + src + struct.pack("!H", ETH_P_ARP) +
           struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + src +
           socket.inet_aton(args.sender) + b"\x00" * 6 + socket.inet_aton(args.vip))
    s.send(req)
    n = 0
    end = time.monotonic() + args.t
    while time.monotonic() < end:
        try:
            f = s.recv(2048)
        except socket.timeout:
            continue
        p = parse_arp(f)
        if p and p[0] == 2 and p[2] == args.vip:
            print("reply", mac_str(p[1]))
            n += 1
    print("replies", n)


def watch(args):
    s = open_sock(args.iface)
    n = 0
    end = time.monotonic() + args.t
    print("ready", flush=True)
    while time.monotonic() < end:
        try:
            f = s.recv(2048)
        except socket.timeout:
            continue
        p = parse_arp(f)
        if p and p[2] == args.vip and p[4] == args.vip:
            print("garp", mac_str(p[1]), flush=True)
            n += 1
            if args.first and mac_str(p[1]) == args.first.lower():
                break
    print("garps", n)


def served(vip, port):
    try:
        c = socket.create_connection((vip, port), timeout=0.5)
    except OSError:
        return False
    try:
        c.settimeout(0.5)
        c.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        return c.recv(64).startswith(b"HTTP/")
    except OSError:
        return False
    finally:
        c.close()


def failover(args):
    s = open_sock(args.iface)
    want = args.mac.lower()
    end = time.monotonic() + args.t
    print("ready", flush=True)
    garp = None
    while time.monotonic() < end and garp is None:
        try:
            f = s.recv(2048)
        except socket.timeout:
            continue
        p = parse_arp(f)
        if p and p[2] == args.vip and p[4] == args.vip and mac_str(p[1]) == want:
            garp = time.time()
    if garp is None:
        print("timeout", flush=True)
        return 1
    print("garp %d" % int(garp * 1000), flush=True)
    while time.monotonic() < end:
        if served(args.vip, args.port):
            print("served %d" % int(time.time() * 1000), flush=True)
            return 0
        time.sleep(0.05)
    print("timeout", flush=True)
    return 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("arp")
    a.add_argument("iface")
    a.add_argument("sender")
    a.add_argument("vip")
    a.add_argument("-t", type=float, default=1.0)
    w = sub.add_parser("watch")
    w.add_argument("iface")
    w.add_argument("vip")
    w.add_argument("-t", type=float, default=5.0)
    w.add_argument("--first")
    f = sub.add_parser("failover")
    f.add_argument("iface")
    f.add_argument("vip")
    f.add_argument("port", type=int)
    f.add_argument("mac")
    f.add_argument("-t", type=float, default=15.0)
    args = ap.parse_args()
    return {"arp": arp, "watch": watch, "failover": failover}[args.cmd](args) or 0


if __name__ == "__main__":
    sys.exit(main())
