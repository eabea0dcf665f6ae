// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <linux/icmp.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "pkt.h"

void ip6(const char *text, __u8 *out)
{
	if (inet_pton(AF_INET6, text, out) != 1) {
		fprintf(stderr, "ip6: bad address %s\n", text);
		abort();
	}
}

__u32 ip4(const char *dotted)
{
	struct in_addr a;

	if (inet_pton(AF_INET, dotted, &a) != 1)
		return 0;
	return a.s_addr;
}

/* One's complement sum of @len bytes as 16-bit big-endian words. */
static __u32 sum16(const __u8 *p, size_t len, __u32 s)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (p[i] << 8) | p[i + 1];
	if (len & 1)
		s += p[len - 1] << 8;
	return s;
}

static __u16 fold(__u32 s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

static __u32 pseudo(const struct iphdr *ip, __u16 l4len)
{
	__u32 s = 0;

	s = sum16((const __u8 *)&ip->saddr, 4, s);
	s = sum16((const __u8 *)&ip->daddr, 4, s);
	s += ip->protocol;
	s += l4len;
	return s;
}

size_t pkt_l3_off(const __u8 *buf)
{
	const struct ethhdr *eth = (const void *)buf;

	return eth->h_proto == htons(ETH_P_8021Q) ? 18 : 14;
}

static __u16 ethertype(const __u8 *buf)
{
	size_t l3 = pkt_l3_off(buf);

	return (buf[l3 - 2] << 8) | buf[l3 - 1];
}

/* IPv6 pseudo-header (RFC 8200 8.1) of an upper-layer packet. */
static __u32 pseudo6(const __u8 *ip6, __u32 l4len, __u8 nh)
{
	__u32 s = sum16(ip6 + 8, 32, 0);

	s += l4len >> 16;
	s += l4len & 0xffff;
	s += nh;
	return s;
}

#define IP6_HLEN 40
#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif

static size_t pkt_build6(const struct pkt_spec *s, __u8 *buf, size_t l3)
{
	__u8 *ip6 = buf + l3, *cur = ip6 + IP6_HLEN, *l4, *pl;
	__u8 first = s->n_ext ? s->ext[0] : s->proto;
	size_t l4len, len;

	buf[l3 - 2] = ETH_P_IPV6 >> 8;
	buf[l3 - 1] = ETH_P_IPV6 & 0xff;
	for (int i = 0; i < s->n_ext; i++) {
		__u8 nh = i + 1 < s->n_ext ? s->ext[i + 1] : s->proto;

		memset(cur, 0, 8);
		cur[0] = nh;
		if (s->ext[i] == 44) {
			cur[2] = s->frag6 >> 8;
			cur[3] = s->frag6 & 0xff;
			cur[4] = s->frag_id >> 24;
			cur[5] = s->frag_id >> 16;
			cur[6] = s->frag_id >> 8;
			cur[7] = s->frag_id;
		} else if (s->ext[i] == 43) {
			cur[2] = 4; /* segment routing type, no segments listed */
			cur[3] = s->ext_segs;
		} else if (s->ext[i] == 0 || s->ext[i] == 60) {
			cur[2] = 1; /* PadN over the remaining 4 bytes */
			cur[3] = 4;
		} else {
			cur[1] = 0; /* AH: length in 4-byte units - 2: 8 bytes */
		}
		cur += 8;
	}
	l4 = cur;
	l4len = (s->proto == IPPROTO_TCP ? sizeof(struct tcphdr) :
		 s->proto == IPPROTO_UDP ? sizeof(struct udphdr) :
					   8) +
		s->payload;
	ip6[0] = 0x60 | (s->tclass >> 4);
	ip6[1] = (__u8)(s->tclass << 4);
	ip6[4] = (__u8)((l4 - ip6 - IP6_HLEN + l4len) >> 8);
	ip6[5] = (__u8)(l4 - ip6 - IP6_HLEN + l4len);
	ip6[6] = first;
	ip6[7] = s->ttl ? s->ttl : 64;
	memcpy(ip6 + 8, s->saddr6, 16);
	memcpy(ip6 + 24, s->daddr6, 16);

	if (s->proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)l4;

		th->source = htons(s->sport);
		th->dest = htons(s->dport);
		th->seq = htonl(1000);
		th->ack_seq = htonl(s->tcp_flags & 0x10 ? 2000 : 0);
		th->doff = 5;
		l4[13] = s->tcp_flags;
		th->window = htons(65535);
		pl = l4 + sizeof(*th);
	} else if (s->proto == IPPROTO_UDP) {
		struct udphdr *uh = (void *)l4;

		uh->source = htons(s->sport);
		uh->dest = htons(s->dport);
		uh->len = htons(l4len);
		pl = l4 + sizeof(*uh);
	} else {
		l4[0] = 128; /* echo request */
		pl = l4 + 8;
	}
	for (size_t i = 0; i < s->payload; i++)
		pl[i] = (__u8)(i * 7 + 1);
	if (s->proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)l4;

		th->check = htons(fold(sum16(l4, l4len, pseudo6(ip6, l4len, s->proto))));
	} else if (s->proto == IPPROTO_UDP && !s->udp_nocsum) {
		struct udphdr *uh = (void *)l4;
		__u16 c = fold(sum16(l4, l4len, pseudo6(ip6, l4len, s->proto)));

		uh->check = htons(c ? c : 0xffff);
	} else if (s->proto != IPPROTO_UDP) {
		__u16 c = fold(sum16(l4, l4len, pseudo6(ip6, l4len, IPPROTO_ICMPV6)));

		l4[2] = c >> 8;
		l4[3] = c & 0xff;
	}
	len = l4 - buf + l4len;
	return len < 60 ? 60 : len;
}

