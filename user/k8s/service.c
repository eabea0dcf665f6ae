// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * v1 Service: ports, cluster IPs and families, policies, affinity, source
 * ranges and the LoadBalancer request and status (k8s-spec §2).
 */
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>

#include "k8s/walk.h"

/* ---- Service ---------------------------------------------------------- */

/* IntOrString: a JSON number / plain YAML integer is a port number,
 * anything else a port name. 0 or "" mean `port`. */
static void parse_target_port(struct pctx *p, knode *item, size_t i, struct k8s_svc_port *sp)
{
	knode *tp = k8s_map_get(p, item, "targetPort");
	char path[64];
	long long v;

	snprintf(path, sizeof(path), "spec.ports[%zu].targetPort", i);
	sp->target_port = sp->port;
	if (tp && k8s_is_scalar(p, tp) && k8s_scalar_is_int(p, tp)) {
		if (k8s_node_int(p, tp, path, 0, 65535, &v) && v)
			sp->target_port = (uint16_t)v;
	} else if (tp && k8s_is_scalar(p, tp)) {
		if (*k8s_scalar(p, tp)) {
			sp->target_port = 0;
			sp->target_port_name = k8s_ostrdup(p, k8s_scalar(p, tp));
			if (!k8s_is_iana_svc_name(k8s_scalar(p, tp)))
				k8s_oerr(
					p, tp,
					"%s: \"%s\" is neither a port number nor a valid port name",
					path, k8s_scalar(p, tp));
		}
	} else if (tp) {
		k8s_oerr(p, tp, "%s: expected a number or a name", path);
	}
}

/* spec.ports[@i] on its own. */
static void parse_svc_port(struct pctx *p, knode *item, size_t i, struct k8s_svc_port *sp)
{
	const char *name;
	char path[64];
	bool present;
	long long v;

	sp->name = "";
	snprintf(path, sizeof(path), "spec.ports[%zu]", i);
	if (!item || !k8s_is_map(p, item)) {
		k8s_oerr(p, item, "%s: expected a mapping", path);
		return;
	}
	snprintf(path, sizeof(path), "spec.ports[%zu].name", i);
	name = k8s_get_str(p, item, "name", path);
	if (name && *name) {
		sp->name = k8s_ostrdup(p, name);
		if (!k8s_is_dns1123_label(name))
			k8s_oerr(p, k8s_map_get(p, item, "name"),
				 "%s: \"%s\" is not a valid DNS label", path, name);
	}
	snprintf(path, sizeof(path), "spec.ports[%zu].protocol", i);
	k8s_get_proto(p, item, path, &sp->proto);

	snprintf(path, sizeof(path), "spec.ports[%zu].port", i);
	if (k8s_get_int(p, item, "port", path, 1, 65535, &v, &present)) {
		if (present)
			sp->port = (uint16_t)v;
		else
			k8s_oerr(p, item, "%s: missing", path);
	}

	snprintf(path, sizeof(path), "spec.ports[%zu].nodePort", i);
	if (k8s_get_int(p, item, "nodePort", path, 0, 65535, &v, &present) && present)
		sp->node_port = (uint16_t)v;
	parse_target_port(p, item, i, sp);
}

/* Cross-port rules of the API's validation, SCTP ports included. */
static void check_svc_ports(struct pctx *p, knode *ports, const struct k8s_service *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct k8s_svc_port *a = &s->ports[i];
		knode *item = k8s_seq_item(p, ports, i);

		if (n > 1 && !*a->name)
			k8s_oerr(
				p, item,
				"spec.ports[%zu].name: required when the Service has more than one port",
				i);
		for (size_t j = 0; j < i; j++) {
			const struct k8s_svc_port *b = &s->ports[j];

			if (*a->name && !strcmp(a->name, b->name))
				k8s_oerr(p, item,
					 "spec.ports[%zu].name: duplicate port name \"%s\"", i,
					 a->name);
			if (a->port && a->port == b->port && a->proto == b->proto)
				k8s_oerr(p, item, "spec.ports[%zu]: duplicate port %u/%s", i,
					 a->port, k8s_proto_name(a->proto));
			if (a->node_port && a->node_port == b->node_port && a->proto == b->proto)
				k8s_oerr(p, item,
					 "spec.ports[%zu].nodePort: duplicate nodePort %u/%s", i,
					 a->node_port, k8s_proto_name(a->proto));
		}
	}
}

