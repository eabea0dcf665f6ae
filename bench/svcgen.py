#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Generate N NodePort Services x E endpoints three ways, from one model:

  --yaml FILE      Service + EndpointSlice objects (what xlb-agent --config reads)
  --iptables FILE  the rules kube-proxy's iptables mode installs for them
                   (iptables-restore input: nat + filter tables)
  --nft FILE       the rules kube-proxy's nftables mode installs (nft -f input)
  --json FILE      the same objects as the API server stores them, one JSON
                   object a line (selftests/e2e/apiserver.py --preload): with
                   managedFields, kubectl's last-applied annotation, status,
                   targetRef per endpoint, as a real cluster returns them

Service i (0-based) is bench/s<i>, port 80/TCP named "p", clusterIP
10.96.0.0/16 + 1 + i (10.96/12 beyond 65k), nodePort 30000 + i (a 10k-Service
cluster needs a wider --service-node-port-range than the default; kube-proxy
and xlb do not care), targetPort 8080, endpoints 10.64.0.0/10 addresses on
node "node2" (remote: DNAT only); --proto udp makes every port UDP. With --target I, Service I instead has its
endpoints at --target-ip (first address, then the next ones) on --node
(local): the one the forwarding benchmark sends to.

The chain layouts follow kube-proxy's proxier.go (iptables and nftables
modes, 1.31+): chain names KUBE-SVC/EXT/SEP-<16 base32 chars of sha256> and
service-/external-/endpoint-<8 chars>-<ns>/<name>/<proto>/<port> chains,
the service-ips / service-nodeports verdict maps, masquerade marking.
"""
import argparse
import base64
import hashlib
import ipaddress
import sys

NS = "bench"
CLUSTER_CIDR = "10.244.0.0/16"


def svc_name(i):
    return "s%05d" % i


def cluster_ip(i):
    return str(ipaddress.IPv4Address(int(ipaddress.IPv4Address("10.96.0.1")) + i))


def endpoints(i, a):
    if a.target is not None and i == a.target:
        base = int(ipaddress.IPv4Address(a.target_ip))
        return [(str(ipaddress.IPv4Address(base + k)), a.node) for k in range(a.endpoints)]
    base = int(ipaddress.IPv4Address("10.64.0.0")) + i * 16 + 1
    return [(str(ipaddress.IPv4Address(base + k)), "node2") for k in range(a.endpoints)]


def hash16(s):
    # kube-proxy servicePortChainName / servicePortEndpointChainName
    return base64.b32encode(hashlib.sha256(s.encode()).digest()).decode()[:16]


def yaml_out(a, f):
    for i in range(a.services):
        n = svc_name(i)
        f.write(f"""---
apiVersion: v1
kind: Service
metadata:
  name: {n}
  namespace: {NS}
  uid: 00000000-0000-4000-8000-{i:012d}
spec:
  type: NodePort
  clusterIP: {cluster_ip(i)}
  externalTrafficPolicy: Cluster
  ports:
  - name: p
    port: 80
    protocol: {a.proto.upper()}
    targetPort: 8080
    nodePort: {30000 + i}
  selector:
    app: {n}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
addressType: IPv4
metadata:
  name: {n}-abcde
  namespace: {NS}
  labels:
    kubernetes.io/service-name: {n}
    endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
ports:
- name: p
  port: 8080
  protocol: {a.proto.upper()}
endpoints:
""")
        for ip, node in endpoints(i, a):
            f.write(f"""- addresses:
  - {ip}
  conditions:
    ready: true
    serving: true
    terminating: false
  nodeName: {node}
