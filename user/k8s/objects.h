/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Kubernetes objects as the agent sees them: v1 Service,
 * discovery.k8s.io/v1 EndpointSlice and xlb.io/v1alpha1 LoadBalancerIPPool,
 * with only the fields the datapath needs (k8s-spec §2, §3). k8s/parse.h
 * makes them from text or API responses, k8s/cache.h keeps them.
 *
 * Everything an object points to lives in the object's own arena and goes
 * away with k8s_object_free(): callers never free fields one by one.
 */
#ifndef XLB_K8S_OBJECTS_H
#define XLB_K8S_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xlb/abi.h>

enum k8s_kind {
	K8S_KIND_SERVICE = 1,
	K8S_KIND_ENDPOINTSLICE = 2,
	K8S_KIND_LBPOOL = 3, /* xlb.io/v1alpha1 LoadBalancerIPPool,
				 * cluster-scoped: namespace "" */
};

/* An IP address as parsed from a string. */
struct k8s_ip {
	union xlb_addr addr; /* network order, v4 in addr.v4 */
	uint8_t family;	     /* XLB_AF_INET / XLB_AF_INET6 */
};

struct k8s_cidr {
	struct k8s_ip ip; /* host bits as written */
	uint8_t prefix_len;
};

struct k8s_label {
	const char *key;
	const char *value;
};

struct k8s_meta {
	const char *namespace; /* "default" when absent */
	const char *name;
	const char *uid;	      /* "" when absent */
	const char *resource_version; /* "" when absent */
	struct k8s_label *labels;
	size_t n_labels;
	struct k8s_label *annotations;
	size_t n_annotations;
};

enum k8s_svc_type {
	K8S_SVC_CLUSTER_IP = 0, /* default */
	K8S_SVC_NODE_PORT,
	K8S_SVC_LOAD_BALANCER,
	K8S_SVC_EXTERNAL_NAME,
};

enum k8s_traffic_policy {
	K8S_TP_CLUSTER = 0, /* default; "Global" is the old spelling */
	K8S_TP_LOCAL,
};

enum k8s_affinity {
	K8S_AFFINITY_NONE = 0,
	K8S_AFFINITY_CLIENT_IP,
};

enum k8s_ip_mode {
	K8S_IP_MODE_VIP = 0, /* default when ip is set */
	K8S_IP_MODE_PROXY,
};

enum k8s_ip_family_policy {
	K8S_IPFP_SINGLE = 0,   /* SingleStack, the default */
	K8S_IPFP_PREFER_DUAL,  /* PreferDualStack */
	K8S_IPFP_REQUIRE_DUAL, /* RequireDualStack */
};

struct k8s_svc_port {
	const char *name;	      /* "" when absent (single-port Services) */
	uint8_t proto;		      /* IPPROTO_TCP or IPPROTO_UDP (SCTP ports
				 * are dropped with a warning) */
	uint16_t port;		      /* 1..65535 */
	uint16_t target_port;	      /* number; 0 when named */
	const char *target_port_name; /* named targetPort, else NULL */
	uint16_t node_port;	      /* 0: none */
};

struct k8s_lb_ingress {
	bool has_ip; /* false: hostname-only entry */
	struct k8s_ip ip;
	const char *hostname; /* NULL when absent */
	enum k8s_ip_mode ip_mode;
};

struct k8s_service {
	enum k8s_svc_type type;
	bool headless;		    /* clusterIP "None" */
	struct k8s_ip *cluster_ips; /* clusterIPs[], else clusterIP */
	size_t n_cluster_ips;
	uint8_t *ip_families; /* XLB_AF_* from ipFamilies[] */
	size_t n_ip_families;
	struct k8s_svc_port *ports;
	size_t n_ports;
	struct k8s_ip *external_ips;
	size_t n_external_ips;
	enum k8s_traffic_policy external_traffic_policy;
	enum k8s_traffic_policy internal_traffic_policy;
	uint16_t health_check_node_port; /* 0: none */
	enum k8s_affinity session_affinity;
	uint32_t affinity_timeout;	/* seconds, 10800 default with
					 * ClientIP, 0 with None */
	struct k8s_cidr *source_ranges; /* loadBalancerSourceRanges */
	size_t n_source_ranges;
	struct k8s_lb_ingress *ingress; /* status.loadBalancer.ingress */
	size_t n_ingress;
	const char *load_balancer_ip;	 /* spec.loadBalancerIP, NULL: unset
					 * (deprecated upstream, still read) */
	const char *load_balancer_class; /* NULL: unset */
	enum k8s_ip_family_policy ip_family_policy;
	struct k8s_label *selector; /* spec.selector */
	size_t n_selector;
};