static void parse_svc_ports(struct pctx *p, knode *spec)
{
	struct k8s_service *s = &p->o->svc;
	knode *ports = k8s_get_seq(p, spec, "ports", "spec.ports");
	size_t n, kept = 0;

	if (!ports)
		return;
	n = k8s_seq_len(p, ports);
	s->ports = k8s_oalloc(p, n, sizeof(*s->ports));
	if (!s->ports)
		return;
	for (size_t i = 0; i < n; i++)
		parse_svc_port(p, k8s_seq_item(p, ports, i), i, &s->ports[i]);
	check_svc_ports(p, ports, s, n);

	/* The datapath speaks TCP and UDP: SCTP ports are dropped. */
	for (size_t i = 0; i < n; i++) {
		if (s->ports[i].proto == IPPROTO_SCTP) {
			k8s_onote(p, K8S_SEV_WARN, k8s_seq_item(p, ports, i),
				  "spec.ports[%zu]: SCTP port %u not supported, ignored", i,
				  s->ports[i].port);
			continue;
		}
		s->ports[kept++] = s->ports[i];
	}
	s->n_ports = kept;
}

static void parse_ip_list(struct pctx *p, knode *parent, const char *key, const char *field,
			  struct k8s_ip **out, size_t *n_out)
{
	knode *seq = k8s_get_seq(p, parent, key, field);
	char path[64];
	size_t n;

	if (!seq)
		return;
	n = k8s_seq_len(p, seq);
	*out = k8s_oalloc(p, n, sizeof(**out));
	if (!*out)
		return;
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s[%zu]", field, i);
		if (k8s_node_ip(p, k8s_seq_item(p, seq, i), path, &(*out)[*n_out]))
			(*n_out)++;
	}
}

static void parse_cluster_ips(struct pctx *p, knode *spec)
{
	struct k8s_service *s = &p->o->svc;
	knode *seq = k8s_get_seq(p, spec, "clusterIPs", "spec.clusterIPs");
	knode *one = k8s_map_get(p, spec, "clusterIP");
	struct k8s_ip ip;
	char path[64];
	size_t n;

	if (one && !k8s_is_scalar(p, one)) {
		k8s_oerr(p, one, "spec.clusterIP: expected a string");
		one = NULL;
	}
	if (one && !strcmp(k8s_scalar(p, one), "None"))
		s->headless = true;
	else if (one && *k8s_scalar(p, one) && !k8s_parse_ip(k8s_scalar(p, one), &ip))
		k8s_oerr(p, one, "spec.clusterIP: invalid IP address \"%s\"", k8s_scalar(p, one));

	if (!seq) {
		/* Without clusterIPs, clusterIP alone says it all. */
		if (one && *k8s_scalar(p, one) && !s->headless &&
		    k8s_parse_ip(k8s_scalar(p, one), &ip)) {
			s->cluster_ips = k8s_oalloc(p, 1, sizeof(ip));
			if (s->cluster_ips) {
				s->cluster_ips[0] = ip;
				s->n_cluster_ips = 1;
			}
		}
		return;
	}
	n = k8s_seq_len(p, seq);
	s->cluster_ips = k8s_oalloc(p, n, sizeof(*s->cluster_ips));
	if (!s->cluster_ips)
		return;
	for (size_t i = 0; i < n; i++) {
		knode *item = k8s_seq_item(p, seq, i);

		snprintf(path, sizeof(path), "spec.clusterIPs[%zu]", i);
		if (item && k8s_is_scalar(p, item) && !strcmp(k8s_scalar(p, item), "None")) {
			s->headless = true;
			continue;
		}
		if (k8s_node_ip(p, item, path, &s->cluster_ips[s->n_cluster_ips]))
			s->n_cluster_ips++;
	}
	if (s->n_cluster_ips > 2 ||
	    (s->n_cluster_ips == 2 && s->cluster_ips[0].family == s->cluster_ips[1].family))
		k8s_oerr(p, seq, "spec.clusterIPs: at most one address per IP family");
}

static void parse_ip_families(struct pctx *p, knode *spec)
{
	struct k8s_service *s = &p->o->svc;
	knode *seq = k8s_get_seq(p, spec, "ipFamilies", "spec.ipFamilies");
	size_t n;

	if (!seq)
		return;
	n = k8s_seq_len(p, seq);
	s->ip_families = k8s_oalloc(p, n, 1);
	if (!s->ip_families)
		return;
	for (size_t i = 0; i < n; i++) {
		knode *item = k8s_seq_item(p, seq, i);
		const char *v = item && k8s_is_scalar(p, item) ? k8s_scalar(p, item) : "";
		uint8_t fam;

		if (!strcmp(v, "IPv4")) {
			fam = XLB_AF_INET;
		} else if (!strcmp(v, "IPv6")) {
			fam = XLB_AF_INET6;
		} else {
			k8s_oerr(p, item, "spec.ipFamilies[%zu]: \"%s\" is not IPv4 or IPv6", i, v);
			continue;
		}
		for (size_t j = 0; j < s->n_ip_families; j++)
			if (s->ip_families[j] == fam)
				k8s_oerr(p, item, "spec.ipFamilies[%zu]: duplicate family %s", i,
					 v);
		s->ip_families[s->n_ip_families++] = fam;
	}
	/* clusterIPs[i] belongs to ipFamilies[i] (k8s-spec §2). */
	for (size_t i = 0; i < s->n_ip_families && i < s->n_cluster_ips; i++)
		if (s->ip_families[i] != s->cluster_ips[i].family)
			k8s_oerr(p, seq,
				 "spec.clusterIPs[%zu]: family does not match spec.ipFamilies[%zu]",
				 i, i);
}

