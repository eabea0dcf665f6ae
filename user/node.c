// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * This node as the datapath sees it: the addresses NodePorts answer on and
 * SNAT leaves from, the uplinks (which hook each gets) and the Pod veths
 * tc delivers into, and the kernel's port ranges around the SNAT range.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "agent.h"
#include "kube/source.h"
#include "lb/lease.h"
#include "lib/log.h"
#include "ports.h"
#include "serve/health.h"
#include "sync.h"

static bool in_cidr(const struct xlb_cidr *c, const struct xlb_addr_key *k)
{
	const uint8_t *a = (const uint8_t *)&c->addr, *b = (const uint8_t *)&k->addr;
	unsigned int bits = c->prefix_len;

	if (c->family != k->family)
		return false;
	for (unsigned int i = 0; bits; i++) {
		unsigned int n = bits >= 8 ? 8 : bits;
		uint8_t mask = (uint8_t)(0xff00 >> n);

		if ((a[i] ^ b[i]) & mask)
			return false;
		bits -= n;
	}
	return true;
}

/* --nodeport-addresses CIDRs keep only the addresses inside them. */
static bool np_allowed(const struct agent *a, const struct xlb_addr_key *k)
{
	if (!a->n_np_cidrs)
		return true;
	for (int i = 0; i < a->n_np_cidrs; i++)
		if (in_cidr(&a->np_cidrs[i], k))
			return true;
	return false;
}

/* The MAC of @ifname (a bond's own), in our network namespace. */
static int if_mac(const char *ifname, __u8 mac[6])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

#define MAX_NODE_ADDRS 64

/* Kubernetes mode: the Node's state, handed on to the Leases (labels) and
 * the health server (eligibility). true: it names this node's addresses. */
static bool node_object(struct agent *a, struct k8s_node_state *node)
{
	memset(node, 0, sizeof(*node));
	if (!a->src)
		return false;
	kube_source_node(a->src, node);
	if (a->leases)
		xlb_leases_set_labels(a->leases, node->known ? node->labels : "{}");
	xlb_health_set_node_eligible(a->health, node->eligible);
	return node->known && node->n_addrs;
}

/* --snat-address of @k's family: a source only, never a NodePort. */
static bool is_snat_addr(const struct agent *a, const struct xlb_addr_key *k)
{
	if (k->family == XLB_AF_INET)
		return a->snat_addr && k->addr.v4 == a->snat_addr;
	return a->has_snat6 && !memcmp(&k->addr, &a->snat_addr6, sizeof(k->addr));
}

/* IPv6 link-local (fe80::/10): valid on one link only, so never a NodePort
 * nor a SNAT source. */
static bool is_link_local6(const struct xlb_addr_key *k)
{
	return k->family == XLB_AF_INET6 && k->addr.bytes[0] == 0xfe &&
	       (k->addr.bytes[1] & 0xc0) == 0x80;
}

/* The Node's addresses that NodePorts answer on (--nodeport-addresses
 * primary: the first of each family). */
static size_t node_object_addrs(const struct agent *a, const struct k8s_node_state *node,
				struct xlb_addr_key *addrs)
{
	size_t na = 0;

	for (size_t i = 0; i < node->n_addrs && na < MAX_NODE_ADDRS; i++) {
		const struct xlb_addr_key *k = &node->addrs[i];
		bool seen_family = false;

		if (is_link_local6(k))
			continue;
		for (size_t j = 0; j < na; j++)
			seen_family |= addrs[j].family == k->family;
		if (a->np_primary && seen_family)
			continue;
		if (np_allowed(a, k) && !is_snat_addr(a, k))
			addrs[na++] = *k;
	}
	return na;
}

/* One IPv6 address of the node as rtnetlink reports it. */
struct addr6 {
	int ifindex;
	union xlb_addr addr;
	__u32 flags; /* IFA_F_* */
	__u8 scope;  /* RT_SCOPE_* */
};

