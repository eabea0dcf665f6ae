#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Static checks of manifests/: every YAML document parses, and the pieces
# agree with each other and with the agent: names, labels and selectors,
# the ServiceAccount the DaemonSet runs as and the binding that grants it
# a read-only ClusterRole, ConfigMap keys behind every $(VAR), flags the
# agent accepts, probe ports and paths vs --healthz-bind-address,
# capabilities instead of privileged, the bpffs mount, and the
# Dockerfile's runtime packages covering the agent's shared libraries.
# No cluster and no container engine are needed (nor used).
#
#   bash selftests/e2e/test_manifests.sh BUILD_DIR
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3); fi

exec "$PY" - "$ROOT" "$BUILD" <<'EOF'
import glob, os, re, subprocess, sys

root, build = sys.argv[1], sys.argv[2]
passed = failed = skipped = 0

def check(name, ok, why=""):
    global passed, failed
    if ok:
        passed += 1
        print("PASS", name)
    else:
        failed += 1
        print("FAIL %s: %s" % (name, why or "condition not met"))

def skip(name, why):
    global skipped
    skipped += 1
    print("SKIP %s: %s" % (name, why))

def done():
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    sys.exit(1 if failed else 0)

try:
    import yaml
except ImportError:
    check("python3-yaml available", False, "install python3-yaml (make deps)")
    done()

mdir = os.path.join(root, "manifests")
docs = []
for f in sorted(glob.glob(os.path.join(mdir, "*.yaml"))):
    try:
        with open(f) as fh:
            ds = [d for d in yaml.safe_load_all(fh) if d is not None]
        check("%s parses (%d document(s))" % (os.path.basename(f), len(ds)), bool(ds))
        docs += ds
    except yaml.YAMLError as e:
        check("%s parses" % os.path.basename(f), False, str(e).replace("\n", " "))
for d in docs:
    ok = isinstance(d, dict) and d.get("apiVersion") and d.get("kind") and \
        isinstance(d.get("metadata"), dict) and d["metadata"].get("name")
    check("%s/%s has apiVersion, kind, metadata.name" % (d.get("kind"), (d.get("metadata") or {}).get("name")), ok)

def one(kind):
    found = [d for d in docs if d.get("kind") == kind]
    check("exactly one %s" % kind, len(found) == 1, "found %d" % len(found))
    return found[0] if found else None

ds, sa, cr, crb, cm = (one(k) for k in ("DaemonSet", "ServiceAccount", "ClusterRole",
                                         "ClusterRoleBinding", "ConfigMap"))
if not all((ds, sa, cr, crb, cm)):
    done()

ns = ds["metadata"].get("namespace")
check("DaemonSet, ServiceAccount and ConfigMap share a namespace (%s)" % ns,
      ns and sa["metadata"].get("namespace") == ns and cm["metadata"].get("namespace") == ns)
tpl = ds["spec"]["template"]
pod = tpl["spec"]
sel = ds["spec"]["selector"]["matchLabels"]
tl = tpl["metadata"].get("labels", {})
check("DaemonSet selector %s matches the Pod template's labels" % sel,
      all(tl.get(k) == v for k, v in sel.items()), "template labels %s" % tl)

# --- identity and RBAC
check("Pods run as ServiceAccount %s" % sa["metadata"]["name"],
      pod.get("serviceAccountName") == sa["metadata"]["name"],
      "serviceAccountName %r" % pod.get("serviceAccountName"))
check("ClusterRoleBinding refers to the ClusterRole",
      crb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                         "name": cr["metadata"]["name"]}, str(crb["roleRef"]))
check("ClusterRoleBinding binds the ServiceAccount",
      {"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": ns} in crb.get("subjects", []),
      str(crb.get("subjects")))
grants = {}
for r in cr.get("rules", []):
    for g in r.get("apiGroups", []):
        for res in r.get("resources", []):
            grants.setdefault((g, res), set()).update(r.get("verbs", []))
need = {("", "services"), ("", "nodes"), ("discovery.k8s.io", "endpointslices"),
        ("xlb.io", "loadbalancerippools")}
check("ClusterRole grants get/list/watch on services, nodes, endpointslices, loadbalancerippools",
      all({"list", "watch"} <= grants.get(k, set()) for k in need), str(grants))