size_t pkt_build(const struct pkt_spec *s, __u8 *buf)
{
	size_t l3 = s->vlan ? 18 : 14, l4len, len;
	struct ethhdr *eth = (void *)buf;
	struct iphdr *ip = (void *)(buf + l3);
	__u8 *l4 = (__u8 *)(ip + 1), *pl;

	memset(buf, 0, PKT_MAX);
	memcpy(eth->h_dest, s->dmac, 6);
	memcpy(eth->h_source, s->smac, 6);
	if (s->vlan) {
		eth->h_proto = htons(ETH_P_8021Q);
		buf[14] = 0;
		buf[15] = 100;
		buf[16] = ETH_P_IP >> 8;
		buf[17] = ETH_P_IP & 0xff;
	} else {
		eth->h_proto = htons(ETH_P_IP);
	}
	if (s->v6)
		return pkt_build6(s, buf, l3);
	l4len = (s->proto == IPPROTO_TCP ? sizeof(struct tcphdr) :
		 s->proto == IPPROTO_UDP ? sizeof(struct udphdr) :
					   sizeof(struct icmphdr)) +
		s->payload;
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(sizeof(*ip) + l4len);
	ip->id = htons(0x1234);
	ip->frag_off = htons(s->frag_off);
	ip->ttl = s->ttl ? s->ttl : 64;
	ip->protocol = s->proto;
	ip->saddr = s->saddr;
	ip->daddr = s->daddr;
	ip->check = htons(fold(sum16((__u8 *)ip, sizeof(*ip), 0)));

	if (s->proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)l4;

		th->source = htons(s->sport);
		th->dest = htons(s->dport);
		th->seq = htonl(1000);
		th->ack_seq = htonl(s->tcp_flags & 0x10 ? 2000 : 0);
		th->doff = 5;
		l4[13] = s->tcp_flags;
		th->window = htons(65535);
		pl = l4 + sizeof(*th);
	} else if (s->proto == IPPROTO_UDP) {
		struct udphdr *uh = (void *)l4;

		uh->source = htons(s->sport);
		uh->dest = htons(s->dport);
		uh->len = htons(l4len);
		pl = l4 + sizeof(*uh);
	} else {
		struct icmphdr *ic = (void *)l4;

		ic->type = ICMP_ECHO;
		pl = l4 + sizeof(*ic);
	}
	for (size_t i = 0; i < s->payload; i++)
		pl[i] = (__u8)(i * 7 + 1);

	if (s->proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)l4;

		th->check = htons(fold(sum16(l4, l4len, pseudo(ip, l4len))));
	} else if (s->proto == IPPROTO_UDP && !s->udp_nocsum) {
		struct udphdr *uh = (void *)l4;
		__u16 c = fold(sum16(l4, l4len, pseudo(ip, l4len)));

		uh->check = htons(c ? c : 0xffff);
	} else if (s->proto == IPPROTO_ICMP) {
		struct icmphdr *ic = (void *)l4;

		ic->checksum = htons(fold(sum16(l4, l4len, 0)));
	}
	len = l3 + sizeof(*ip) + l4len;
	return len < 60 ? 60 : len; /* Ethernet minimum, zero padded */
}

size_t pkt_build_icmp6_err(const struct pkt_spec *outer, const __u8 *quote, size_t qlen, __u8 type,
			   __u8 code, __u32 mtu, __u8 *buf)
{
	struct pkt_spec s = *outer;
	size_t l3, len;
	__u8 *ip6, *ic;
	__u16 c;

	s.v6 = true;
	s.proto = IPPROTO_ICMPV6;
	s.payload = qlen;
	s.n_ext = 0;
	pkt_build(&s, buf);
	l3 = pkt_l3_off(buf);
	ip6 = buf + l3;
	ic = ip6 + IP6_HLEN;
	ic[0] = type;
	ic[1] = code;
	ic[2] = ic[3] = 0;
	ic[4] = mtu >> 24;
	ic[5] = mtu >> 16;
	ic[6] = mtu >> 8;
	ic[7] = mtu;
	memcpy(ic + 8, quote, qlen);
	c = fold(sum16(ic, 8 + qlen, pseudo6(ip6, 8 + qlen, IPPROTO_ICMPV6)));
	ic[2] = c >> 8;
	ic[3] = c & 0xff;
	len = l3 + IP6_HLEN + 8 + qlen;
	return len < 60 ? 60 : len;
}