/*
 * Every IPv6 address of the node, in the kernel's order (what `ip -6 addr`
 * prints: by scope, newest first). getifaddrs() cannot tell a tentative or
 * deprecated address, rtnetlink can. Returns the count or -errno.
 */
static int addrs6_dump(struct addr6 *out, size_t cap)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
	} req = {
		.nh = { .nlmsg_len = sizeof(req),
			.nlmsg_type = RTM_GETADDR,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1 },
		.ifa = { .ifa_family = AF_INET6 },
	};
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), n = 0, err = 0;
	static char buf[32768];
	bool done = false;

	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		err = -errno;
	while (!err && !done) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (len < 0) {
			err = errno == EINTR ? 0 : -errno;
			continue;
		}
		for (nh = (void *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			struct ifaddrmsg *ifa = NLMSG_DATA(nh);
			int alen = IFA_PAYLOAD(nh);
			struct rtattr *rta;
			struct addr6 a6 = { 0 };
			bool have = false;

			if (nh->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				err = e->error ? e->error : -EIO;
				break;
			}
			if (nh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET6)
				continue;
			a6.ifindex = ifa->ifa_index;
			a6.flags = ifa->ifa_flags;
			a6.scope = ifa->ifa_scope;
			for (rta = IFA_RTA(ifa); RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen)) {
				if (rta->rta_type == IFA_ADDRESS && RTA_PAYLOAD(rta) == 16) {
					memcpy(&a6.addr, RTA_DATA(rta), 16);
					have = true;
				} else if (rta->rta_type == IFA_FLAGS && RTA_PAYLOAD(rta) == 4) {
					memcpy(&a6.flags, RTA_DATA(rta), 4);
				}
			}
			if (have && (size_t)n < cap)
				out[n++] = a6;
		}
	}
	close(fd);
	return err ? err : n;
}

/*
 * A global (or ULA) IPv6 address that NodePorts answer on: not link-local
 * or host scope, not tentative (duplicate address detection has not
 * finished: it may belong to another node) or DAD-failed. A deprecated
 * address still accepts connections (RFC 4862 §5.5.4), so NodePorts keep
 * answering on it, but it is never chosen as a SNAT source.
 */
static bool addr6_serves(const struct addr6 *a6)
{
	return a6->scope == RT_SCOPE_UNIVERSE && !(a6->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED));
}

static bool addr6_snat_ok(const struct addr6 *a6)
{
	return addr6_serves(a6) && !(a6->flags & IFA_F_DEPRECATED);
}

#define MAX_ADDRS6 256

/* Each uplink's SNAT sources (its first IPv4 and first usable global IPv6
 * address, or --snat-address per family) and MAC into @ifs; without the
 * Node's addresses (@from_node false) its IPv4 and global IPv6 addresses
 * are the NodePort addresses too, appended to @addrs. */
