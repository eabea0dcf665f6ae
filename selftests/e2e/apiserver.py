#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A small Kubernetes API server for xlb's tests (standard library only).

Speaks the parts of the real protocol the agent uses (k8s-spec §1-§3):
HTTPS, bearer tokens (401 otherwise), LIST with resourceVersion and
limit/continue, chunked WATCH with BOOKMARK events, ERROR 410 for resource
versions older than the retained history, label and field selectors with
DELETED/ADDED on selector transitions, the Service defaults and
allocations of k8s-spec §2, and realistic metadata (uid, resourceVersion,
creationTimestamp, managedFields, generation).

Resources: v1 services, discovery.k8s.io/v1 endpointslices, v1 nodes,
coordination.k8s.io/v1 leases, v1 events, xlb.io/v1alpha1
loadbalancerippools (cluster-scoped custom resource).

Writes (what controllers and leader election use, with the real
semantics): POST creates (409 AlreadyExists), PUT replaces with optimistic
concurrency (a stale metadata.resourceVersion gets 409 Conflict), PATCH
with application/merge-patch+json (RFC 7386), DELETE. Services have the
/status subresource: GET, PUT and merge PATCH there change only status,
and writes to the main resource leave status as it was.

A plain-HTTP control interface (--ctl, loopback) lets tests change objects
and inject faults:
  POST /apply    an object (create or replace)      -> {"rv", "time"}
  POST /delete   {"kind","namespace","name"}         -> {"rv", "time"}
  POST /apply_many  {"objects": [{...}, ...]}          -> {"rv"}
  POST /delete_many {"objects": [{"kind","namespace","name"}, ...]}
  POST /burst    {"objects": [{...}, ...], "count": N}: N updates, object
                 i % len(objects) each time (annotation xlb-test/burst = i)
  POST /fault    {"op": ...}:
       close_watches                 end every open watch cleanly
       fail  status retry_after count match   next COUNT requests whose
                                     path contains MATCH get STATUS
       inject resource line          raw LINE into open watches of RESOURCE
       tokens tokens                 the accepted bearer tokens
       compact                       forget all history (watches from an
                                     older RV get ERROR 410)
       down / up                     stop / restart the HTTPS listener
                                     (state is kept, like etcd)
       bookmarks interval            seconds between BOOKMARKs (0: none)
       rewind by                     move the current resourceVersion back
                                     by BY (an etcd restore from a backup):
                                     LIST/WATCH at a newer RV get 504
                                     ResourceVersionTooLarge
  GET  /requests  the request log (also appended to --log)
"""
import argparse
import base64
import collections
import copy
import datetime
import ipaddress
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESOURCES = {
    # name: (group/version prefix, kind, apiVersion, namespaced)
    "services": ("/api/v1", "Service", "v1", True),
    "endpointslices": ("/apis/discovery.k8s.io/v1", "EndpointSlice", "discovery.k8s.io/v1", True),
    "nodes": ("/api/v1", "Node", "v1", False),
    "leases": ("/apis/coordination.k8s.io/v1", "Lease", "coordination.k8s.io/v1", True),
    "events": ("/api/v1", "Event", "v1", True),
    "loadbalancerippools": ("/apis/xlb.io/v1alpha1", "LoadBalancerIPPool", "xlb.io/v1alpha1", False),
}
# Resources with a /status subresource (status and the rest are written apart).
STATUS_SUBRESOURCE = {"services"}
GROUP_OF = {"leases": "coordination.k8s.io", "loadbalancerippools": "xlb.io"}
KIND_TO_RES = {v[1]: k for k, v in RESOURCES.items()}


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dumps(obj):
    """JSON as the real server's Go encoder writes it: UTF-8 as is (DEL,
    U+0080-U+009F, U+FFFF included), only U+2028/U+2029 escaped."""
    return (json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
            .encode("utf-8", "surrogatepass"))


def too_large_rv(rv, current):
    """apiserver's NewTooLargeResourceVersionError (504)."""
    return status_obj(504, "Timeout", "Too large resource version: %d, current: %d" % (rv, current),
                      details={"causes": [{"reason": "ResourceVersionTooLarge",
                                           "message": "Too large resource version"}],
                               "retryAfterSeconds": 1})