static int verify_l3l4(const __u8 *p, size_t avail, bool quoted)
{
	const struct iphdr *ip = (const void *)p;
	size_t ihl, tot;

	if (avail < sizeof(*ip))
		return -4;
	ihl = ip->ihl * 4;
	tot = ntohs(ip->tot_len);
	if (ihl < 20 || avail < ihl)
		return -4;
	if (fold(sum16(p, ihl, 0)) != 0)
		return -1;
	if (quoted)
		return 0; /* a quoted packet is cut short: L4 unverifiable */
	if (tot > avail || tot < ihl)
		return -4;
	p += ihl;
	tot -= ihl;
	if (ip->protocol == IPPROTO_TCP) {
		if (fold(sum16(p, tot, pseudo(ip, tot))) != 0)
			return -2;
	} else if (ip->protocol == IPPROTO_UDP) {
		const struct udphdr *uh = (const void *)p;

		if (uh->check && fold(sum16(p, tot, pseudo(ip, tot))) != 0)
			return -2;
	} else if (ip->protocol == IPPROTO_ICMP) {
		if (fold(sum16(p, tot, 0)) != 0)
			return -3;
		if (p[0] == ICMP_DEST_UNREACH)
			return verify_l3l4(p + 8, tot - 8, true);
	}
	return 0;
}

/* IPv6: the upper-layer checksum (TCP, UDP, ICMPv6, through extension
 * headers), and the quote of an ICMPv6 error is not checked (cut short).
 * A fragment's L4 checksum covers the whole datagram: not checked. */
static int verify6(const __u8 *ip6, size_t avail)
{
	size_t plen, off = IP6_HLEN;
	__u8 nh;

	if (avail < IP6_HLEN || (ip6[0] >> 4) != 6)
		return -4;
	plen = (ip6[4] << 8) | ip6[5];
	if (IP6_HLEN + plen > avail)
		return -4;
	nh = ip6[6];
	while (nh == 0 || nh == 43 || nh == 60 || nh == 44 || nh == 51) {
		size_t hlen;

		if (off + 8 > IP6_HLEN + plen)
			return -4;
		if (nh == 44)
			return 0;
		hlen = nh == 51 ? (ip6[off + 1] + 2) * 4 : (ip6[off + 1] + 1) * 8;
		nh = ip6[off];
		off += hlen;
	}
	if (off > IP6_HLEN + plen)
		return -4;
	if (nh == IPPROTO_TCP || nh == IPPROTO_UDP || nh == IPPROTO_ICMPV6) {
		size_t l4len = IP6_HLEN + plen - off;

		if (nh == IPPROTO_UDP && l4len >= 8 && !ip6[off + 6] && !ip6[off + 7])
			return 0; /* no checksum: the tests send it on purpose */
		if (fold(sum16(ip6 + off, l4len, pseudo6(ip6, l4len, nh))) != 0)
			return nh == IPPROTO_ICMPV6 ? -3 : -2;
	}
	return 0;
}

int pkt_verify_csums(const __u8 *buf, size_t len)
{
	size_t l3 = pkt_l3_off(buf);

	if (len < l3)
		return -4;
	if (ethertype(buf) == ETH_P_IPV6)
		return verify6(buf + l3, len - l3);
	return verify_l3l4(buf + l3, len - l3, false);
}

void pkt_describe(const __u8 *buf, size_t len, char *out, size_t out_len)
{
	size_t l3 = pkt_l3_off(buf);
	const struct iphdr *ip = (const void *)(buf + l3);
	const __u8 *l4 = buf + l3 + ip->ihl * 4;
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

	if (ethertype(buf) == ETH_P_IPV6 && len >= l3 + IP6_HLEN + 4) {
		const __u8 *ip6 = buf + l3, *q = ip6 + IP6_HLEN;

		inet_ntop(AF_INET6, ip6 + 8, s, sizeof(s));
		inet_ntop(AF_INET6, ip6 + 24, d, sizeof(d));
		snprintf(out, out_len, "[%s]:%u -> [%s]:%u nh %u hlim %u len %zu", s,
			 (q[0] << 8) | q[1], d, (q[2] << 8) | q[3], ip6[6], ip6[7], len);
		return;
	}
	if (len < l3 + sizeof(*ip) + 4) {
		snprintf(out, out_len, "(%zu bytes)", len);
		return;
	}
	inet_ntop(AF_INET, &ip->saddr, s, sizeof(s));
	inet_ntop(AF_INET, &ip->daddr, d, sizeof(d));
	snprintf(out, out_len, "%s:%u -> %s:%u proto %u ttl %u len %zu", s, (l4[0] << 8) | l4[1], d,
		 (l4[2] << 8) | l4[3], ip->protocol, ip->ttl, len);
}

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "setup: '%s' failed (%d)\n", cmd, rc);
	return rc;
}