static int iface_addrs(const struct agent *a, bool from_node, struct xlb_addr_key *addrs,
		       size_t *na, struct xlb_node_iface *ifs, size_t *ni)
{
	static struct addr6 a6[MAX_ADDRS6];
	struct ifaddrs *ifa, *it;
	int n6 = addrs6_dump(a6, MAX_ADDRS6);

	if (n6 < 0) {
		pr_warn("list IPv6 addresses: %s; no IPv6 NodePort or SNAT this time\n",
			strerror(-n6));
		n6 = 0;
	}
	if (getifaddrs(&ifa))
		return -errno;
	for (int i = 0; i < a->n_ifaces; i++) {
		union xlb_addr first6 = { 0 };
		bool have6 = false;
		__be32 first = 0;

		for (it = ifa; it; it = it->ifa_next) {
			struct sockaddr_in *sin = (void *)it->ifa_addr;

			if (!sin || sin->sin_family != AF_INET ||
			    strcmp(it->ifa_name, a->ifnames[i]))
				continue;
			if (!first)
				first = sin->sin_addr.s_addr;
			if (!from_node && *na < MAX_NODE_ADDRS) {
				struct xlb_addr_key k = { .addr.v4 = sin->sin_addr.s_addr,
							  .family = XLB_AF_INET };

				if (np_allowed(a, &k) && !is_snat_addr(a, &k))
					addrs[(*na)++] = k;
			}
		}
		for (int j = 0; j < n6; j++) {
			struct xlb_addr_key k = { .addr = a6[j].addr, .family = XLB_AF_INET6 };

			if (a6[j].ifindex != a->ifindex[i] || !addr6_serves(&a6[j]))
				continue;
			if (!have6 && addr6_snat_ok(&a6[j])) {
				first6 = a6[j].addr;
				have6 = true;
			}
			if (!from_node && *na < MAX_NODE_ADDRS && np_allowed(a, &k) &&
			    !is_snat_addr(a, &k))
				addrs[(*na)++] = k;
		}
		if (!first && !have6 && !a->snat_addr && !a->has_snat6) {
			pr_warn("interface %s has no IPv4 or global IPv6 address: no NodePort on it, no SNAT through it\n",
				a->ifnames[i]);
			continue;
		}
		ifs[*ni] = (struct xlb_node_iface){
			.ifindex = a->ifindex[i],
			.addr4 = a->snat_addr ? a->snat_addr : first,
			.snat_only = !!a->snat_addr,
			.addr6 = a->has_snat6 ? a->snat_addr6 : first6,
			.snat6_only = a->has_snat6,
		};
		if (if_mac(a->ifnames[i], ifs[*ni].mac))
			pr_warn("interface %s: no MAC address read; frames to other hosts are not filtered on it\n",
				a->ifnames[i]);
		(*ni)++;
	}
	freeifaddrs(ifa);
	return 0;
}

/* healthCheckNodePorts listen where NodePorts answer when
 * --nodeport-addresses narrows that; else on every address. */
static void health_bind(struct agent *a, const struct xlb_addr_key *addrs, size_t na)
{
	bool narrowed = a->n_np_cidrs || a->np_primary;
	struct sockaddr_storage hc[MAX_NODE_ADDRS];
	size_t nh = 0;

	for (size_t i = 0; narrowed && i < na; i++) {
		memset(&hc[nh], 0, sizeof(hc[nh]));
		if (addrs[i].family == XLB_AF_INET) {
			struct sockaddr_in *sin = (void *)&hc[nh];

			sin->sin_family = AF_INET;
			sin->sin_addr.s_addr = addrs[i].addr.v4;
		} else {
			struct sockaddr_in6 *sin6 = (void *)&hc[nh];

			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, &addrs[i].addr, sizeof(sin6->sin6_addr));
		}
		nh++;
	}
	xlb_health_set_bind_addrs(a->health, narrowed ? hc : NULL, nh);
}

/*
 * NodePort answers on the node's addresses: the Node object's InternalIP
 * and ExternalIP addresses of both families in Kubernetes mode (only the
 * first InternalIP, else ExternalIP, per family with --nodeport-addresses
 * primary), else the IPv4 and global/ULA IPv6 addresses of the served
 * interfaces; IPv6 link-local never; --nodeport-addresses CIDRs (either
 * family) filter them. SNAT uses each interface's first address of each
 * family (IPv6: not deprecated), or --snat-address of that family.
 */
