#!/usr/bin/env python3
"""e2e client helpers: run inside the client namespace. Every operation is
bounded by a socket timeout (-t, seconds).

  client.py get ADDR PORT            one connection, GET /, print the body
  client.py many ADDR PORT N         N new connections; print "POD COUNT"
                                     lines and "fail COUNT"
  client.py udp ADDR PORT            one datagram, print the answer
  client.py peer ADDR PORT           connect, print "peer=A:P" (getpeername)
  client.py udpto ADDR PORT          sendto one datagram, print the answer
                                     and "from=A:P" (recvfrom's sender)
  client.py udpbig ADDR PORT N       ask for an N-byte answer; print its
                                     first line and "len=N"
  client.py udpdf ADDR PORT N        send N bytes with DF (PMTU discovery
                                     on), then print the socket's path MTU
                                     ("mtu=M") as ICMP frag-needed set it
  client.py post ADDR PORT N         one connection, POST N bytes, print the
                                     body
  client.py refused ADDR PORT        connect must fail with ECONNREFUSED
                                     within -t (default 1 s)
  client.py noanswer ADDR PORT       connect must get no answer at all
                                     within -t (times out)
  client.py keepalive ADDR PORT SOCK hold one TCP connection; serve
                                     commands on the Unix socket SOCK
                                     ("get": one request on the held
                                     connection; "quit")
  client.py udpsend ADDR PORT N      send N datagrams of 10 bytes, no answer
                                     expected
  client.py kactl SOCK CMD           send CMD to a keepalive client, print
                                     the reply (exit 1 on "ERR ...")
  client.py synflood ADDR PORT N SRC N SYNs from SRC, distinct ports of the
                                     ephemeral range (raw socket), never
                                     completed; print "sent N"
  client.py udprate ADDR PORT RATE SECONDS
                                     RATE new UDP flows (a new socket, so a
                                     new source port, each) per second for
                                     SECONDS, each one query answered
                                     within -t; print "sent N answered M
                                     seconds S" (S: time taken to send)
--sport N binds get, refused and noanswer to that source port.
Exit status 0 on success, 1 on failure (reason on stderr).
"""
import argparse
import errno
import os
import random
import resource
import selectors
import socket
import struct
import sys
import time


def http_request(s, host):
    s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise ConnectionError("connection closed before the response")
        buf += d
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 200"):
        raise ConnectionError("bad status: %r" % lines[0])
    clen = None
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        if k.strip().lower() == "content-length":
            clen = int(v.strip())
    if clen is None:
        raise ConnectionError("no Content-Length")
    while len(body) < clen:
        d = s.recv(4096)
        if not d:
            raise ConnectionError("connection closed in the body")
        body += d
    return body[:clen].decode().strip()


def http_get(addr, port, t, sport=0):
    s = socket.create_connection((addr, port), timeout=t,
                                 source_address=("", sport) if sport else None)
    try:
        return http_request(s, addr)
    finally:
        s.close()


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def syn_flood(addr, port, n, src):
    """SYNs the kernel knows nothing of, from address src: the host never
    completes them (the caller drops their SYN-ACKs before the stack could
    answer them with RST)."""
    daddr = socket.inet_aton(addr)
    saddr = socket.inet_aton(src)
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    r.bind((src, 0))
    sent = 0
    for sport in random.sample(range(32768, 61000), n):
        seq = random.getrandbits(32)
        hdr = struct.pack("!HHIIBBHHH", sport, port, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
        pseudo = saddr + daddr + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(hdr))
        hdr = hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]
        r.sendto(hdr, (addr, 0))
        sent += 1
    return sent