/* ioctl, not /sys: sysfs shows the netns it was mounted in. */
static int read_mac(const char *ifname, __u8 *mac)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	if (fd < 0)
		return -errno;
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

const __u8 pkt_mac_client[6] = { 2, 0, 0, 0, 0, 2 };
const __u8 pkt_mac_h50[6] = { 2, 0, 0, 0, 0, 0x50 };
const __u8 pkt_mac_gw1[6] = { 2, 0, 0, 0, 1, 2 };

int pkt_node_netns(struct pkt_node *n)
{
	static const char *const cmds[] = {
		"ip link set lo up",
		"ip link add xn0 type veth peer name xc0",
		"ip link add xn1 type veth peer name xr0",
		"ip link set xn0 up",
		"ip link set xc0 up",
		"ip link set xn1 up",
		"ip link set xr0 up",
		"ip addr add 10.0.0.1/24 dev xn0",
		"ip addr add 10.0.1.1/24 dev xn1",
		"ip neigh replace 10.0.0.2 lladdr 02:00:00:00:00:02 dev xn0 nud permanent",
		"ip neigh replace 10.0.0.3 lladdr 02:00:00:00:00:02 dev xn0 nud permanent",
		"ip neigh replace 10.0.0.50 lladdr 02:00:00:00:00:50 dev xn0 nud permanent",
		"ip neigh replace 10.0.1.2 lladdr 02:00:00:00:01:02 dev xn1 nud permanent",
		"ip route add 10.2.0.0/16 via 10.0.1.2 dev xn1",
		"ip route add 10.3.0.0/16 via 10.0.1.3 dev xn1",
		"ip route add 10.4.0.0/16 via 10.0.1.2 dev xn1 mtu lock 1000",
		/* a local Pod's veth (its peer stays here: the tests only
		 * look at what the programs decide) */
		"ip link add xp0 type veth peer name xp1",
		"ip link set xp0 up",
		"ip link set xp1 up",
		"ip addr add 10.1.1.1/32 dev xp0",
		"ip route add 10.1.1.2/32 dev xp0",
		"ip neigh replace 10.1.1.2 lladdr 02:00:00:00:10:02 dev xp0 nud permanent",
		"sysctl -qw net.ipv4.ip_forward=1",
		/* IPv6, the same shape (fd00::/64 clients, fd00:1::/64 the
		 * next hops, remote Pods fd00:2::/48, local Pod fd00:1:1::2) */
		"sysctl -qw net.ipv6.conf.all.forwarding=1",
		"ip -6 addr add fd00::1/64 dev xn0 nodad",
		"ip -6 addr add fd00:1::1/64 dev xn1 nodad",
		"ip -6 neigh replace fd00::2 lladdr 02:00:00:00:00:02 dev xn0 nud permanent",
		"ip -6 neigh replace fd00::3 lladdr 02:00:00:00:00:02 dev xn0 nud permanent",
		"ip -6 neigh replace fd00::50 lladdr 02:00:00:00:00:50 dev xn0 nud permanent",
		"ip -6 neigh replace fd00:1::2 lladdr 02:00:00:00:01:02 dev xn1 nud permanent",
		"ip -6 route add fd00:2::/48 via fd00:1::2 dev xn1",
		"ip -6 route add fd00:3::/48 via fd00:1::3 dev xn1",
		"ip -6 route add fd00:4::/48 via fd00:1::2 dev xn1 mtu lock 1280",
		"ip -6 addr add fd00:1:1::1/128 dev xp0 nodad",
		"ip -6 route add fd00:1:1::2/128 dev xp0",
		"ip -6 neigh replace fd00:1:1::2 lladdr 02:00:00:00:10:02 dev xp0 nud permanent",
	};

	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET)");
		return -1;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (sh(cmds[i]))
			return -1;
	n->if_xn0 = if_nametoindex("xn0");
	n->if_xn1 = if_nametoindex("xn1");
	n->if_xp0 = if_nametoindex("xp0");
	if (!n->if_xn0 || !n->if_xn1 || !n->if_xp0 || read_mac("xn0", n->mac_xn0) ||
	    read_mac("xn1", n->mac_xn1) || read_mac("xp0", n->mac_xp0))
		return -1;
	return 0;
}
