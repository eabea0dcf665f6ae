// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * udpgen: the forwarding benchmark's traffic generator. Sends prebuilt
 * 64-byte Ethernet/IPv4/UDP frames (UDP checksum 0) on one interface with an
 * AF_PACKET socket (PACKET_QDISC_BYPASS) and sendmmsg, as fast as it can.
 *
 *   udpgen -i IF -d DST_MAC -s SRC_IP -D DST_IP -p DPORT
 *          [-f FLOWS] [-P FIRST_SPORT] [-t SECONDS | -c PACKETS] [-b BATCH]
 *
 * FLOWS source ports FIRST_SPORT.. (default 1: one fixed 5-tuple) are used
 * round-robin, so -f 32768 -c 32768 sends each flow exactly once (a frame
 * the receiving veth's ring refuses is sent again: a full ring paces the
 * sender instead of skipping flows). Prints
 * "sent N seconds S" on stdout (frames the kernel accepted). Run it with
 * taskset; it never sleeps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "lib/util.h"

#define FRAME 60 /* + 4 bytes FCS on a wire = 64 */
#define MAXB  256

static uint16_t csum(const void *p, int len)
{
	const uint16_t *w = p;
	uint32_t s = 0;

	for (; len > 1; len -= 2)
		s += *w++;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: udpgen -i IF -d DST_MAC -s SRC_IP -D DST_IP -p DPORT [-f FLOWS] [-P SPORT]"
		" [-t SECONDS | -c PACKETS] [-b BATCH]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *dmac = NULL, *sip = NULL, *dip = NULL;
	unsigned flows = 1, sport0 = 10000, dport = 0, batch = 64;
	double secs = 1;
	unsigned long long count = 0, sent = 0;
	int o;

	while ((o = getopt(argc, argv, "i:d:s:D:p:f:P:t:c:b:")) != -1) {
		switch (o) {
		case 'i':
			ifname = optarg;
			break;
		case 'd':
			dmac = optarg;
			break;
		case 's':
			sip = optarg;
			break;
		case 'D':
			dip = optarg;
			break;
		case 'p':
			dport = atoi(optarg);
			break;
		case 'f':
			flows = atoi(optarg);
			break;
		case 'P':
			sport0 = atoi(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'c':
			count = strtoull(optarg, NULL, 0);
			break;
		case 'b':
			batch = atoi(optarg);
			break;
		default:
			return usage();
		}
	}
	if (!ifname || !dmac || !sip || !dip || !dport || !flows || flows + sport0 > 65536 ||
	    !batch || batch > MAXB)
		return usage();

	int fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: send only */
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		perror(ifname);
		return 1;
	}
	int ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		perror("SIOCGIFHWADDR");
		return 1;
	}
	int one = 1;
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_ifindex = ifindex,
				   .sll_halen = ETH_ALEN };
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("bind");
		return 1;
	}

	unsigned char *frames = calloc(flows, FRAME);
	if (!frames)
		return 1;
	unsigned char tmpl[FRAME] = { 0 };
	struct ether_header *eh = (void *)tmpl;
	if (sscanf(dmac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &eh->ether_dhost[0], &eh->ether_dhost[1],
		   &eh->ether_dhost[2], &eh->ether_dhost[3], &eh->ether_dhost[4],
		   &eh->ether_dhost[5]) != 6)
		return usage();
	memcpy(eh->ether_shost, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	eh->ether_type = htons(ETHERTYPE_IP);
	struct iphdr *ip = (void *)(tmpl + sizeof(*eh));
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(FRAME - sizeof(*eh));
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	if (inet_pton(AF_INET, sip, &ip->saddr) != 1 || inet_pton(AF_INET, dip, &ip->daddr) != 1)
		return usage();
	ip->check = csum(ip, sizeof(*ip));
	struct udphdr *uh = (void *)(ip + 1);
	uh->dest = htons(dport);
	uh->len = htons(FRAME - sizeof(*eh) - sizeof(*ip));
	uh->check = 0; /* IPv4: no checksum */
	for (unsigned i = 0; i < flows; i++) {
		uh->source = htons(sport0 + i);
		memcpy(frames + (size_t)i * FRAME, tmpl, FRAME);
	}

	struct mmsghdr msgs[MAXB];
	struct iovec iov[MAXB];
	memset(msgs, 0, sizeof(msgs));
	for (unsigned i = 0; i < batch; i++) {
		iov[i].iov_len = FRAME;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	unsigned next = 0;
	double t0 = xlb_mono_ns() / 1e9, t1 = t0;
	unsigned long long loops = 0;
	for (;;) {
		unsigned n = batch;
		if (count && count - sent < n)
			n = count - sent;
		for (unsigned i = 0; i < n; i++) {
			iov[i].iov_base = frames + (size_t)next * FRAME;
			if (++next == flows)
				next = 0;
		}
		int r = sendmmsg(fd, msgs, n, 0);
		if (r < 0) {
			if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR &&
			    errno != ENETDOWN) {
				perror("sendmmsg");
				return 1;
			}
			r = 0;
		}
		/* frames the receiver's ring refused are sent again (in order),
		 * so -c FLOWS creates every flow once, paced by the receiver */
		next = (next + flows - (n - r) % flows) % flows;
		sent += r;
		if (count && sent >= count)
			break;
		if (!count && !(++loops & 15) && (t1 = xlb_mono_ns() / 1e9) - t0 >= secs)
			break;
	}
	t1 = xlb_mono_ns() / 1e9;
	printf("sent %llu seconds %.6f\n", sent, t1 - t0);
	return 0;
}