enum k8s_addr_type {
	K8S_ADDR_IPV4 = 0,
	K8S_ADDR_IPV6,
	K8S_ADDR_FQDN, /* deprecated: kept, never translated */
};

struct k8s_endpoint {
	struct k8s_ip *addrs;  /* addresses[]; only [0] is used */
	size_t n_addrs;	       /* 0 (or FQDN slice): endpoint ignored */
	bool ready;	       /* nil -> true */
	bool serving;	       /* nil -> true (k8s-spec §3, kube-proxy) */
	bool terminating;      /* nil -> false */
	const char *node_name; /* NULL when absent */
	const char *zone;      /* NULL when absent */
};

struct k8s_eps_port {
	const char *name; /* "" when absent */
	uint8_t proto;	  /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;	  /* 0: absent, port is then not usable */
};

struct k8s_endpointslice {
	const char *service_name; /* label kubernetes.io/service-name,
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
	K8S_ANNOUNCE_L2 = 0, /* default: one node answers ARP/NDP */
	K8S_ANNOUNCE_NONE,   /* allocate only (routed by someone else) */
	K8S_ANNOUNCE_BGP,    /* every eligible node hands it to BIRD */
};

/* xlb.io/v1alpha1 LoadBalancerIPPool (manifests/crd-lbpool.yaml). */
struct k8s_lbpool {
	struct k8s_pool_block *blocks; /* spec.blocks[], in order */
	size_t n_blocks;
	struct k8s_label *svc_selector; /* spec.serviceSelector.matchLabels */
	size_t n_svc_selector;
	const char **namespaces; /* spec.namespaces[]; none: any */
	size_t n_namespaces;
	bool auto_assign;		 /* spec.autoAssign, default true */
	bool avoid_buggy_ips;		 /* skip .0 and .255 (IPv4) */
	struct k8s_label *node_selector; /* spec.nodeSelector.matchLabels */
	size_t n_node_selector;
	const char **interfaces; /* spec.interfaces[]; none: every uplink */
	size_t n_interfaces;
	enum k8s_announce announce;
};

struct k8s_object {
	enum k8s_kind kind;
	struct k8s_meta meta;
	union {
		struct k8s_service svc;	      /* K8S_KIND_SERVICE */
		struct k8s_endpointslice eps; /* K8S_KIND_ENDPOINTSLICE */
		struct k8s_lbpool pool;	      /* K8S_KIND_LBPOOL */
	};
	unsigned int line; /* 1-based line in its source, 0: unknown */
	/* private */
	struct k8s_object *hnext;
	struct k8s_object *snext; /* EndpointSlices: the cache's chain by
				   * (namespace, service_name) */
	void *arena;
};

void k8s_object_free(struct k8s_object *o);
const char *k8s_kind_name(enum k8s_kind kind);
/* Value of a label, or NULL when the object does not carry it. */
const char *k8s_label(const struct k8s_object *o, const char *key);
/* Value of an annotation, or NULL when the object does not carry it. */
const char *k8s_annotation(const struct k8s_object *o, const char *key);
/* Every pair of @sel is among @labels (an empty selector matches all). */
bool k8s_labels_match(const struct k8s_label *sel, size_t n_sel, const struct k8s_label *labels,
		      size_t n_labels);
/*
 * Replace a Service's status.loadBalancer.ingress with @n VIP-mode IPs
 * (the allocator's result in file mode, where no API server stores it).
 * The memory comes from the object's arena. 0 or -ENOMEM, -EINVAL.
 */
int k8s_svc_set_ingress(struct k8s_object *o, const struct k8s_ip *ips, size_t n);
/* Parse one IPv4 or IPv6 address (no surrounding blanks). */
bool k8s_parse_ip(const char *s, struct k8s_ip *ip);
/* "ADDR/LEN", surrounding whitespace allowed, host bits kept as written. */
bool k8s_parse_cidr(const char *s, struct k8s_cidr *c);
/* "192.0.2.1" / "2001:db8::1" into @buf (INET6_ADDRSTRLEN bytes). */
const char *k8s_ip_str(const struct k8s_ip *ip, char *buf, size_t len);
/* @a - @b as a signed comparison of same-family addresses. */
int k8s_ip_cmp(const struct k8s_ip *a, const struct k8s_ip *b);

#endif /* XLB_K8S_OBJECTS_H */