int agent_node_addresses(struct agent *a)
{
	struct xlb_addr_key addrs[MAX_NODE_ADDRS];
	struct xlb_node_iface ifs[MAX_IFACES];
	struct k8s_node_state node;
	bool from_node = node_object(a, &node);
	size_t na = from_node ? node_object_addrs(a, &node, addrs) : 0, nn = na, ni = 0;
	int err;

	err = iface_addrs(a, from_node, addrs, &na, ifs, &ni);
	if (err)
		return err;
	health_bind(a, addrs, na);
	err = xlb_sync_node(a->sync, addrs, na, ifs, ni);
	if (err > 0)
		err = 0; /* changed */
	else if (!err && from_node == a->addrs_from_node)
		return 0; /* as before: nothing to say */
	a->addrs_from_node = from_node;
	if (!err && from_node)
		pr_info("node: %zu NodePort address(es) from the Node object, %zu SNAT interface(s)\n",
			nn, ni);
	else if (!err) {
		size_t n6 = 0;

		for (size_t i = 0; i < na; i++)
			n6 += addrs[i].family == XLB_AF_INET6;
		pr_info("node: %zu IPv4 and %zu IPv6 address(es) on %d interface(s)\n", na - n6, n6,
			a->n_ifaces);
	}
	return err;
}

/*
 * The device maps: uplinks in XDP mode (the only XDP redirect targets) and
 * the host ends of Pod veths (every veth that is not an uplink: its peer
 * lives in a Pod's namespace), which tc delivers into directly.
 */
int agent_sync_devs(struct agent *a)
{
	__u32 tx[MAX_IFACES], peer[XLB_MAX_DEVS];
	struct if_nameindex *ni, *it;
	size_t ntx = 0, np = 0;
	char drv[32];

	for (int i = 0; i < a->n_ifaces; i++) {
		if (a->hook[i] != XLB_ATTACH_XDP)
			continue;
		/* XDP_TX/redirect into a veth is lost unless its peer runs
		 * XDP: XDP on a veth (--attach xdp) hands its translated
		 * packets to tc instead. */
		if (!xlb_if_driver(a->ifnames[i], drv, sizeof(drv)) && !strcmp(drv, "veth"))
			continue;
		tx[ntx++] = a->ifindex[i];
	}
	ni = a->local_stack ? NULL : if_nameindex();
	for (it = ni; it && it->if_index && np < XLB_MAX_DEVS; it++) {
		bool uplink = false;

		for (int i = 0; i < a->n_ifaces && !uplink; i++)
			uplink = a->ifindex[i] == (int)it->if_index;
		if (uplink || xlb_if_driver(it->if_name, drv, sizeof(drv)) || strcmp(drv, "veth"))
			continue;
		peer[np++] = it->if_index;
	}
	if (ni)
		if_freenameindex(ni);
	return xlb_sync_devs(a->sync, tx, ntx, peer, np);
}

/* Each uplink gets XDP (+ tc egress, + tc ingress for what XDP hands on)
 * or the tc path (ingress and egress), per --attach and its driver. */
int agent_attach_uplinks(struct agent *a)
{
	char why[160];

	for (int i = 0; i < a->n_ifaces; i++) {
		char drv[32];

		a->hook[i] = xlb_attach_choose(a->ifnames[i], a->attach, why, sizeof(why));
		pr_info("%s: %s datapath (%s)\n", a->ifnames[i],
			a->hook[i] == XLB_ATTACH_XDP ? "XDP" : "tc", why);
		if (a->hook[i] == XLB_ATTACH_XDP &&
		    !xlb_if_driver(a->ifnames[i], drv, sizeof(drv)) && !strcmp(drv, "veth"))
			pr_warn("%s: XDP on a veth: translated packets leave through tc (XDP_TX into a veth is lost unless its peer runs XDP), frames from senders on this host arrive CHECKSUM_PARTIAL, which XDP cannot rewrite; --attach auto gives a veth the tc path\n",
				a->ifnames[i]);
	}
	/* Redirect targets before the programs that redirect into them. */
	if (agent_sync_devs(a))
		return -1;
	for (int i = 0; i < a->n_ifaces; i++) {
		int err;

		if (a->hook[i] == XLB_ATTACH_XDP) {
			err = xlb_attach_tc(a->ifindex[i], a->ifnames[i], xlb_dp_tc_fd(a->dp),
					    xlb_dp_tc_ingress_fd(a->dp));
			if (!err)
				err = xlb_attach_xdp(a->ifindex[i], a->ifnames[i],
						     xlb_dp_xdp_fd(a->dp));
		} else {
			/* tc first, then XDP off: no gap where neither runs. */
			err = xlb_attach_tc(a->ifindex[i], a->ifnames[i], xlb_dp_tc_fd(a->dp),
					    xlb_dp_tc_full_fd(a->dp));
			if (!err)
				err = xlb_detach_xdp(a->ifindex[i], a->ifnames[i]);
		}
		if (err)
			return err;
	}
	return 0;
}