# The only writes: the LoadBalancer controller's (status, pool annotation,
# Events).
writes = {("", "services"): {"patch"}, ("", "services/status"): {"patch"},
          ("", "events"): {"create"}}
extra = {k: v - {"get", "list", "watch"} for k, v in grants.items()}
check("ClusterRole is least privilege: reads, the controller's writes, nothing else, no wildcards",
      set(grants) == need | set(writes) and
      all(extra[k] == writes.get(k, set()) for k in grants) and
      all("*" not in v for v in grants.values()), str(grants))
roles = [d for d in docs if d.get("kind") == "Role"]
rbs = [d for d in docs if d.get("kind") == "RoleBinding"]
lease_ok = len(roles) == 1 and roles[0]["metadata"].get("namespace") == ns and \
    roles[0].get("rules") == [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                               "verbs": ["get", "list", "watch", "create", "update"]}]
check("a Role in %s grants Leases only (node liveness, leader election)" % ns, lease_ok,
      str(roles))
check("its RoleBinding binds the ServiceAccount",
      len(rbs) == 1 and rbs[0]["roleRef"]["name"] == (roles[0]["metadata"]["name"] if roles else "") and
      {"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": ns} in rbs[0].get("subjects", []),
      str(rbs))
crds = [d for d in docs if d.get("kind") == "CustomResourceDefinition"]
check("the LoadBalancerIPPool CRD is cluster-scoped xlb.io/v1alpha1",
      len(crds) == 1 and crds[0]["spec"]["group"] == "xlb.io" and crds[0]["spec"]["scope"] == "Cluster" and
      crds[0]["spec"]["names"]["plural"] == "loadbalancerippools" and
      [v["name"] for v in crds[0]["spec"]["versions"]] == ["v1alpha1"], str(crds))

# --- container, flags and ConfigMap
ctrs = {x.get("name"): x for x in pod.get("containers", [])}
check("containers: xlb-agent and the optional BIRD sidecar (%s)" % " ".join(sorted(ctrs)),
      "xlb-agent" in ctrs and set(ctrs) <= {"xlb-agent", "bird"}, str(sorted(ctrs)))
c = ctrs.get("xlb-agent") or next(iter(ctrs.values()))
bird = ctrs.get("bird")
env = {e["name"]: e for e in c.get("env", [])}
cmkeys = set((cm.get("data") or {}).keys())
check("envFrom uses the ConfigMap", any((e.get("configMapRef") or {}).get("name") == cm["metadata"]["name"]
                                         for e in c.get("envFrom", [])), str(c.get("envFrom")))
args = c.get("args", []) + c.get("command", [])[1:]
used = set(re.findall(r"\$\(([A-Z0-9_]+)\)", " ".join(args)))
check("every $(VAR) in args is defined (env or ConfigMap): %s" % " ".join(sorted(used)),
      used <= set(env) | cmkeys, "undefined: %s" % (used - set(env) - cmkeys))
bird_script = " ".join((bird or {}).get("args", []))
bird_vols = {v["name"]: v for v in pod.get("volumes", [])}
bird_files = {i["key"] for m in (bird or {}).get("volumeMounts", [])
              for i in (bird_vols.get(m["name"], {}).get("configMap") or {}).get("items", [])}
unused = {k for k in cmkeys if "$(%s)" % k not in " ".join(args)
          and "$" + k not in bird_script and k not in bird_files}
check("every ConfigMap key is used by a flag, the BIRD sidecar or its config file",
      not unused, "unused: %s" % unused)
check("NODE_NAME comes from the downward API (spec.nodeName)",
      (env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}) or {}).get("fieldPath") == "spec.nodeName")
flags = [a.split("=", 1)[0] for a in args if a.startswith("--")]
agent = os.path.join(build, "xlb-agent")
if os.access(agent, os.X_OK):
    help_text = subprocess.run([agent, "--help"], capture_output=True, text=True, timeout=10).stdout
    bad = [f for f in flags if not re.search(re.escape(f) + r"\b", help_text)]
    check("every flag in args is one xlb-agent --help lists (%d flags)" % len(flags), not bad,
          "unknown: %s" % bad)
else:
    skip("flags known to the agent", "%s not built" % agent)
for need_flag in ("--node-name", "--iface"):
    check("args give %s" % need_flag, need_flag in flags, str(flags))
check("no file source (--config) in the DaemonSet: Kubernetes mode", "--config" not in flags)

