#!/usr/bin/env python3
"""e2e Pod server: run inside a Pod namespace.

  podserver.py NAME [--http PORT] [--udp PORT] [--v6]

HTTP/1.1 (keep-alive) server: GET / answers "pod=NAME client=IP:PORT\n"
naming the peer address the Pod saw. UDP echo: every datagram is answered
with "pod=NAME client=IP:PORT" (followed by "seq N" when the datagram
was "seq N"). --v6: the same on IPv6 sockets too (IPV6_V6ONLY, so IPv4
peers still show as IPv4). Prints "listening" once all sockets are
bound, then serves until killed.
"""
import argparse
import http.server
import socket
import socketserver
import sys
import threading


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("--http", type=int)
    ap.add_argument("--udp", type=int)
    ap.add_argument("--v6", action="store_true")
    a = ap.parse_args()

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = ("pod=%s client=%s:%d\n" % (a.name, self.client_address[0],
                                               self.client_address[1])).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            got = len(self.rfile.read(n)) if n else 0
            body = ("pod=%s client=%s:%d got=%d\n" % (a.name, self.client_address[0],
                                                      self.client_address[1], got)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            pass

    class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        # socketserver's default backlog is 5: a burst of parallel
        # connections would overflow it and wait for SYN retransmits.
        request_queue_size = 128

    class S6(S):
        address_family = socket.AF_INET6

        def server_bind(self):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            super().server_bind()

    threads = []
    if a.http:
        srv = S(("0.0.0.0", a.http), H)
        threads.append(threading.Thread(target=srv.serve_forever, daemon=True))
        if a.v6:
            srv6 = S6(("::", a.http), H)
            threads.append(threading.Thread(target=srv6.serve_forever, daemon=True))
    udp_socks = []
    if a.udp:
        us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        us.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        us.bind(("0.0.0.0", a.udp))
        udp_socks.append(us)
        if a.v6:
            us6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            us6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            us6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            us6.bind(("::", a.udp))
            udp_socks.append(us6)

    for us in udp_socks:
        def udp_loop(us=us):
            while True:
                data, peer = us.recvfrom(65535)
                out = ("pod=%s client=%s:%d" % (a.name, peer[0], peer[1])).encode()
                # "big N": an answer of N bytes (larger than the MTU: the
                # Pod's stack sends it in fragments)
                if data.startswith(b"big "):
                    out = (out + b"\n").ljust(int(data[4:]), b"x")
                # "seq N": echoed, so a load test counts lost datagrams
                elif data.startswith(b"seq "):
                    out += b" " + data[:32]
                us.sendto(out, peer[:2])
        threads.append(threading.Thread(target=udp_loop, daemon=True))
    for t in threads:
        t.start()
    print("listening", flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    sys.exit(main())