/* A masquerade rule (a CNI's, with --random-fully) that may pick the SNAT
 * range's ports on the node address: best effort, from whichever of
 * iptables-save and nft the node has. */
static void masq_check(__u32 lo, __u32 hi)
{
	static const struct {
		const char *tool, *cmd;
	} cmds[] = {
		{ "iptables", "iptables-save -t nat 2>/dev/null" },
		{ "nft", "nft list ruleset 2>/dev/null" },
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		size_t cap = 1 << 20, n = 0, r;
		char *buf = malloc(cap + 1), line[160];
		FILE *f = buf ? popen(cmds[i].cmd, "r") : NULL;

		if (!f) {
			free(buf);
			continue;
		}
		while (n < cap && (r = fread(buf + n, 1, cap - n, f)) > 0)
			n += r;
		pclose(f);
		buf[n] = '\0';
		if (xlb_masq_overlaps(buf, lo, hi, line, sizeof(line)))
			pr_warn("%s: a masquerade rule may pick SNAT ports %u-%u on the node address: \"%s\"; use --snat-address or move --snat-ports\n",
				cmds[i].tool, lo, hi, line);
		free(buf);
	}
}

/*
 * The kernel cannot see xlb's SNAT tuples: reserve the SNAT range so it
 * never picks those ports for its own connections, and tell the datapath
 * the ephemeral range, whose client ports it must not keep on a shared
 * node address. A failure is only a warning: the datapath still works,
 * with the collisions the messages name.
 */
void agent_snat_ports_setup(struct agent *a)
{
	struct xlb_cfg *c = &a->dpo.cfg;
	__u32 lo, hi;
	int err;

	if (getrandom(&c->snat_seed, sizeof(c->snat_seed), 0) != sizeof(c->snat_seed))
		c->snat_seed = (__u32)time(NULL) ^ (__u32)getpid();
	err = xlb_port_range_read(XLB_SYSCTL_PORT_RANGE, &lo, &hi);
	if (err) {
		pr_warn("read %s: %s; assuming 32768-60999\n", XLB_SYSCTL_PORT_RANGE,
			strerror(-err));
	} else {
		c->eph_port_min = lo;
		c->eph_port_max = hi;
		if (lo <= c->snat_port_max && c->snat_port_min <= hi)
			pr_warn("ip_local_port_range %u-%u overlaps --snat-ports %u-%u: the reservation below keeps the kernel off them, but better move one of the two\n",
				lo, hi, c->snat_port_min, c->snat_port_max);
	}
	err = xlb_ports_reserve(XLB_SYSCTL_RESERVED, c->snat_port_min, c->snat_port_max);
	if (err < 0)
		pr_warn("reserve SNAT ports %u-%u in %s: %s; the node's own connections may collide with SNATed flows\n",
			c->snat_port_min, c->snat_port_max, XLB_SYSCTL_RESERVED, strerror(-err));
	else if (err)
		pr_info("SNAT ports %u-%u added to net.ipv4.ip_local_reserved_ports\n",
			c->snat_port_min, c->snat_port_max);
	masq_check(c->snat_port_min, c->snat_port_max);
	pr_info("SNAT: %s\n",
		a->snat_addr ? "dedicated --snat-address, client ports kept" :
			       "node addresses, client ports kept outside ip_local_port_range");
}