# --- health ports and probes
bind = (cm.get("data") or {}).get("XLB_HEALTHZ_BIND_ADDRESS", "0.0.0.0:10256")
hport = int(bind.rsplit(":", 1)[1])
lp, rp = c.get("livenessProbe", {}).get("httpGet", {}), c.get("readinessProbe", {}).get("httpGet", {})
check("livenessProbe GET /livez on the healthz port %d" % hport,
      lp.get("path") == "/livez" and lp.get("port") == hport, str(lp))
check("readinessProbe GET /healthz on the healthz port %d" % hport,
      rp.get("path") == "/healthz" and rp.get("port") == hport, str(rp))
cports = [p.get("containerPort") for p in c.get("ports", [])]
check("container declares the healthz port %d" % hport, hport in cports, str(cports))

# --- host access, privileges
check("hostNetwork", pod.get("hostNetwork") is True)
check("tolerates every taint (operator: Exists)",
      any(t.get("operator") == "Exists" and not t.get("key") for t in pod.get("tolerations", [])))
sc = c.get("securityContext", {})
caps = set(sc.get("capabilities", {}).get("add", []))
check("not privileged; capabilities only from BPF, PERFMON, NET_ADMIN, NET_RAW, SYS_ADMIN (%s)" % " ".join(sorted(caps)),
      not sc.get("privileged") and caps and caps <= {"BPF", "PERFMON", "NET_ADMIN", "NET_RAW", "SYS_ADMIN"}
      and "ALL" in sc.get("capabilities", {}).get("drop", []), str(sc))
mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
vols = {v["name"]: v for v in pod.get("volumes", [])}
check("every volumeMount has a volume", set(mounts) <= set(vols), "%s vs %s" % (set(mounts), set(vols)))
bpffs = [m for m in mounts.values() if m["mountPath"] == "/sys/fs/bpf"]
check("host bpffs mounted at /sys/fs/bpf",
      bpffs and vols[bpffs[0]["name"]].get("hostPath", {}).get("path") == "/sys/fs/bpf")
pin = [a.split("=", 1)[1] for a in args if a.startswith("--pin-dir=")]
check("--pin-dir is on the host bpffs", pin and pin[0].startswith("/sys/fs/bpf/"), str(pin))

# --- the BIRD sidecar (optional: idle unless XLB_BGP is on)
data = cm.get("data") or {}
if bird is None:
    skip("BIRD sidecar", "no bird container in the DaemonSet")
