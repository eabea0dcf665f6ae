/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Kubernetes objects as the agent sees them: v1 Service and
 * discovery.k8s.io/v1 EndpointSlice, parsed from YAML or JSON text (files;
 * JSON is read by libyaml as flow-style YAML) or from a cJSON tree (the API
 * server's responses, see k8s_parse_json()), validated by the same code,
 * and kept in an object cache keyed by kind + namespace + name.
 *
 * Input is whatever `kubectl get svc,endpointslices -A -o yaml|json` prints
 * or the manifests a user already has: a single object, a `kind: List` (or
 * `ServiceList` / `EndpointSliceList`, whose items carry no kind), several
 * YAML documents separated by `---`, or any mix. Objects of other kinds are
 * skipped with a debug message.
 *
 * Only the fields the datapath needs are kept (K8S_SPEC §2, §3). Defaults
 * the API server applies are applied here too, so a hand-written manifest
 * and a stored object mean the same thing. An object that fails validation
 * is rejected whole with an error "Kind namespace/name: reason (file:line)";
 * the objects beside it are kept. A file that is not well-formed YAML gives
 * one error with line and column and no objects at all.
 *
 * Everything an object points to lives in the object's own arena and goes
 * away with k8s_object_free(): callers never free fields one by one.
 */
#ifndef XLB_K8S_H
#define XLB_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xlb/abi.h>

/* ---- diagnostics ------------------------------------------------------ */

enum k8s_severity {
	K8S_SEV_ERROR = 0,	/* an object (or the whole input) was rejected */
	K8S_SEV_WARN  = 1,	/* part of an object was ignored (e.g. SCTP) */
	K8S_SEV_DEBUG = 2,	/* something was skipped on purpose */
};

struct k8s_diag {
	enum k8s_severity sev;
	char *msg;		/* "Service default/web: spec.ports[0].port:
				 * 70000 out of range 1..65535 (svc.yaml:12)" */
};

/*
 * A growing list of messages the caller prints (the agent logs them and
 * keeps its last good state). Zero-initialise (K8S_ERRORS_INIT) before use;
 * every function that takes a `struct k8s_errors *` also accepts NULL and
 * then drops its messages.
 */
/* The identity of an object the parser rejected: the caller may keep
 * serving its last good version. */
struct k8s_objkey {
	int kind;		/* enum k8s_kind (defined below) */
	char ns[64];
	char name[254];
};

struct k8s_errors {
	struct k8s_objkey *rejected;	/* objects rejected whole */
	size_t n_rejected;
	struct k8s_diag *v;
	size_t n;
	size_t cap;
	size_t n_errors;	/* entries with K8S_SEV_ERROR */
	size_t n_warnings;	/* entries with K8S_SEV_WARN */
	size_t n_dropped;	/* messages lost to allocation failure */
};
#define K8S_ERRORS_INIT { 0 }

int k8s_errors_add(struct k8s_errors *e, enum k8s_severity sev,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Free all messages; the struct is left empty and reusable. */
void k8s_errors_free(struct k8s_errors *e);
const char *k8s_severity_name(enum k8s_severity sev);

/* ---- objects ---------------------------------------------------------- */

enum k8s_kind {
	K8S_KIND_SERVICE = 1,
	K8S_KIND_ENDPOINTSLICE = 2,
	K8S_KIND_LBPOOL = 3,	/* xlb.io/v1alpha1 LoadBalancerIPPool,
				 * cluster-scoped: namespace "" */
};

/* An IP address as parsed from a string. */
struct k8s_ip {
	union xlb_addr addr;	/* network order, v4 in addr.v4 */
	uint8_t family;		/* XLB_AF_INET / XLB_AF_INET6 */
};

struct k8s_cidr {
	struct k8s_ip ip;	/* host bits as written */
	uint8_t prefix_len;
};

struct k8s_label {
	const char *key;
	const char *value;
};

struct k8s_meta {
	const char *namespace;	/* "default" when absent */
	const char *name;
	const char *uid;	/* "" when absent */
	const char *resource_version;	/* "" when absent */
	struct k8s_label *labels;
	size_t n_labels;
	struct k8s_label *annotations;
	size_t n_annotations;
};

enum k8s_svc_type {
	K8S_SVC_CLUSTER_IP = 0,	/* default */
	K8S_SVC_NODE_PORT,
	K8S_SVC_LOAD_BALANCER,
	K8S_SVC_EXTERNAL_NAME,
};

enum k8s_traffic_policy {
	K8S_TP_CLUSTER = 0,	/* default; "Global" is the old spelling */
	K8S_TP_LOCAL,
};

enum k8s_affinity {
	K8S_AFFINITY_NONE = 0,
	K8S_AFFINITY_CLIENT_IP,
};

enum k8s_ip_mode {
	K8S_IP_MODE_VIP = 0,	/* default when ip is set */
	K8S_IP_MODE_PROXY,
};

enum k8s_ip_family_policy {
	K8S_IPFP_SINGLE = 0,	/* SingleStack, the default */
	K8S_IPFP_PREFER_DUAL,	/* PreferDualStack */
	K8S_IPFP_REQUIRE_DUAL,	/* RequireDualStack */
};

struct k8s_svc_port {
	const char *name;	/* "" when absent (single-port Services) */
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP (SCTP ports
				 * are dropped with a warning) */
	uint16_t port;		/* 1..65535 */
	uint16_t target_port;	/* number; 0 when named */
	const char *target_port_name;	/* named targetPort, else NULL */
	uint16_t node_port;	/* 0: none */
};

struct k8s_lb_ingress {
	bool has_ip;		/* false: hostname-only entry */
	struct k8s_ip ip;
	const char *hostname;	/* NULL when absent */
	enum k8s_ip_mode ip_mode;
};

struct k8s_service {
	enum k8s_svc_type type;
	bool headless;		/* clusterIP "None" */
	struct k8s_ip *cluster_ips;	/* clusterIPs[], else clusterIP */
	size_t n_cluster_ips;
	uint8_t *ip_families;	/* XLB_AF_* from ipFamilies[] */
	size_t n_ip_families;
	struct k8s_svc_port *ports;
	size_t n_ports;
	struct k8s_ip *external_ips;
	size_t n_external_ips;
	enum k8s_traffic_policy external_traffic_policy;
	enum k8s_traffic_policy internal_traffic_policy;
	uint16_t health_check_node_port;	/* 0: none */
	enum k8s_affinity session_affinity;
	uint32_t affinity_timeout;	/* seconds, 10800 default with
					 * ClientIP, 0 with None */
	struct k8s_cidr *source_ranges;	/* loadBalancerSourceRanges */
	size_t n_source_ranges;
	struct k8s_lb_ingress *ingress;	/* status.loadBalancer.ingress */
	size_t n_ingress;
	const char *load_balancer_ip;	/* spec.loadBalancerIP, NULL: unset
					 * (deprecated upstream, still read) */
	const char *load_balancer_class;	/* NULL: unset */
	enum k8s_ip_family_policy ip_family_policy;
	struct k8s_label *selector;	/* spec.selector */
	size_t n_selector;
};

enum k8s_addr_type {
	K8S_ADDR_IPV4 = 0,
	K8S_ADDR_IPV6,
	K8S_ADDR_FQDN,		/* deprecated: kept, never translated */
};

struct k8s_endpoint {
	struct k8s_ip *addrs;	/* addresses[]; only [0] is used */
	size_t n_addrs;		/* 0 (or FQDN slice): endpoint ignored */
	bool ready;		/* nil -> true */
	bool serving;		/* nil -> true (K8S_SPEC §3, kube-proxy) */
	bool terminating;	/* nil -> false */
	const char *node_name;	/* NULL when absent */
	const char *zone;	/* NULL when absent */
};

struct k8s_eps_port {
	const char *name;	/* "" when absent */
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;		/* 0: absent, port is then not usable */
};

struct k8s_endpointslice {
	const char *service_name;	/* label kubernetes.io/service-name,
					 * NULL when absent (slice ignored) */
	enum k8s_addr_type addr_type;
	struct k8s_endpoint *endpoints;
	size_t n_endpoints;
	struct k8s_eps_port *ports;
	size_t n_ports;
};

/* One block of a pool: a CIDR or a start..stop range, both stored as the
 * inclusive range first..last of one family. */
struct k8s_pool_block {
	struct k8s_ip first;
	struct k8s_ip last;
};

enum k8s_announce {
	K8S_ANNOUNCE_L2 = 0,	/* default: one node answers ARP/NDP */
	K8S_ANNOUNCE_NONE,	/* allocate only (routed by someone else) */
	K8S_ANNOUNCE_BGP,	/* every eligible node hands it to BIRD */
};

/* xlb.io/v1alpha1 LoadBalancerIPPool (manifests/crd-lbpool.yaml). */
struct k8s_lbpool {
	struct k8s_pool_block *blocks;	/* spec.blocks[], in order */
	size_t n_blocks;
	struct k8s_label *svc_selector;	/* spec.serviceSelector.matchLabels */
	size_t n_svc_selector;
	const char **namespaces;	/* spec.namespaces[]; none: any */
	size_t n_namespaces;
	bool auto_assign;		/* spec.autoAssign, default true */
	bool avoid_buggy_ips;		/* skip .0 and .255 (IPv4) */
	struct k8s_label *node_selector;	/* spec.nodeSelector.matchLabels */
	size_t n_node_selector;
	const char **interfaces;	/* spec.interfaces[]; none: every uplink */
	size_t n_interfaces;
	enum k8s_announce announce;
};

struct k8s_object {
	enum k8s_kind kind;
	struct k8s_meta meta;
	union {
		struct k8s_service svc;		/* K8S_KIND_SERVICE */
		struct k8s_endpointslice eps;	/* K8S_KIND_ENDPOINTSLICE */
		struct k8s_lbpool pool;		/* K8S_KIND_LBPOOL */
	};
	unsigned int line;	/* 1-based line in its source, 0: unknown */
	/* private */
	struct k8s_object *hnext;
	void *arena;
};

void k8s_object_free(struct k8s_object *o);
const char *k8s_kind_name(enum k8s_kind kind);
/* Value of a label, or NULL when the object does not carry it. */
const char *k8s_label(const struct k8s_object *o, const char *key);
/* Value of an annotation, or NULL when the object does not carry it. */
const char *k8s_annotation(const struct k8s_object *o, const char *key);
/* Every pair of @sel is among @labels (an empty selector matches all). */
bool k8s_labels_match(const struct k8s_label *sel, size_t n_sel,
		      const struct k8s_label *labels, size_t n_labels);
/*
 * Replace a Service's status.loadBalancer.ingress with @n VIP-mode IPs
 * (the allocator's result in file mode, where no API server stores it).
 * The memory comes from the object's arena. 0 or -ENOMEM, -EINVAL.
 */
int k8s_svc_set_ingress(struct k8s_object *o, const struct k8s_ip *ips, size_t n);
/* Parse one IPv4 or IPv6 address (no surrounding blanks). */
bool k8s_parse_ip(const char *s, struct k8s_ip *ip);
/* "192.0.2.1" / "2001:db8::1" into @buf (INET6_ADDRSTRLEN bytes). */
const char *k8s_ip_str(const struct k8s_ip *ip, char *buf, size_t len);
/* @a - @b as a signed comparison of same-family addresses. */
int k8s_ip_cmp(const struct k8s_ip *a, const struct k8s_ip *b);

/* ---- parsing ---------------------------------------------------------- */

struct k8s_object_list {
	struct k8s_object **v;	/* owned */
	size_t n;
	size_t cap;
};

/* Free every object in the list and the list's array (not the struct). */
void k8s_object_list_free(struct k8s_object_list *l);

/*
 * Parse YAML or JSON from a buffer and append the valid Service and
 * EndpointSlice objects to `out`, in input order. `src` names the input in
 * messages (a file name, "<stdin>"; NULL: "<buffer>").
 * Returns 0 when the input is well-formed, even if some objects were
 * rejected (see errs->n_errors); -EBADMSG when it is not well-formed YAML
 * (nothing is appended, one error names line and column); -ENOMEM.
 */
int k8s_parse_buf(const char *buf, size_t len, const char *src,
		  struct k8s_object_list *out, struct k8s_errors *errs);
/*
 * The same for an object decoded from JSON (an API response), without
 * printing it again: @obj is one object, or a List of them. @kind names
 * the kind of an object that carries none (the items of a typed list such
 * as ServiceList); NULL: @obj says what it is. Every object is validated
 * like a file's; one that fails is rejected on its own (errs->rejected
 * names it). Returns 0 or -ENOMEM, -EINVAL.
 */
struct cJSON;
int k8s_parse_json(const struct cJSON *obj, const char *src, const char *kind,
		   struct k8s_object_list *out, struct k8s_errors *errs);
/* The same for a file; -errno when it cannot be read. */
int k8s_parse_file(const char *path, struct k8s_object_list *out,
		   struct k8s_errors *errs);

/* ---- object cache ----------------------------------------------------- */

struct k8s_cache;

/* NULL with errno set on failure. */
struct k8s_cache *k8s_cache_new(void);
void k8s_cache_free(struct k8s_cache *c);
size_t k8s_cache_count(const struct k8s_cache *c);

/*
 * Insert an object, taking ownership. An object with the same kind,
 * namespace and name is replaced (and freed). Returns 0, or -ENOMEM (the
 * object is then still the caller's), -EINVAL.
 */
int k8s_cache_put(struct k8s_cache *c, struct k8s_object *o);
/* Remove an object and hand it to the caller (NULL when absent). */
struct k8s_object *k8s_cache_take(struct k8s_cache *c, enum k8s_kind kind,
				  const char *ns, const char *name);
/* Remove and free an object; -ENOENT when it is not there. */
int k8s_cache_delete(struct k8s_cache *c, enum k8s_kind kind,
		     const char *ns, const char *name);
const struct k8s_object *k8s_cache_get(const struct k8s_cache *c,
				       enum k8s_kind kind, const char *ns,
				       const char *name);
/* The same, writable: for the owner of the cache (file mode writes the
 * allocator's result into a Service's status). */
struct k8s_object *k8s_cache_get_mut(struct k8s_cache *c, enum k8s_kind kind,
				     const char *ns, const char *name);
/*
 * The objects of one kind, sorted by namespace then name, as a malloc'd
 * array the caller frees (the objects stay the cache's and are valid until
 * the cache changes). *out is NULL when there are none.
 */
int k8s_cache_list(const struct k8s_cache *c, enum k8s_kind kind,
		   const struct k8s_object ***out, size_t *n);

/*
 * Move every object of `l` into the cache (a later one replaces an earlier
 * one with the same key). On success `l` is left empty and owns no memory;
 * on -ENOMEM the objects not yet moved stay in `l`.
 */
int k8s_cache_put_list(struct k8s_cache *c, struct k8s_object_list *l,
		       struct k8s_errors *errs);

/*
 * Load a whole file (or buffer) into a new cache. On success (0) *out is
 * the new cache, which may hold fewer objects than the input when some were
 * rejected (errs->n_errors > 0). On failure *out is NULL: -EBADMSG (not
 * well-formed, nothing loaded), -errno from reading the file, -ENOMEM.
 */
int k8s_cache_load_file(const char *path, struct k8s_cache **out,
			struct k8s_errors *errs);
int k8s_cache_load_buf(const char *buf, size_t len, const char *src,
		       struct k8s_cache **out, struct k8s_errors *errs);

#endif /* XLB_K8S_H */