static void parse_policy(struct pctx *p, knode *spec, const char *key, bool allow_global,
			 enum k8s_traffic_policy *out)
{
	char path[64];
	const char *v;

	snprintf(path, sizeof(path), "spec.%s", key);
	v = k8s_get_str(p, spec, key, path);
	*out = K8S_TP_CLUSTER;
	if (!v || !*v || !strcmp(v, "Cluster") || (allow_global && !strcmp(v, "Global")))
		return;
	if (!strcmp(v, "Local")) {
		*out = K8S_TP_LOCAL;
		return;
	}
	k8s_oerr(p, k8s_map_get(p, spec, key), "%s: \"%s\" is not Cluster or Local", path, v);
}

static void parse_affinity(struct pctx *p, knode *spec)
{
	struct k8s_service *s = &p->o->svc;
	const char *v = k8s_get_str(p, spec, "sessionAffinity", "spec.sessionAffinity");
	knode *cfg, *cip;
	long long t;
	bool present;

	if (!v || !*v || !strcmp(v, "None"))
		return;
	if (strcmp(v, "ClientIP")) {
		k8s_oerr(p, k8s_map_get(p, spec, "sessionAffinity"),
			 "spec.sessionAffinity: \"%s\" is not None or ClientIP", v);
		return;
	}
	s->session_affinity = K8S_AFFINITY_CLIENT_IP;
	s->affinity_timeout = 10800;
	cfg = k8s_get_map(p, spec, "sessionAffinityConfig", "spec.sessionAffinityConfig");
	cip = k8s_get_map(p, cfg, "clientIP", "spec.sessionAffinityConfig.clientIP");
	if (k8s_get_int(p, cip, "timeoutSeconds",
			"spec.sessionAffinityConfig.clientIP.timeoutSeconds", 1, 86400, &t,
			&present) &&
	    present)
		s->affinity_timeout = (uint32_t)t;
}

static void parse_source_ranges(struct pctx *p, knode *spec)
{
	struct k8s_service *s = &p->o->svc;
	knode *seq = k8s_get_seq(p, spec, "loadBalancerSourceRanges",
				 "spec.loadBalancerSourceRanges");
	size_t n;

	if (!seq)
		return;
	n = k8s_seq_len(p, seq);
	s->source_ranges = k8s_oalloc(p, n, sizeof(*s->source_ranges));
	if (!s->source_ranges)
		return;
	for (size_t i = 0; i < n; i++) {
		knode *item = k8s_seq_item(p, seq, i);

		if (!item || !k8s_is_scalar(p, item) ||
		    !k8s_parse_cidr(k8s_scalar(p, item), &s->source_ranges[s->n_source_ranges])) {
			k8s_oerr(p, item, "spec.loadBalancerSourceRanges[%zu]: invalid CIDR \"%s\"",
				 i, item && k8s_is_scalar(p, item) ? k8s_scalar(p, item) : "");
			continue;
		}
		s->n_source_ranges++;
	}
}