else:
    check("BIRD sidecar is off by default (XLB_BGP %r) and idles then" % data.get("XLB_BGP"),
          data.get("XLB_BGP") == "off" and re.search(r'\[ "\$XLB_BGP" = on \] \|\| .*exec sleep infinity', bird_script),
          bird_script[:120])
    check("BIRD sidecar reads the ConfigMap", any((e.get("configMapRef") or {}).get("name") == cm["metadata"]["name"]
                                                  for e in bird.get("envFrom", [])))
    check("bird.conf in the ConfigMap is manifests/bird.conf (no drift)",
          data.get("bird.conf", "").strip() == open(os.path.join(mdir, "bird.conf")).read().strip())
    holders = set(re.findall(r"@([A-Z_]+)@", data.get("bird.conf", "")))
    filled = set(re.findall(r"s/@([A-Z_]+)@/", bird_script))
    check("the sidecar fills every @PLACEHOLDER@ of bird.conf (%s)" % " ".join(sorted(holders)),
          holders and holders <= filled, "unfilled: %s" % (holders - filled))
    benv = {e["name"]: e for e in bird.get("env", [])}
    check("NODE_IP from the downward API (status.hostIP)",
          (benv.get("NODE_IP", {}).get("valueFrom", {}).get("fieldRef") or {}).get("fieldPath") == "status.hostIP")
    check("BIRD and the agent agree on the kernel table (XLB_BGP_TABLE %s)" % data.get("XLB_BGP_TABLE"),
          "--bgp-table=$(XLB_BGP_TABLE)" in args and "s/@XLB_TABLE@/$XLB_BGP_TABLE/" in bird_script
          and re.search(r"kernel table @XLB_TABLE@;", data.get("bird.conf", "")))
    check("bird.conf learns only xlb's routes (krt_source = 88)",
          re.search(r"import where krt_source = 88;", data.get("bird.conf", "")) is not None)
    bsc = bird.get("securityContext", {})
    bcaps = set(bsc.get("capabilities", {}).get("add", []))
    check("BIRD sidecar: not privileged, NET_ADMIN/NET_BIND_SERVICE/NET_RAW only (%s)" % " ".join(sorted(bcaps)),
          not bsc.get("privileged") and bcaps <= {"NET_ADMIN", "NET_BIND_SERVICE", "NET_RAW"}
          and "ALL" in bsc.get("capabilities", {}).get("drop", []))
    bm = {m["name"] for m in bird.get("volumeMounts", [])}
    check("BIRD sidecar mounts only defined volumes", bm <= set(bird_vols), str(bm))
    # The sidecar's own script, run with the ConfigMap's values, renders a
    # file real BIRD parses (bird -p: parse only, nothing started).
    birdbin = subprocess.run(["sh", "-c", "command -v bird"], capture_output=True, text=True).stdout.strip()
    if not birdbin:
        skip("sidecar renders a config BIRD parses", "bird2 not installed")
    else:
        import tempfile
        with tempfile.TemporaryDirectory() as td:
            os.makedirs(os.path.join(td, "etc"))
            with open(os.path.join(td, "etc", "bird.conf"), "w") as fh:
                fh.write(data.get("bird.conf", ""))
            script = bird_script.replace("/etc/xlb/", td + "/etc/").replace("/run/bird/", td + "/")
            script = script.replace("exec bird -f", "exec bird -p")
            env = dict(os.environ, NODE_IP="192.0.2.11",
                       **{k: v for k, v in data.items() if k.startswith("XLB_")})
            env["XLB_BGP"] = "on"
            r = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=20)
            check("sidecar renders a bird.conf that BIRD parses", r.returncode == 0,
                  (r.stdout + r.stderr).strip()[:300])
            rendered = open(os.path.join(td, "bird.conf")).read() if os.path.exists(os.path.join(td, "bird.conf")) else ""
            check("rendered bird.conf has no placeholder left", rendered and "@" not in rendered.replace("@...@", ""),
                  rendered[:200])
            env["XLB_BGP"] = "off"
            r = subprocess.run(["sh", "-c", script.replace("exec sleep infinity", "exit 42")], env=env,
                               capture_output=True, text=True, timeout=20)
            check("XLB_BGP off: the sidecar idles", r.returncode == 42, str(r.returncode))
    check("BIRD sidecar runs the image that carries bird2",
          bird.get("image") == c.get("image") and re.search(r"\bbird2\b", open(os.path.join(mdir, "Dockerfile")).read().split("FROM")[-1]))

# --- Dockerfile
df_path = os.path.join(mdir, "Dockerfile")
df = open(df_path).read() if os.path.exists(df_path) else ""
stages = re.findall(r"^FROM\s+(\S+)", df, re.M)
check("Dockerfile: multi-stage on Debian 12 (%s)" % " ".join(stages),
      len(stages) >= 2 and all(s.startswith("debian:12") for s in stages))
check("Dockerfile: image runs xlb-agent", re.search(r'ENTRYPOINT\s+\["/usr/local/bin/xlb-agent"\]', df) is not None)
img = c.get("image", "")
check("DaemonSet image named like the Dockerfile's usage (%s)" % img, img and img.split(":")[0] in df)
final = df.split("FROM")[-1]
runtime_pkgs = set(re.findall(r"\b(lib[a-z0-9.+-]+|zlib1g|ca-certificates)\b", final))
if os.access(agent, os.X_OK):
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                        subprocess.run(["readelf", "-d", agent], capture_output=True, text=True).stdout)
    base = {"libc6", "libgcc-s1", "zlib1g"}
    missing = []
    for so in needed:
        out = subprocess.run(["dpkg", "-S", so], capture_output=True, text=True).stdout
        pkgs = {l.split(":")[0] for l in out.splitlines() if "/" + so in l}
        if pkgs and not (pkgs & (runtime_pkgs | base)):
            missing.append("%s (%s)" % (so, ",".join(sorted(pkgs))))
    check("Dockerfile: runtime stage installs the package of every library xlb-agent links (%d)" % len(needed),
          not missing, "missing: %s" % missing)
else:
    skip("runtime libraries", "%s not built" % agent)
done()
EOF
