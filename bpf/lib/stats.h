/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Counters and the monitor: one counter per verdict reason and one per
 * service port, per CPU, so the fast path never takes an atomic. xlbctl and
 * /metrics sum the CPUs.
 *
 * Every verdict passes through xlb_account(), the one place where reasons
 * are counted; it is also the one place that reports them to `xlbctl
 * monitor`, through a ring buffer, when the monitor flag (xlb_monitor)
 * selects the reason and the per-CPU token bucket allows. With nobody
 * listening the flag word is zero and the cost is one inlined array load.
 */
#ifndef XLB_BPF_STATS_H
#define XLB_BPF_STATS_H

#include "maps.h"
#include "parse.h"
#include "lb.h"
#include "trace.h"

static __always_inline void xlb_count_reason(__u32 reason, __u64 bytes)
{
	struct xlb_counter *c = bpf_map_lookup_elem(&xlb_reasons, &reason);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void xlb_count_svc(__u32 svc_id, __u64 bytes)
{
	struct xlb_counter *c = bpf_map_lookup_elem(&xlb_svc_stats, &svc_id);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/*
 * Internal verdicts carry their reason: action | reason << 8 (XDP and tc
 * actions are small). The entry points hand the pair to xlb_account(),
 * which counts and reports in one place. @bytes is counted there.
 */
static __always_inline int verdict(int action, __u32 reason, __u64 bytes)
{
	return (action & 0xff) | (int)(reason << 8);
}

/* The monitor's token bucket, as the ICMP one: credit in ns of refill. */
static __always_inline bool xlb_mon_allowed(const struct xlb_monitor_cfg *cfg,
					    struct xlb_mon_bucket *b, __u64 now)
{
	__u64 cost, cap;

	if (!cfg->rate)
		return true;
	cost = NS_PER_SEC / cfg->rate;
	cap = cost * (cfg->burst ? cfg->burst : 1);
	b->tokens_ns += now - b->last_ns;
	b->last_ns = now;
	if (b->tokens_ns > cap)
		b->tokens_ns = cap;
	if (b->tokens_ns < cost)
		return false;
	b->tokens_ns -= cost;
	return true;
}

/* The headers as the packet leaves: IPv4 or IPv6 addresses, the protocol,
 * and for TCP/UDP the ports. Left zero when they are not there. */
static __always_inline void xlb_event_out(struct xlb_ct_key *k, void *data, void *data_end,
					  __u32 l3_off)
{
	struct iphdr *ip;
	__be16 *ports;
	__u32 ihl;

	if (l3_off > ETH_HLEN + 4)
		return;
	ip = data + l3_off;
	if ((void *)(ip + 1) > data_end)
		return;
	if (ip->version == 6) {
		struct xlb_ip6 *ip6 = (void *)ip;

		/* Ports only right after the header (no extension headers). */
		if ((void *)(ip6 + 1) > data_end)
			return;
		__builtin_memcpy(&k->saddr, ip6->saddr, 16);
		__builtin_memcpy(&k->daddr, ip6->daddr, 16);
		k->proto = ip6->nexthdr;
		k->family = XLB_AF_INET6;
		ports = (void *)(ip6 + 1);
		if ((ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP) ||
		    (void *)(ports + 2) > data_end)
			return;
		k->sport = ports[0];
		k->dport = ports[1];
		return;
	}
	k->saddr.v4 = ip->saddr;
	k->daddr.v4 = ip->daddr;
	k->proto = ip->protocol;
	k->family = XLB_AF_INET;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return;
	ihl = ip->ihl * 4;
	if (ihl < sizeof(*ip) || ihl > 60)
		return;
	ports = (void *)ip + ihl;
	if ((void *)(ports + 2) > data_end)
		return;
	k->sport = ports[0];
	k->dport = ports[1];
}

/* Which service port the packet belongs to: its flow's, else the
 * frontend it addresses. Only run for reported events. */
static __always_inline __u32 xlb_event_svc(const struct xlb_pkt *p)
{
	struct xlb_ct *ct;
	struct xlb_svc *svc;

	if (!p->tuple.family)
		return XLB_EVENT_NO_SVC;
	ct = bpf_map_lookup_elem(&xlb_ct, &p->tuple);
	if (ct)
		return ct->svc_id;
	svc = xlb_svc_lookup(&p->tuple);
	return svc ? svc->svc_id : XLB_EVENT_NO_SVC;
}

static __noinline void xlb_report(const struct xlb_pkt *p, void *data, void *data_end, __u64 info,
				  __u64 where)
{
	__u32 zero = 0, reason = info & 0xffff;
	struct xlb_monitor_cfg *cfg = bpf_map_lookup_elem(&xlb_monitor, &zero);
	struct xlb_mon_bucket *b = bpf_map_lookup_elem(&xlb_mon_bucket, &zero);
	struct xlb_event *e;
	__u64 now;

	if (!cfg || !b)
		return;
	now = bpf_ktime_get_ns();
	if (!xlb_mon_allowed(cfg, b, now)) {
		b->suppressed++;
		return;
	}
	e = bpf_ringbuf_reserve(&xlb_events, sizeof(*e), 0);
	if (!e) {
		b->suppressed++;
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->orig = p->tuple;
	xlb_event_out(&e->out, data, data_end, p->l3_off);
	e->ifindex = where >> 32;
	e->len = (__u32)where;
	e->reason = reason;
	e->action = (info >> 16) & 0xff;
	e->hook = (info >> 24) & 0xff;
	e->cpu = bpf_get_smp_processor_id();
	e->svc_id = xlb_event_svc(p);
	e->suppressed = b->suppressed;
	b->suppressed = 0;
	bpf_ringbuf_submit(e, 0);
}

/* The packet as it leaves, read here, in a frame of its own: loads of
 * data/data_end made at the entry would be reused (and zero-extended) by
 * clang, which the verifier refuses as pointer arithmetic. */
static __noinline void xlb_report_xdp(struct xdp_md *ctx, const struct xlb_pkt *p, __u64 info,
				      __u64 where)
{
	xlb_report(p, (void *)(long)ctx->data, (void *)(long)ctx->data_end, info, where);
}

static __noinline void xlb_report_skb(struct __sk_buff *skb, const struct xlb_pkt *p, __u64 info,
				      __u64 where)
{
	xlb_report(p, (void *)(long)skb->data, (void *)(long)skb->data_end, info, where);
}

/*
 * Count verdict @r (from verdict()) of a packet of @bytes, report it when
 * the monitor asks for its reason, and return the hook's action. @ctx is
 * the hook's context (struct xdp_md for XLB_EV_XDP, else struct
 * __sk_buff); @hook is a constant at every call site.
 */
static __always_inline int xlb_account(void *ctx, const struct xlb_pkt *p, int r, __u64 bytes,
				       __u32 ifindex, __u8 hook)
{
	__u32 reason = (__u32)r >> 8, action = r & 0xff;
	struct xlb_monitor_cfg *mon;

	xlb_count_reason(reason, bytes);
	if (hook == XLB_EV_XDP) /* explain runs only the XDP program */
		XLB_TRACE(tr->reason = reason; tr->action = action);
	mon = bpf_map_lookup_elem(&xlb_monitor, &xlb_key0);
	if (unlikely(mon && reason < 64 && (mon->reason_mask >> reason) & 1)) {
		__u64 info = reason | action << 16 | (__u64)hook << 24;
		__u64 where = (__u64)ifindex << 32 | (__u32)bytes;

		if (hook == XLB_EV_XDP)
			xlb_report_xdp(ctx, p, info, where);
		else
			xlb_report_skb(ctx, p, info, where);
	}
	return action;
}

#endif /* XLB_BPF_STATS_H */
