/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The kernel's view of xlb's SNAT ports: xlb's tuples are invisible to the
 * socket layer, so the SNAT range is put in net.ipv4.ip_local_reserved_ports
 * (the kernel then never picks those ports for its own connections), and
 * ip_local_port_range tells the datapath which client ports it must not
 * keep on a shared node address.
 */
#ifndef XLB_PORTS_H
#define XLB_PORTS_H

#include <stdbool.h>
#include <linux/types.h>

#define XLB_SYSCTL_PORT_RANGE "/proc/sys/net/ipv4/ip_local_port_range"
#define XLB_SYSCTL_RESERVED   "/proc/sys/net/ipv4/ip_local_reserved_ports"

/* "32768\t60999" at @path. Returns 0 or -errno. */
int xlb_port_range_read(const char *path, __u32 *lo, __u32 *hi);

/* Does the list @list ("1,100-200", the sysctl's format) hold every port
 * of lo..hi? */
bool xlb_ports_covered(const char *list, __u32 lo, __u32 hi);

/* Add lo..hi to the reserved ports at @path unless they are there already.
 * Returns 1 when written, 0 when nothing was needed, or -errno. */
int xlb_ports_reserve(const char *path, __u32 lo, __u32 hi);

/*
 * Does a masquerade rule in @ruleset (iptables-save or `nft list ruleset`
 * text) pick source ports that may fall in lo..hi? --random-fully (nft:
 * "fully-random") picks from the whole port space; --to-ports (nft: "to
 * :A-B") from its range. Writes the offending line (truncated) to @line.
 */
bool xlb_masq_overlaps(const char *ruleset, __u32 lo, __u32 hi, char *line, size_t len);

#endif /* XLB_PORTS_H */