""")


def iptables_out(a, f):
    P = a.proto
    nat_chains, nat_rules = [], []
    svc_rules, np_rules = [], []
    for i in range(a.services):
        n = svc_name(i)
        spn = f"{NS}/{n}:p"
        h = hash16(spn + P)
        svc, ext = "KUBE-SVC-" + h, "KUBE-EXT-" + h
        nat_chains += [svc, ext]
        cip = cluster_ip(i)
        svc_rules.append(f'-A KUBE-SERVICES -d {cip}/32 -p {P} -m comment --comment "{spn} cluster IP" '
                         f'-m {P} --dport 80 -j {svc}')
        np_rules.append(f'-A KUBE-NODEPORTS -p {P} -m comment --comment "{spn}" -m {P} '
                        f'--dport {30000 + i} -j {ext}')
        nat_rules.append(f'-A {ext} -m comment --comment "masquerade traffic for {spn} external destinations" '
                         f'-j KUBE-MARK-MASQ')
        nat_rules.append(f'-A {ext} -j {svc}')
        nat_rules.append(f'-A {svc} ! -s {CLUSTER_CIDR} -d {cip}/32 -p {P} -m comment --comment "{spn} cluster IP" '
                         f'-m {P} --dport 80 -j KUBE-MARK-MASQ')
        eps = endpoints(i, a)
        for k, (ip, _) in enumerate(eps):
            sep = "KUBE-SEP-" + hash16(spn + P + f"{ip}:8080")
            nat_chains.append(sep)
            left = len(eps) - k
            stat = f"-m statistic --mode random --probability {1.0 / left:.11f} " if left > 1 else ""
            nat_rules.append(f'-A {svc} -m comment --comment "{spn} -> {ip}:8080" {stat}-j {sep}')
            nat_rules.append(f'-A {sep} -s {ip}/32 -m comment --comment "{spn}" -j KUBE-MARK-MASQ')
            nat_rules.append(f'-A {sep} -p {P} -m comment --comment "{spn}" -m {P} -j DNAT '
                             f'--to-destination {ip}:8080')
    w = f.write
    w("*filter\n")
    for c in ["KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL", "KUBE-FORWARD", "KUBE-KUBELET-CANARY",
              "KUBE-NODEPORTS", "KUBE-PROXY-CANARY", "KUBE-PROXY-FIREWALL", "KUBE-SERVICES"]:
        w(f":{c} - [0:0]\n")
    w('-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL\n')
    w('-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS\n')
    w('-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally visible service portals" -j KUBE-EXTERNAL-SERVICES\n')
    w('-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL\n')
    w('-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD\n')
    w('-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n')
    w('-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally visible service portals" -j KUBE-EXTERNAL-SERVICES\n')
    w('-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL\n')
    w('-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n')
    w('-A KUBE-FORWARD -m conntrack --ctstate INVALID -m comment --comment "kubernetes forwarding rules" -j DROP\n')
    w('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT\n')
    w('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n')
    w("COMMIT\n*nat\n")
    for c in ["KUBE-KUBELET-CANARY", "KUBE-MARK-MASQ", "KUBE-NODEPORTS", "KUBE-POSTROUTING",
              "KUBE-PROXY-CANARY", "KUBE-SERVICES"] + nat_chains:
        w(f":{c} - [0:0]\n")
    w('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n')
    w('-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n')
    w('-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING\n')
    w('-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n')
    w('-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n')
    w('-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n')
    w('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully\n')
    for r in svc_rules:
        w(r + "\n")
    w('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" '
      '-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n')
    for r in np_rules:
        w(r + "\n")
    for r in nat_rules:
        w(r + "\n")
    w("COMMIT\n")


def nft_out(a, f):
    P = a.proto
    w = f.write
    chains = []
    cips, svc_elems, np_elems = [], [], []
    for i in range(a.services):
        n = svc_name(i)
        spn = f"{NS}/{n}:p"
        base = f"{NS}/{n}/{P}/p"
        h = hash16(spn + P)[:8]
        svc, ext = f"service-{h}-{base}", f"external-{h}-{base}"
        cip = cluster_ip(i)
        cips.append(cip)
        svc_elems.append(f'{cip} . {P} . 80 : goto {svc}')
        np_elems.append(f'{P} . {30000 + i} : goto {ext}')
        eps = endpoints(i, a)
        vm = []
        body = [f'ip daddr {cip} {P} dport 80 ip saddr != {CLUSTER_CIDR} jump mark-for-masquerade']
        for k, (ip, _) in enumerate(eps):
            epc = f"endpoint-{hash16(spn + P + ip + ':8080')[:8]}-{base}__{ip}/8080"
            vm.append(f'{k} : goto {epc}')
            chains.append((epc, [f"ip saddr {ip} jump mark-for-masquerade",
                                 f"meta l4proto {P} dnat to {ip}:8080"]))
        body.append(f"numgen random mod {len(eps)} vmap {{ {', '.join(vm)} }}")
        chains.append((svc, body))
        chains.append((ext, ["jump mark-for-masquerade", f'goto {svc}']))
    w("add table ip kube-proxy { comment \"rules for kube-proxy\" ; }\n")
    w("flush table ip kube-proxy\n")
    w("table ip kube-proxy {\n")
    w("  set cluster-ips { type ipv4_addr ; comment \"Active ClusterIPs\" ; }\n")
    w("  set nodeport-ips { type ipv4_addr ; comment \"IPs that accept NodePort traffic\" ; }\n")
    w("  map no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; }\n")
    w("  map no-endpoint-nodeports { type inet_proto . inet_service : verdict ; }\n")
    w("  map firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }\n")
    w("  map service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; "
      "comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }\n")
    w("  map service-nodeports { type inet_proto . inet_service : verdict ; comment \"NodePort traffic\" ; }\n")
    w("  chain filter-prerouting { type filter hook prerouting priority dstnat - 10 ; ct state new jump firewall-check ; }\n")
    w("  chain filter-input { type filter hook input priority -110 ; ct state new jump nodeport-endpoints-check ; "
      "ct state new jump service-endpoints-check ; }\n")
    w("  chain filter-forward { type filter hook forward priority -110 ; ct state new jump service-endpoints-check ; "
      "ct state new jump cluster-ips-check ; }\n")
    w("  chain filter-output { type filter hook output priority -110 ; ct state new jump service-endpoints-check ; "
      "ct state new jump firewall-check ; }\n")
    w("  chain filter-output-post-dnat { type filter hook output priority -90 ; ct state new jump cluster-ips-check ; }\n")
    w("  chain nat-prerouting { type nat hook prerouting priority dstnat ; jump services ; }\n")
    w("  chain nat-output { type nat hook output priority -100 ; jump services ; }\n")
    w("  chain nat-postrouting { type nat hook postrouting priority srcnat ; jump masquerading ; }\n")
    w("  chain mark-for-masquerade { meta mark set meta mark or 0x4000 ; }\n")
    w("  chain masquerading { meta mark & 0x4000 == 0 return ; meta mark set meta mark xor 0x4000 ; "
      "masquerade fully-random ; }\n")
    w("  chain services { ip daddr . meta l4proto . th dport vmap @service-ips ; "
      "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports ; }\n")
    w("  chain service-endpoints-check { ip daddr . meta l4proto . th dport vmap @no-endpoint-services ; }\n")
    w("  chain nodeport-endpoints-check { ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports ; }\n")
    w("  chain firewall-check { ip daddr . meta l4proto . th dport vmap @firewall-ips ; }\n")
    w("  chain cluster-ips-check { ip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\" ; "
      "ip daddr 10.96.0.0/12 drop comment \"Drop traffic to unallocated ClusterIPs\" ; }\n")
    w("}\n")
    # knftables style, as kube-proxy writes it: chains first, then rules
    for name, _ in chains:
        w(f"add chain ip kube-proxy {name}\n")
    for name, body in chains:
        for r in body:
            w(f"add rule ip kube-proxy {name} {r}\n")
    w(f"add element ip kube-proxy nodeport-ips {{ {', '.join(a.node_ip)} }}\n")
    # elements in batches (kube-proxy adds them in one transaction too)
    for i in range(0, len(cips), 1000):
        w(f"add element ip kube-proxy cluster-ips {{ {', '.join(cips[i:i + 1000])} }}\n")
        w(f"add element ip kube-proxy service-ips {{ {', '.join(svc_elems[i:i + 1000])} }}\n")
        w(f"add element ip kube-proxy service-nodeports {{ {', '.join(np_elems[i:i + 1000])} }}\n")


def mf(manager, api, fields, sub=None):
    e = {"manager": manager, "operation": "Update", "apiVersion": api,
         "time": "2025-03-14T09:21:07Z", "fieldsType": "FieldsV1", "fieldsV1": fields}
    if sub:
        e["subresource"] = sub
    return e


def json_out(a, f):
    import json
    for i in range(a.services):
        n = svc_name(i)
        proto = a.proto.upper()
        spec = {"type": "NodePort", "clusterIP": cluster_ip(i), "clusterIPs": [cluster_ip(i)],
                "externalTrafficPolicy": "Cluster", "internalTrafficPolicy": "Cluster",
                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None",
                "ports": [{"name": "p", "port": 80, "protocol": proto, "targetPort": 8080,
                           "nodePort": 30000 + i}],
                "selector": {"app": n}}
        applied = {"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": n, "namespace": NS, "labels": {"app": n}},
                   "spec": {"type": "NodePort", "ports": spec["ports"], "selector": spec["selector"]}}
        svc = {"kind": "Service", "apiVersion": "v1", "metadata": {
            "name": n, "namespace": NS, "uid": "00000000-0000-4000-8000-%012d" % i,
            "labels": {"app": n},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                            json.dumps(applied, separators=(",", ":")) + "\n"},
            "managedFields": [mf("kubectl-client-side-apply", "v1", {
                "f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}},
                               "f:labels": {".": {}, "f:app": {}}},
                "f:spec": {"f:externalTrafficPolicy": {}, "f:internalTrafficPolicy": {},
                           "f:ports": {".": {}, 'k:{"port":80,"protocol":"%s"}' % proto: {
                               ".": {}, "f:name": {}, "f:nodePort": {}, "f:port": {}, "f:protocol": {},
                               "f:targetPort": {}}},
                           "f:selector": {}, "f:sessionAffinity": {}, "f:type": {}}})]},
            "spec": spec, "status": {"loadBalancer": {}}}
        f.write(json.dumps(svc, separators=(",", ":")) + "\n")
        eps = []
        for k, (ip, node) in enumerate(endpoints(i, a)):
            eps.append({"addresses": [ip],
                        "conditions": {"ready": True, "serving": True, "terminating": False},
                        "nodeName": node, "zone": "zone-a",
                        "targetRef": {"kind": "Pod", "namespace": NS, "name": "%s-7d9f8b6c5-%05d" % (n, k),
                                      "uid": "00000000-0000-4000-9000-%07d%05d" % (i, k)}})
        sl = {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1", "metadata": {
            "name": n + "-abcde", "namespace": NS, "generateName": n + "-",
            "uid": "00000000-0000-4000-a000-%012d" % i,
            "labels": {"kubernetes.io/service-name": n, "app": n,
                       "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": "2025-03-14T09:21:07Z"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": n,
                                 "uid": "00000000-0000-4000-8000-%012d" % i,
                                 "controller": True, "blockOwnerDeletion": True}],
            "managedFields": [mf("endpointslice-controller.k8s.io", "discovery.k8s.io/v1", {
                "f:addressType": {}, "f:endpoints": {}, "f:metadata": {
                    "f:annotations": {".": {}, "f:endpoints.kubernetes.io/last-change-trigger-time": {}},
                    "f:generateName": {}, "f:labels": {".": {}, "f:app": {},
                                                        "f:endpointslice.kubernetes.io/managed-by": {},
                                                        "f:kubernetes.io/service-name": {}},
                    "f:ownerReferences": {".": {}, 'k:{"uid":"00000000-0000-4000-8000-%012d"}' % i: {}}},
                "f:ports": {}})]},
            "addressType": "IPv4", "endpoints": eps,
            "ports": [{"name": "p", "port": 8080, "protocol": proto}]}
        f.write(json.dumps(sl, separators=(",", ":")) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--services", type=int, required=True)
    p.add_argument("--endpoints", type=int, default=10)
    p.add_argument("--target", type=int, default=None)
    p.add_argument("--target-ip", default="10.1.1.2")
    p.add_argument("--node", default="node1")
    p.add_argument("--proto", choices=("tcp", "udp"), default="tcp")
    p.add_argument("--node-ip", action="append", default=None)
    p.add_argument("--yaml")
    p.add_argument("--iptables")
    p.add_argument("--nft")
    p.add_argument("--json")
    a = p.parse_args()
    if not a.node_ip:
        a.node_ip = ["10.0.0.1"]
    if a.services > 35535:
        sys.exit("svcgen: at most 35535 NodePorts (30000 + i <= 65535)")
    for path, fn in ((a.yaml, yaml_out), (a.iptables, iptables_out), (a.nft, nft_out),
                     (a.json, json_out)):
        if path:
            with open(path, "w") as f:
                fn(a, f)


if __name__ == "__main__":
    main()