def udp_rate(addr, port, rate, secs, t):
    """RATE new flows per second, each its own socket (source port), paced
    on a monotonic schedule; a flow is answered when its reply arrives
    within t seconds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sel = selectors.DefaultSelector()
    n_total = int(rate * secs)
    sent = answered = 0
    pending = {}
    t0 = time.monotonic()

    def reap(timeout):
        nonlocal answered
        for key, _ in sel.select(timeout):
            s = key.fileobj
            try:
                if s.recv(512):
                    answered += 1
            except OSError:
                pass
            sel.unregister(s)
            pending.pop(s, None)
            s.close()
        now = time.monotonic()
        for s, dl in list(pending.items()):
            if dl < now:
                sel.unregister(s)
                del pending[s]
                s.close()

    while sent < n_total:
        due = t0 + sent / rate
        now = time.monotonic()
        if now < due:
            reap(due - now)
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.connect((addr, port))
        try:
            s.send(b"q%d" % sent)
        except OSError:
            pass
        sel.register(s, selectors.EVENT_READ)
        pending[s] = time.monotonic() + t
        sent += 1
    t_sent = time.monotonic() - t0	# the pace: answers may come later
    while pending:
        reap(0.05)
    return sent, answered, t_sent


def ms(t0):
    return "%.1f ms" % ((time.monotonic() - t0) * 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("op")
    ap.add_argument("args", nargs="*")
    ap.add_argument("-t", "--timeout", type=float, default=None)
    ap.add_argument("--sport", type=int, default=0)
    ap.add_argument("--life", type=float, default=600.0,
                    help="keepalive: exit after this many seconds")
    a = ap.parse_args()
    op, args = a.op, a.args

    if op == "get":
        t0 = time.monotonic()
        try:
            print(http_get(args[0], int(args[1]), a.timeout or 3, a.sport))
        except Exception as e:
            print("get %s:%s failed after %s: %r" % (args[0], args[1], ms(t0), e), file=sys.stderr)
            return 1
        print("get %s:%s %s" % (args[0], args[1], ms(t0)), file=sys.stderr)
        return 0

    if op == "many":
        n = int(args[2])
        counts, fails, errs = {}, 0, []
        t0 = time.monotonic()
        for _ in range(n):
            try:
                body = http_get(args[0], int(args[1]), a.timeout or 3)
                pod = body.split()[0]
                counts[pod] = counts.get(pod, 0) + 1
            except Exception as e:
                fails += 1
                errs.append(repr(e))
        for pod, c in sorted(counts.items()):
            print(pod, c)
        print("fail", fails)
        print("many %s:%s x%d %s%s" % (args[0], args[1], n, ms(t0),
              (" errors: " + "; ".join(errs[:3])) if errs else ""), file=sys.stderr)
        return 0 if fails == 0 else 1

    if op == "udp":
        s = socket.socket(socket.AF_INET6 if ":" in args[0] else socket.AF_INET,
                          socket.SOCK_DGRAM)
        s.settimeout(a.timeout or 3)
        t0 = time.monotonic()
        try:
            s.connect((args[0], int(args[1])))
            s.send(b"ping")
            print(s.recv(4096).decode().strip())
        except Exception as e:
            print("udp %s:%s failed after %s: %r" % (args[0], args[1], ms(t0), e), file=sys.stderr)
            return 1
        print("udp %s:%s %s" % (args[0], args[1], ms(t0)), file=sys.stderr)
        return 0

    if op == "peer":
        s = socket.create_connection((args[0], int(args[1])), timeout=a.timeout or 3)
        print("peer=%s:%d" % s.getpeername()[:2])
        return 0

    if op == "udpto":
        # Unconnected: sendto (the cgroup sendmsg hook) and recvfrom (its
        # recvmsg hook, which names the sender).
        s = socket.socket(socket.AF_INET6 if ":" in args[0] else socket.AF_INET,
                          socket.SOCK_DGRAM)
        s.settimeout(a.timeout or 3)
        try:
            s.sendto(b"ping", (args[0], int(args[1])))
            d, frm = s.recvfrom(4096)
        except Exception as e:
            print("udpto %s:%s failed: %r" % (args[0], args[1], e), file=sys.stderr)
            return 1
        print(d.decode().strip())
        print("from=%s:%d" % frm[:2])
        return 0

    if op == "udpbig":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(a.timeout or 3)
        try:
            s.connect((args[0], int(args[1])))
            s.send(b"big %d" % int(args[2]))
            d = s.recv(65535)
        except Exception as e:
            print("udpbig %s:%s failed: %r" % (args[0], args[1], e), file=sys.stderr)
            return 1
        print(d.split(b"\n", 1)[0].decode())
        print("len=%d" % len(d))
        return 0

    if op == "udpdf":
        IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_MTU = 10, 2, 14
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
        s.connect((args[0], int(args[1])))
        deadline = time.monotonic() + (a.timeout or 3)
        mtu = s.getsockopt(socket.IPPROTO_IP, IP_MTU)
        first = mtu
        while time.monotonic() < deadline:
            try:
                s.send(b"d" * int(args[2]))
            except OSError as e:
                if e.errno != errno.EMSGSIZE:
                    raise
            time.sleep(0.2)
            mtu = s.getsockopt(socket.IPPROTO_IP, IP_MTU)
            if mtu != first:
                break
        print("mtu=%d" % mtu)
        return 0

    if op == "post":
        n = int(args[2])
        try:
            s = socket.create_connection((args[0], int(args[1])), timeout=a.timeout or 3)
            s.sendall(("POST / HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n"
                       % (args[0], n)).encode() + b"p" * n)
            buf = b""
            while b"got=" not in buf or not buf.endswith(b"\n"):
                d = s.recv(4096)
                if not d:
                    break
                buf += d
            print(buf.split(b"\r\n\r\n", 1)[-1].decode().strip())
        except Exception as e:
            print("post %s:%s failed: %r" % (args[0], args[1], e), file=sys.stderr)
            return 1
        return 0

    if op == "udpsend":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(int(args[2])):
            s.sendto(b"0123456789", (args[0], int(args[1])))
        s.close()
        return 0

    if op in ("refused", "noanswer"):
        limit = a.timeout or (1.0 if op == "refused" else 2.0)
        s = socket.socket(socket.AF_INET6 if ":" in args[0] else socket.AF_INET,
                          socket.SOCK_STREAM)
        s.settimeout(limit)
        if a.sport:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("", a.sport))
        t0 = time.monotonic()
        try:
            s.connect((args[0], int(args[1])))
            res = "connected"
        except ConnectionRefusedError:
            res = "refused"
        except socket.timeout:
            res = "timeout"
        except OSError as e:
            res = "error %s" % errno.errorcode.get(e.errno, e.errno)
        finally:
            s.close()
        want = "refused" if op == "refused" else "timeout"
        print("%s %s:%s: %s after %s" % (op, args[0], args[1], res, ms(t0)))
        return 0 if res == want else 1

    if op == "synflood":
        t0 = time.monotonic()
        n = syn_flood(args[0], int(args[1]), int(args[2]), args[3])
        print("sent", n)
        print("synflood %s:%s x%d %s" % (args[0], args[1], n, ms(t0)), file=sys.stderr)
        return 0

    if op == "udprate":
        sent, answered, el = udp_rate(args[0], int(args[1]), float(args[2]),
                                      float(args[3]), a.timeout or 1.0)
        print("sent %d answered %d seconds %.1f" % (sent, answered, el))
        return 0

    if op == "keepalive":
        addr, port, path = args[0], int(args[1]), args[2]
        t = a.timeout or 3
        s = socket.create_connection((addr, port), timeout=t)
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        u.bind(path)
        u.listen(4)
        u.settimeout(1.0)
        print("connected local=%s:%d" % s.getsockname(), flush=True)
        deadline = time.monotonic() + a.life
        while time.monotonic() < deadline:
            try:
                c, _ = u.accept()
            except socket.timeout:
                continue
            with c:
                c.settimeout(t + 2)
                try:
                    cmd = c.recv(256).decode().strip()
                except Exception:
                    continue
                if cmd == "quit":
                    c.sendall(b"bye\n")
                    break
                if cmd == "get":
                    try:
                        reply = http_request(s, addr)
                    except Exception as e:
                        reply = "ERR %r" % (e,)
                    c.sendall((reply + "\n").encode())
                else:
                    c.sendall(b"ERR unknown command\n")
        s.close()
        u.close()
        try:
            os.unlink(path)
        except OSError:
            pass
        return 0

    if op == "kactl":
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        u.settimeout(a.timeout or 6)
        try:
            u.connect(args[0])
            u.sendall(args[1].encode())
            buf = b""
            while not buf.endswith(b"\n"):
                d = u.recv(4096)
                if not d:
                    break
                buf += d
        except Exception as e:
            print("ERR kactl: %r" % (e,))
            return 1
        reply = buf.decode().strip()
        print(reply)
        return 1 if reply.startswith("ERR") or not reply else 0

    print("unknown op %s" % op, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