def status_obj(code, reason, message, **extra):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
          "message": message, "reason": reason, "code": code}
    st.update(extra)
    return st


# ------------------------------------------------------------------ selectors
def parse_label_selector(s):
    """-> list of (op, key, value); op in has, nothas, eq, ne."""
    reqs = []
    if not s:
        return reqs
    for part in s.split(","):
        part = part.strip()
        if not part:
            continue
        if part.startswith("!"):
            reqs.append(("nothas", part[1:], None))
        elif "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append(("ne", k, v))
        elif "==" in part:
            k, v = part.split("==", 1)
            reqs.append(("eq", k, v))
        elif "=" in part:
            k, v = part.split("=", 1)
            reqs.append(("eq", k, v))
        else:
            reqs.append(("has", part, None))
    return reqs


def parse_field_selector(s):
    reqs = []
    if not s:
        return reqs
    for part in s.split(","):
        if "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append(("ne", k, v))
        else:
            k, v = part.split("==", 1) if "==" in part else part.split("=", 1)
            reqs.append(("eq", k, v))
        if k not in ("metadata.name", "metadata.namespace"):
            raise ValueError('field label not supported: %s' % k)
    return reqs


def matches(obj, lreqs, freqs):
    if obj is None:
        return False
    labels = obj.get("metadata", {}).get("labels") or {}
    for op, k, v in lreqs:
        if op == "has" and k not in labels:
            return False
        if op == "nothas" and k in labels:
            return False
        if op == "eq" and labels.get(k) != v:
            return False
        if op == "ne" and labels.get(k) == v:
            return False
    meta = obj.get("metadata", {})
    for op, k, v in freqs:
        val = meta.get(k.split(".", 1)[1], "")
        if (op == "eq") != (val == v):
            return False
    return True


