// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * discovery.k8s.io/v1 EndpointSlice: endpoints, their conditions and the
 * slice's ports (k8s-spec §3).
 */

#include <stdio.h>
#include <string.h>

#include "k8s/walk.h"

/* ---- EndpointSlice ---------------------------------------------------- */

static void parse_endpoint(struct pctx *p, knode *item, size_t i, struct k8s_endpoint *ep)
{
	struct k8s_endpointslice *e = &p->o->eps;
	knode *addrs, *cond;
	const char *v;
	char path[80];

	/* k8s-spec §3: ready nil -> true, serving nil -> true (as
	 * kube-proxy's endpointslicecache.go reads it), terminating nil ->
	 * false. */
	ep->ready = true;
	ep->serving = true;
	ep->terminating = false;

	snprintf(path, sizeof(path), "endpoints[%zu].addresses", i);
	addrs = k8s_get_seq(p, item, "addresses", path);
	if (addrs && e->addr_type != K8S_ADDR_FQDN) {
		size_t n = k8s_seq_len(p, addrs);
		uint8_t want = e->addr_type == K8S_ADDR_IPV6 ? XLB_AF_INET6 : XLB_AF_INET;

		ep->addrs = k8s_oalloc(p, n, sizeof(*ep->addrs));
		for (size_t j = 0; ep->addrs && j < n; j++) {
			knode *a = k8s_seq_item(p, addrs, j);
			struct k8s_ip *ip = &ep->addrs[ep->n_addrs];

			snprintf(path, sizeof(path), "endpoints[%zu].addresses[%zu]", i, j);
			if (!k8s_node_ip(p, a, path, ip))
				continue;
			if (ip->family != want) {
				k8s_oerr(p, a, "%s: \"%s\" does not match addressType %s", path,
					 k8s_scalar(p, a), want == XLB_AF_INET ? "IPv4" : "IPv6");
				continue;
			}
			ep->n_addrs++;
		}
	}

	snprintf(path, sizeof(path), "endpoints[%zu].conditions", i);
	cond = k8s_get_map(p, item, "conditions", path);
	snprintf(path, sizeof(path), "endpoints[%zu].conditions.ready", i);
	k8s_get_bool(p, cond, "ready", path, &ep->ready);
	snprintf(path, sizeof(path), "endpoints[%zu].conditions.serving", i);
	k8s_get_bool(p, cond, "serving", path, &ep->serving);
	snprintf(path, sizeof(path), "endpoints[%zu].conditions.terminating", i);
	k8s_get_bool(p, cond, "terminating", path, &ep->terminating);

	snprintf(path, sizeof(path), "endpoints[%zu].nodeName", i);
	v = k8s_get_str(p, item, "nodeName", path);
	if (v && *v)
		ep->node_name = k8s_ostrdup(p, v);
	snprintf(path, sizeof(path), "endpoints[%zu].zone", i);
	v = k8s_get_str(p, item, "zone", path);
	if (v && *v)
		ep->zone = k8s_ostrdup(p, v);
}

static void parse_eps_ports(struct pctx *p, knode *obj)
{
	struct k8s_endpointslice *e = &p->o->eps;
	knode *seq = k8s_get_seq(p, obj, "ports", "ports");
	char path[64];
	size_t n;

	if (!seq)
		return;
	n = k8s_seq_len(p, seq);
	e->ports = k8s_oalloc(p, n, sizeof(*e->ports));
	if (!e->ports)
		return;
	for (size_t i = 0; i < n; i++) {
		knode *item = k8s_seq_item(p, seq, i);
		struct k8s_eps_port *ep = &e->ports[e->n_ports];
		const char *name;
		long long v;
		bool present;

		if (!item || !k8s_is_map(p, item)) {
			k8s_oerr(p, item, "ports[%zu]: expected a mapping", i);
			continue;
		}
		snprintf(path, sizeof(path), "ports[%zu].name", i);
		name = k8s_get_str(p, item, "name", path);
		ep->name = "";
		if (name && *name) {
			ep->name = k8s_ostrdup(p, name);
			if (!k8s_is_dns1123_label(name))
				k8s_oerr(p, k8s_map_get(p, item, "name"),
					 "%s: \"%s\" is not a valid DNS label", path, name);
		}
		for (size_t j = 0; j < e->n_ports; j++)
			if (!strcmp(e->ports[j].name, ep->name))
				k8s_oerr(p, item, "%s: duplicate port name \"%s\"", path, ep->name);
		snprintf(path, sizeof(path), "ports[%zu].port", i);
		/* A nil port is legal ("all ports") but unusable: kube-proxy
		 * skips it, and so does translate. */
		if (k8s_get_int(p, item, "port", path, 0, 65535, &v, &present) && present)
			ep->port = (uint16_t)v;
		snprintf(path, sizeof(path), "ports[%zu].protocol", i);
		switch (k8s_get_proto(p, item, path, &ep->proto)) {
		case PROTO_OK:
			e->n_ports++;
			break;
		case PROTO_SCTP:
			/* Its Service already warned about this port. */
			k8s_onote(p, K8S_SEV_DEBUG, item, "%s: SCTP not supported, port ignored",
				  path);
			break;
		case PROTO_BAD:
			break;
		}
	}
}

void k8s_parse_endpointslice(struct pctx *p, knode *obj)
{
	struct k8s_endpointslice *e = &p->o->eps;
	const char *at = k8s_get_str(p, obj, "addressType", "addressType");
	knode *seq;

	e->service_name = k8s_label(p->o, "kubernetes.io/service-name");
	if (e->service_name && !*e->service_name)
		e->service_name = NULL;
	if (!e->service_name)
		k8s_onote(p, K8S_SEV_DEBUG, obj, "no kubernetes.io/service-name label: not used");

	if (!at) {
		k8s_oerr(p, obj, "addressType: missing");
		return;
	} else if (!strcmp(at, "IPv4")) {
		e->addr_type = K8S_ADDR_IPV4;
	} else if (!strcmp(at, "IPv6")) {
		e->addr_type = K8S_ADDR_IPV6;
	} else if (!strcmp(at, "FQDN")) {
		e->addr_type = K8S_ADDR_FQDN;
		k8s_onote(p, K8S_SEV_DEBUG, obj, "addressType FQDN: not used");
	} else {
		k8s_oerr(p, k8s_map_get(p, obj, "addressType"),
			 "addressType: \"%s\" is not IPv4, IPv6 or FQDN", at);
		return;
	}

	seq = k8s_get_seq(p, obj, "endpoints", "endpoints");
	if (seq) {
		size_t n = k8s_seq_len(p, seq);

		e->endpoints = k8s_oalloc(p, n, sizeof(*e->endpoints));
		for (size_t i = 0; e->endpoints && i < n; i++) {
			knode *item = k8s_seq_item(p, seq, i);

			if (!item || !k8s_is_map(p, item)) {
				k8s_oerr(p, item, "endpoints[%zu]: expected a mapping", i);
				continue;
			}
			parse_endpoint(p, item, i, &e->endpoints[e->n_endpoints++]);
		}
	}
	parse_eps_ports(p, obj);
}