static void parse_lb_status(struct pctx *p, knode *obj)
{
	struct k8s_service *s = &p->o->svc;
	knode *status = k8s_get_map(p, obj, "status", "status");
	knode *lb = k8s_get_map(p, status, "loadBalancer", "status.loadBalancer");
	knode *seq = k8s_get_seq(p, lb, "ingress", "status.loadBalancer.ingress");
	char path[80];
	size_t n;

	if (!seq)
		return;
	n = k8s_seq_len(p, seq);
	s->ingress = k8s_oalloc(p, n, sizeof(*s->ingress));
	if (!s->ingress)
		return;
	for (size_t i = 0; i < n; i++) {
		knode *item = k8s_seq_item(p, seq, i);
		struct k8s_lb_ingress *in = &s->ingress[s->n_ingress];
		knode *ip;
		const char *v;

		snprintf(path, sizeof(path), "status.loadBalancer.ingress[%zu]", i);
		if (!item || !k8s_is_map(p, item)) {
			k8s_oerr(p, item, "%s: expected a mapping", path);
			continue;
		}
		snprintf(path, sizeof(path), "status.loadBalancer.ingress[%zu].ip", i);
		ip = k8s_map_get(p, item, "ip");
		if (ip && k8s_node_ip(p, ip, path, &in->ip))
			in->has_ip = true;
		snprintf(path, sizeof(path), "status.loadBalancer.ingress[%zu].hostname", i);
		v = k8s_get_str(p, item, "hostname", path);
		if (v && *v)
			in->hostname = k8s_ostrdup(p, v);
		snprintf(path, sizeof(path), "status.loadBalancer.ingress[%zu].ipMode", i);
		v = k8s_get_str(p, item, "ipMode", path);
		if (v && !strcmp(v, "Proxy"))
			in->ip_mode = K8S_IP_MODE_PROXY;
		else if (v && *v && strcmp(v, "VIP"))
			k8s_oerr(p, k8s_map_get(p, item, "ipMode"),
				 "%s: \"%s\" is not VIP or Proxy", path, v);
		s->n_ingress++;
	}
}

/* What the allocator reads: requested address, class, family policy and
 * the selector (sharing between ETP Local Services compares it). */
static void parse_lb_request(struct pctx *p, knode *spec)
{
	struct k8s_service *s = &p->o->svc;
	const char *v;

	v = k8s_get_str(p, spec, "loadBalancerIP", "spec.loadBalancerIP");
	if (v && *v)
		s->load_balancer_ip = k8s_ostrdup(p, v);
	v = k8s_get_str(p, spec, "loadBalancerClass", "spec.loadBalancerClass");
	if (v && *v)
		s->load_balancer_class = k8s_ostrdup(p, v);
	v = k8s_get_str(p, spec, "ipFamilyPolicy", "spec.ipFamilyPolicy");
	if (!v || !*v || !strcmp(v, "SingleStack"))
		s->ip_family_policy = K8S_IPFP_SINGLE;
	else if (!strcmp(v, "PreferDualStack"))
		s->ip_family_policy = K8S_IPFP_PREFER_DUAL;
	else if (!strcmp(v, "RequireDualStack"))
		s->ip_family_policy = K8S_IPFP_REQUIRE_DUAL;
	else
		k8s_oerr(
			p, k8s_map_get(p, spec, "ipFamilyPolicy"),
			"spec.ipFamilyPolicy: \"%s\" is not SingleStack, PreferDualStack or RequireDualStack",
			v);
	k8s_parse_string_map(p, k8s_get_map(p, spec, "selector", "spec.selector"), "spec.selector",
			     &s->selector, &s->n_selector);
}

void k8s_parse_service(struct pctx *p, knode *obj)
{
	struct k8s_service *s = &p->o->svc;
	knode *spec = k8s_get_map(p, obj, "spec", "spec");
	const char *type;
	long long v;
	bool present;

	if (!spec) {
		if (!k8s_map_get(p, obj, "spec"))
			k8s_oerr(p, obj, "spec: missing");
		return;
	}
	type = k8s_get_str(p, spec, "type", "spec.type");
	if (!type || !*type || !strcmp(type, "ClusterIP"))
		s->type = K8S_SVC_CLUSTER_IP;
	else if (!strcmp(type, "NodePort"))
		s->type = K8S_SVC_NODE_PORT;
	else if (!strcmp(type, "LoadBalancer"))
		s->type = K8S_SVC_LOAD_BALANCER;
	else if (!strcmp(type, "ExternalName"))
		s->type = K8S_SVC_EXTERNAL_NAME;
	else
		k8s_oerr(p, k8s_map_get(p, spec, "type"), "spec.type: unknown type \"%s\"", type);

	parse_svc_ports(p, spec);
	parse_cluster_ips(p, spec);
	parse_ip_families(p, spec);
	parse_ip_list(p, spec, "externalIPs", "spec.externalIPs", &s->external_ips,
		      &s->n_external_ips);
	parse_policy(p, spec, "externalTrafficPolicy", true, &s->external_traffic_policy);
	parse_policy(p, spec, "internalTrafficPolicy", false, &s->internal_traffic_policy);
	if (k8s_get_int(p, spec, "healthCheckNodePort", "spec.healthCheckNodePort", 0, 65535, &v,
			&present) &&
	    present)
		s->health_check_node_port = (uint16_t)v;
	parse_affinity(p, spec);
	parse_source_ranges(p, spec);
	parse_lb_status(p, obj);
	parse_lb_request(p, spec);
}