# ---------------------------------------------------------------------- store
class Store:
    def __init__(self, history):
        self.cond = threading.Condition()
        self.rv = 1000
        self.objs = {r: {} for r in RESOURCES}
        self.history = collections.deque()   # (rv, res, type, obj, prev)
        self.max_history = history
        self.compacted = 0          # watching from an RV below this: 410
        self.close_gen = 0
        self.injects = []           # (res, line)
        self.bookmark_interval = 2.0
        self.used_node_ports = set()
        self.next_cluster_ip = 10

    # -- defaults and allocation (k8s-spec §2)
    def _alloc_node_port(self):
        for p in range(30000, 32768):
            if p not in self.used_node_ports:
                self.used_node_ports.add(p)
                return p
        raise ValueError("no free node port")

    def service_defaults(self, obj, old):
        spec = obj.setdefault("spec", {})
        ospec = (old or {}).get("spec", {})
        spec.setdefault("type", "ClusterIP")
        t = spec["type"]
        spec.setdefault("sessionAffinity", "None")
        if spec["sessionAffinity"] == "None":
            spec.pop("sessionAffinityConfig", None)
        else:
            spec.setdefault("sessionAffinityConfig", {"clientIP": {"timeoutSeconds": 10800}})
        if t != "ExternalName":
            if "clusterIP" not in spec or spec["clusterIP"] == "":
                if ospec.get("clusterIP"):
                    spec["clusterIP"] = ospec["clusterIP"]
                else:
                    spec["clusterIP"] = "10.96.%d.%d" % divmod(self.next_cluster_ip, 256)
                    self.next_cluster_ip += 1
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        if t in ("NodePort", "LoadBalancer") or spec.get("externalIPs"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        if t == "LoadBalancer":
            spec.setdefault("allocateLoadBalancerNodePorts", True)
        oldports = {(p.get("port"), p.get("protocol", "TCP")): p for p in ospec.get("ports", [])}
        for p in spec.get("ports", []):
            p.setdefault("protocol", "TCP")
            if not p.get("targetPort"):
                p["targetPort"] = p["port"]
            if t in ("NodePort", "LoadBalancer") and not p.get("nodePort"):
                if t == "LoadBalancer" and not spec.get("allocateLoadBalancerNodePorts", True):
                    continue
                op = oldports.get((p["port"], p["protocol"]))
                p["nodePort"] = op["nodePort"] if op and op.get("nodePort") else self._alloc_node_port()
            elif p.get("nodePort"):
                self.used_node_ports.add(p["nodePort"])
        if t == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local":
            if not spec.get("healthCheckNodePort"):
                spec["healthCheckNodePort"] = ospec.get("healthCheckNodePort") or self._alloc_node_port()
            else:
                self.used_node_ports.add(spec["healthCheckNodePort"])
        else:
            spec.pop("healthCheckNodePort", None)
        st = obj.setdefault("status", {}).setdefault("loadBalancer", {})
        for ing in st.get("ingress", []) or []:
            if t == "LoadBalancer" and ing.get("ip"):
                ing.setdefault("ipMode", "VIP")

    def _key(self, res, obj):
        m = obj.setdefault("metadata", {})
        ns = m.get("namespace", "default") if RESOURCES[res][3] else ""
        if RESOURCES[res][3]:
            m["namespace"] = ns
        return ns, m["name"]

    def _record(self, res, typ, obj, prev):
        self.history.append((self.rv, res, typ, copy.deepcopy(obj), prev))
        while len(self.history) > self.max_history:
            self.compacted = self.history.popleft()[0]
        self.cond.notify_all()

    def apply(self, obj):
        kind = obj.get("kind")
        res = KIND_TO_RES.get(kind)
        if not res:
            raise ValueError("unknown kind %r" % kind)
        obj = copy.deepcopy(obj)
        obj["apiVersion"] = RESOURCES[res][2]
        with self.cond:
            key = self._key(res, obj)
            old = self.objs[res].get(key)
            if res == "services":
                self.service_defaults(obj, old)
            self.rv += 1
            m = obj["metadata"]
            m["resourceVersion"] = str(self.rv)
            if old:
                om = old["metadata"]
                m["uid"] = om["uid"]
                m["creationTimestamp"] = om["creationTimestamp"]
                if res == "endpointslices":
                    m["generation"] = om.get("generation", 1) + 1
            else:
                m.setdefault("uid", str(uuid.uuid4()))
                m["creationTimestamp"] = now_rfc3339()
                if res == "endpointslices":
                    m["generation"] = 1
            if not m.get("managedFields"):
                m["managedFields"] = [{
                    "manager": "xlb-test", "operation": "Update", "apiVersion": obj["apiVersion"],
                    "time": now_rfc3339(), "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {"f:labels": {}}, "f:spec": {}}}]
            # key order as the server emits it
            ordered = {"kind": obj["kind"], "apiVersion": obj["apiVersion"], "metadata": m}
            ordered.update({k: v for k, v in obj.items() if k not in ordered})
            self.objs[res][key] = ordered
            self._record(res, "MODIFIED" if old else "ADDED", ordered, old)
            return self.rv

    def api_write(self, res, ns, name, fn):
        """Create, replace or delete one object under the lock. @fn(old)
        returns the new object (None: delete) or raises ApiError. Returns
        the stored object (or the deleted one)."""
        with self.cond:
            key = (ns if RESOURCES[res][3] else "", name)
            old = self.objs[res].get(key)
            new = fn(copy.deepcopy(old) if old else None)
            self.rv += 1
            if new is None:
                del self.objs[res][key]
                last = copy.deepcopy(old)
                last["metadata"]["resourceVersion"] = str(self.rv)
                self._record(res, "DELETED", last, old)
                return last
            new["kind"], new["apiVersion"] = RESOURCES[res][1], RESOURCES[res][2]
            m = new.setdefault("metadata", {})
            m["name"] = name
            if RESOURCES[res][3]:
                m["namespace"] = ns
            if res == "services":
                self.service_defaults(new, old)
            m["resourceVersion"] = str(self.rv)
            if old:
                m["uid"] = old["metadata"]["uid"]
                m["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            else:
                m["uid"] = str(uuid.uuid4())
                m["creationTimestamp"] = now_rfc3339()
            ordered = {"kind": new["kind"], "apiVersion": new["apiVersion"], "metadata": m}
            ordered.update({k: v for k, v in new.items() if k not in ordered})
            self.objs[res][key] = ordered
            self._record(res, "MODIFIED" if old else "ADDED", ordered, old)
            return copy.deepcopy(ordered)

    def delete(self, kind, ns, name):
        res = KIND_TO_RES[kind]
        with self.cond:
            key = (ns if RESOURCES[res][3] else "", name)
            old = self.objs[res].pop(key, None)
            if old is None:
                return None
            self.rv += 1
            last = copy.deepcopy(old)
            last["metadata"]["resourceVersion"] = str(self.rv)
            self._record(res, "DELETED", last, old)
            return self.rv

    def compact(self):
        with self.cond:
            self.compacted = self.rv
            self.history.clear()
            self.cond.notify_all()


# --------------------------------------------------------------------- server
class Api:
    def __init__(self, args):
        self.args = args
        self.store = Store(args.history)
        self.tokens = set()
        if args.token_file:
            with open(args.token_file) as f:
                self.tokens.add(f.read().strip())
        self.faults = []            # dicts: status, retry_after, count, match
        self.log = []
        self.log_lock = threading.Lock()
        self.logf = open(args.log, "a", buffering=1) if args.log else None
        self.conns = set()
        self.conns_lock = threading.Lock()
        self.httpd = None
        self.down = False

    def record(self, method, path, status, note=""):
        e = {"time": time.time(), "method": method, "path": path, "status": status, "note": note}
        with self.log_lock:
            self.log.append(e)
            if self.logf:
                self.logf.write("%.6f %s %s %d %s\n" % (e["time"], method, path, status, note))

    def take_fault(self, path):
        with self.log_lock:
            for f in self.faults:
                if f["count"] > 0 and f.get("match", "") in path:
                    f["count"] -= 1
                    return f
        return None

    # -- listener
    def start(self):
        api = self

        class Handler(ApiHandler):
            pass
        Handler.api = api
        host, port = self.args.listen.rsplit(":", 1)
        httpd = ThreadingHTTPServer((host, int(port)), Handler, bind_and_activate=False)
        httpd.allow_reuse_address = True
        httpd.daemon_threads = True
        httpd.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        httpd.server_bind()
        httpd.server_activate()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.args.cert, self.args.key)
        if self.args.client_ca:
            # x509 client certificates: optional, verified against this CA;
            # the subject CN is the user (like --client-ca-file).
            ctx.verify_mode = ssl.CERT_OPTIONAL
            ctx.load_verify_locations(self.args.client_ca)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True,
                                       do_handshake_on_connect=False)
        self.httpd = httpd
        self.down = False
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True).start()

    def stop(self):
        self.down = True
        httpd, self.httpd = self.httpd, None
        if httpd:
            httpd.shutdown()
            httpd.server_close()
        with self.store.cond:
            self.store.close_gen += 1
            self.store.cond.notify_all()
        with self.conns_lock:
            for c in list(self.conns):
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api = None

    def log_message(self, fmt, *a):
        pass

    def setup(self):
        super().setup()
        with self.api.conns_lock:
            self.api.conns.add(self.connection)

    def finish(self):
        with self.api.conns_lock:
            self.api.conns.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def send_json(self, code, obj, headers=None):
        body = dumps(obj)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.api.record(self.command, self.path, code, getattr(self, "_note", ""))

    def do_GET(self):
        try:
            self.handle_get()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def do_POST(self):
        self.guarded_write()

    def do_PUT(self):
        self.guarded_write()

    def do_PATCH(self):
        self.guarded_write()

    def do_DELETE(self):
        self.guarded_write()

    def guarded_write(self):
        try:
            self.handle_write()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and auth[7:] in self.api.tokens:
            return "token"
        if not auth:
            cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
            for rdn in (cert or {}).get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return "cert:" + v
        return None

    def handle_write(self):
        api = self.api
        self._note = ""
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not self.authorized():
            return self.send_json(401, status_obj(401, "Unauthorized", "Unauthorized"))
        f = api.take_fault(self.path)
        if f:
            return self.send_json(f["status"], status_obj(f["status"], "InternalError",
                                                          "Internal error occurred: injected fault"))
        u = urllib.parse.urlsplit(self.path)
        sub = None
        path = u.path
        if path.endswith("/status"):
            path, sub = path[:-len("/status")], "status"
        res, ns, name = self.route(path)
        if not res or (sub and res not in STATUS_SUBRESOURCE):
            return self.send_json(404, status_obj(404, "NotFound",
                                                  "the server could not find the requested resource"))
        body = None
        if self.command in ("POST", "PUT", "PATCH"):
            try:
                body = json.loads(raw or b"null")
                if not isinstance(body, dict):
                    raise ValueError("not an object")
            except ValueError as e:
                return self.send_json(400, status_obj(400, "BadRequest",
                                                      "the body of the request was in an unknown format: %s" % e))
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        try:
            if self.command == "POST":
                if name is not None:
                    raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
                m = body.setdefault("metadata", {})
                if not m.get("name") and m.get("generateName"):
                    m["name"] = m["generateName"] + uuid.uuid4().hex[:5]
                if not m.get("name"):
                    raise ApiError(422, "Invalid", "%s: metadata.name: Required value: name or generateName is required" % res)
                name = m["name"]

                def fn(old):
                    if old is not None:
                        raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (qual(res), name),
                                       details={"name": name, "group": GROUP_OF.get(res, ""), "kind": res})
                    return body
                return self.send_json(201, api.store.api_write(res, ns, name, fn))
            if name is None:
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            if self.command == "DELETE":
                def fn(old):
                    if old is None:
                        raise ApiError(404, "NotFound", '%s "%s" not found' % (qual(res), name))
                    return None
                api.store.api_write(res, ns, name, fn)
                return self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                            "status": "Success", "details": {"name": name, "kind": res}})
            if self.command == "PATCH" and ctype != "application/merge-patch+json":
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format: %s (only merge patches here)" % ctype)

            def fn(old):
                if old is None:
                    raise ApiError(404, "NotFound", '%s "%s" not found' % (qual(res), name))
                want_rv = (body.get("metadata") or {}).get("resourceVersion")
                if want_rv and want_rv != old["metadata"]["resourceVersion"]:
                    raise ApiError(409, "Conflict",
                                   'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                                   'please apply your changes to the latest version and try again' % (qual(res), name),
                                   details={"name": name, "group": GROUP_OF.get(res, ""), "kind": res})
                new = merge_patch(copy.deepcopy(old), body) if self.command == "PATCH" else copy.deepcopy(body)
                if res in STATUS_SUBRESOURCE:
                    # /status changes status only; the main resource never does.
                    if sub:
                        keep = copy.deepcopy(old)
                        keep["status"] = new.get("status", {})
                        new = keep
                    else:
                        new["status"] = old.get("status", {})
                new.setdefault("metadata", {}).pop("resourceVersion", None)
                return new
            return self.send_json(200, api.store.api_write(res, ns, name, fn))
        except ApiError as e:
            return self.send_json(e.code, status_obj(e.code, e.reason, e.message, **e.extra))

    def route(self, path):
        """-> (resource, namespace or None, name or None)"""
        for res, (prefix, _, _, namespaced) in RESOURCES.items():
            if not path.startswith(prefix + "/"):
                continue
            rest = path[len(prefix) + 1:].split("/")
            if rest == [res]:
                return res, None, None
            if not namespaced and len(rest) == 2 and rest[0] == res:
                return res, None, rest[1]
            if namespaced and len(rest) >= 3 and rest[0] == "namespaces" and rest[2] == res:
                if len(rest) == 3:
                    return res, rest[1], None
                if len(rest) == 4:
                    return res, rest[1], rest[3]
        return None, None, None

    def handle_get(self):
        api = self.api
        self._note = ""
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        auth = self.headers.get("Authorization", "")
        user = None
        if auth.startswith("Bearer ") and auth[7:] in api.tokens:
            user = "token"
        elif not auth:
            cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
            for rdn in (cert or {}).get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        user = "cert:" + v
        if not user:
            return self.send_json(401, status_obj(401, "Unauthorized", "Unauthorized"))
        self._note = user
        f = api.take_fault(self.path)
        if f:
            hdr = {"Retry-After": str(f["retry_after"])} if f.get("retry_after") else {}
            reason = {429: "TooManyRequests", 500: "InternalError"}.get(f["status"], "Unknown")
            msg = ("Too many requests, please try again later." if f["status"] == 429
                   else "Internal error occurred: injected fault")
            return self.send_json(f["status"], status_obj(f["status"], reason, msg), hdr)
        res, ns, name = self.route(u.path)
        if not res and u.path.endswith("/status"):
            # GET on the /status subresource: the whole object, as the
            # real server returns it.
            res, ns, name = self.route(u.path[:-len("/status")])
            if res not in STATUS_SUBRESOURCE or name is None or q.get("watch") in ("1", "true"):
                res = None
        if not res:
            return self.send_json(404, status_obj(404, "NotFound", "the server could not find the requested resource"))
        try:
            lreqs = parse_label_selector(q.get("labelSelector", ""))
            freqs = parse_field_selector(q.get("fieldSelector", ""))
        except ValueError as e:
            return self.send_json(400, status_obj(400, "BadRequest", str(e)))
        if ns is not None:
            freqs.append(("eq", "metadata.namespace", ns))
        if name is not None and q.get("watch") not in ("1", "true"):
            with api.store.cond:
                o = api.store.objs[res].get((ns or "", name))
                o = copy.deepcopy(o)
            if o is None:
                return self.send_json(404, status_obj(404, "NotFound", '%s "%s" not found' % (res, name)))
            return self.send_json(200, o)
        if name is not None:
            freqs.append(("eq", "metadata.name", name))
        if q.get("watch") in ("1", "true"):
            return self.watch(res, q, lreqs, freqs)
        return self.list(res, q, lreqs, freqs)

    def list(self, res, q, lreqs, freqs):
        st = self.api.store
        api_max_page = self.api.args.max_page
        prefix, kind, apiv, _ = RESOURCES[res]
        limit = int(q.get("limit") or 0)
        cont = q.get("continue")
        start = None
        with st.cond:
            rv = st.rv
            qrv = q.get("resourceVersion", "")
            if not cont and qrv not in ("", "0") and qrv.isdigit() and int(qrv) > st.rv:
                return self.send_json(504, too_large_rv(int(qrv), st.rv),
                                      {"Retry-After": "1"})
            if cont:
                try:
                    tok = json.loads(base64.urlsafe_b64decode(cont.encode()))
                    crv, start = tok["rv"], tuple(tok["start"])
                except Exception:
                    return self.send_json(400, status_obj(400, "BadRequest", "invalid continue token"))
                if crv < st.compacted:
                    return self.send_json(410, status_obj(
                        410, "Expired", "The provided continue parameter is too old to display a "
                        "consistent list result. You can start a new list without the continue "
                        "parameter, or use the continue token in this response to retrieve the "
                        "remainder of the results.", metadata={"continue": ""}))
                rv = crv
            items = [(k, o) for k, o in sorted(st.objs[res].items()) if matches(o, lreqs, freqs)]
            if start is not None:
                items = [(k, o) for k, o in items if k > start]
            more = False
            # The watch cache ignores limit for resourceVersion=0; a server
            # may always return fewer items than asked (--max-page).
            if q.get("resourceVersion") == "0":
                limit = 0
            if api_max_page and (not limit or limit > api_max_page):
                limit = api_max_page
            if limit and len(items) > limit:
                items, more = items[:limit], True
            out = []
            for _, o in items:
                o = copy.deepcopy(o)
                o.pop("kind", None)
                o.pop("apiVersion", None)
                out.append(o)
        meta = {"resourceVersion": str(rv)}
        if more:
            meta["continue"] = base64.urlsafe_b64encode(
                json.dumps({"rv": rv, "start": list(items[-1][0])}).encode()).decode()
            meta["remainingItemCount"] = 0
        self._note = "LIST %d %s" % (len(out), getattr(self, "_note", ""))
        self.send_json(200, {"kind": kind + "List", "apiVersion": apiv, "metadata": meta, "items": out})

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, res, q, lreqs, freqs):
        api, st = self.api, self.api.store
        prefix, kind, apiv, _ = RESOURCES[res]
        rvq = q.get("resourceVersion", "")
        timeout = int(q.get("timeoutSeconds") or 1800)
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        api.record(self.command, self.path, 200, "WATCH start " + getattr(self, "_note", ""))
        end = time.time() + timeout
        with st.cond:
            gen = st.close_gen
            inj = len(st.injects)
            initial = []
            if rvq in ("", "0"):
                for _, o in sorted(st.objs[res].items()):
                    if matches(o, lreqs, freqs):
                        initial.append({"type": "ADDED", "object": o})
                pos = st.rv
            else:
                pos = int(rvq)
                if pos > st.rv:
                    initial = [{"type": "ERROR", "object": too_large_rv(pos, st.rv)}]
                    pos = None
                elif pos < st.compacted:
                    ev = {"type": "ERROR", "object": status_obj(
                        410, "Expired", "too old resource version: %d (%d)" % (pos, st.compacted))}
                    initial = [ev]
                    pos = None
        for ev in initial:
            self.chunk(dumps(ev) + b"\n")
        if pos is None:
            self.chunk(b"")
            api.record(self.command, self.path, 200, "WATCH expired")
            return
        last_bm = time.time()
        while True:
            out = []
            with st.cond:
                if st.close_gen == gen and time.time() < end and not api.down:
                    st.cond.wait(0.2)
                if st.close_gen != gen or api.down:
                    reason = "closed"
                    break_now = True
                else:
                    break_now = time.time() >= end
                    reason = "timeout"
                if pos < st.compacted:
                    out.append({"type": "ERROR", "object": status_obj(
                        410, "Expired", "too old resource version: %d (%d)" % (pos, st.compacted))})
                    break_now, reason = True, "expired"
                else:
                    for (erv, eres, typ, obj, prev) in st.history:
                        if erv <= pos or eres != res:
                            continue
                        out.extend(transition(typ, obj, prev, lreqs, freqs))
                    if st.history:
                        pos = max(pos, st.history[-1][0])
                raw = [line for (r, line) in st.injects[inj:] if r == res]
                inj = len(st.injects)
                cur_rv = st.rv
            for ev in out:
                self.chunk(dumps(ev) + b"\n")
            for line in raw:
                self.chunk(line.encode() + b"\n")
            if bookmarks and st.bookmark_interval and time.time() - last_bm >= st.bookmark_interval:
                self.chunk(json.dumps({"type": "BOOKMARK", "object": {
                    "kind": kind, "apiVersion": apiv,
                    "metadata": {"resourceVersion": str(cur_rv)}}},
                    separators=(",", ":")).encode() + b"\n")
                last_bm = time.time()
            if break_now:
                if not api.down:
                    self.chunk(b"")
                api.record(self.command, self.path, 200, "WATCH end " + reason)
                return


class ApiError(Exception):
    def __init__(self, code, reason, message, **extra):
        super().__init__(message)
        self.code, self.reason, self.message, self.extra = code, reason, message, extra


def qual(res):
    g = GROUP_OF.get(res)
    return "%s.%s" % (res, g) if g else res


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = merge_patch(target.get(k), v)
    return target


def transition(typ, obj, prev, lreqs, freqs):
    """Events a watcher with these selectors sees for one change."""
    now, before = matches(obj, lreqs, freqs), matches(prev, lreqs, freqs)
    if typ == "DELETED":
        return [{"type": "DELETED", "object": obj}] if before else []
    if now and before:
        return [{"type": "MODIFIED", "object": obj}]
    if now:
        return [{"type": "ADDED", "object": obj}]
    if before:
        gone = copy.deepcopy(prev)
        gone["metadata"]["resourceVersion"] = obj["metadata"]["resourceVersion"]
        return [{"type": "DELETED", "object": gone}]
    return []


# -------------------------------------------------------------------- control
def control_server(api, addr):
    class Ctl(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def reply(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/requests":
                with api.log_lock:
                    return self.reply(200, list(api.log))
            if self.path == "/state":
                with api.store.cond:
                    return self.reply(200, {"rv": api.store.rv, "compacted": api.store.compacted,
                                            "down": api.down})
            self.reply(404, {"error": "not found"})

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(n) or b"{}")
                out = self.op(body)
                out.setdefault("time", time.time())
                self.reply(200, out)
            except Exception as e:  # report, keep serving
                self.reply(400, {"error": "%s: %s" % (type(e).__name__, e)})

        def op(self, b):
            st = api.store
            if self.path == "/apply":
                return {"rv": st.apply(b)}
            if self.path == "/delete":
                rv = st.delete(b["kind"], b.get("namespace", "default"), b["name"])
                if rv is None:
                    raise KeyError("not found")
                return {"rv": rv}
            if self.path == "/apply_many":
                for o in b["objects"]:
                    st.apply(o)
                return {"rv": st.rv}
            if self.path == "/delete_many":
                for o in b["objects"]:
                    st.delete(o["kind"], o.get("namespace", "default"), o["name"])
                return {"rv": st.rv}
            if self.path == "/burst":
                objs = b.get("objects") or [b["object"]]
                for i in range(int(b["count"])):
                    o = objs[i % len(objs)]
                    o.setdefault("metadata", {}).setdefault("annotations", {})["xlb-test/burst"] = str(i)
                    st.apply(o)
                return {"rv": st.rv}
            if self.path == "/fault":
                op = b["op"]
                if op == "close_watches":
                    with st.cond:
                        st.close_gen += 1
                        st.cond.notify_all()
                elif op == "fail":
                    with api.log_lock:
                        api.faults.append({"status": int(b["status"]),
                                           "retry_after": b.get("retry_after"),
                                           "count": int(b.get("count", 1)),
                                           "match": b.get("match", "")})
                elif op == "inject":
                    with st.cond:
                        st.injects.append((b["resource"], b["line"]))
                        st.cond.notify_all()
                elif op == "tokens":
                    api.tokens = set(b["tokens"])
                elif op == "compact":
                    st.compact()
                elif op == "down":
                    api.stop()
                elif op == "up":
                    api.start()
                elif op == "bookmarks":
                    st.bookmark_interval = float(b["interval"])
                elif op == "rewind":
                    with st.cond:
                        st.rv -= int(b["by"])
                        st.history.clear()
                        st.compacted = min(st.compacted, st.rv)
                        st.cond.notify_all()
                else:
                    raise ValueError("unknown op %r" % op)
                return {"ok": True}
            raise ValueError("unknown path %s" % self.path)

    host, port = addr.rsplit(":", 1)
    srv = ThreadingHTTPServer((host, int(port)), Ctl)
    srv.daemon_threads = True
    return srv


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", required=True, help="HOST:PORT for the HTTPS API")
    ap.add_argument("--ctl", required=True, help="HOST:PORT for the plain-HTTP control interface")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--token-file", help="initially accepted bearer token")
    ap.add_argument("--client-ca", help="accept client certificates signed by this CA")
    ap.add_argument("--max-page", type=int, default=0,
                    help="return at most N items per LIST page, whatever the limit")
    ap.add_argument("--log", help="append the request log here")
    ap.add_argument("--history", type=int, default=5000,
                    help="events kept for watches that resume (default 5000)")
    ap.add_argument("--preload", help="apply these objects (one JSON object a line) first; "
                    "managedFields given are kept")
    args = ap.parse_args()
    api = Api(args)
    if args.preload:
        with open(args.preload) as f:
            for line in f:
                if line.strip():
                    api.store.apply(json.loads(line))
    api.start()
    ctl = control_server(api, args.ctl)
    print("apiserver: listening on https://%s, control on http://%s" % (args.listen, args.ctl),
          flush=True)
    try:
        ctl.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
