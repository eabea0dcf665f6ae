// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Names, addresses and table cells shared by the objects: what the maps
 * hold, spelled the same way in every command's JSON and text.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "xlbctl.h"

cJSON *ctl_add_row(cJSON *arr)
{
	cJSON *row = cJSON_CreateObject();

	if (!row || !cJSON_AddItemToArray(arr, row)) {
		cJSON_Delete(row);
		return NULL;
	}
	return row;
}

const char *ctl_proto_str(__u8 proto)
{
	static char buf[16];

	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	default:
		snprintf(buf, sizeof(buf), "%u", proto);
		return buf;
	}
}

const char *ctl_kind_str(__u8 kind)
{
	static char buf[16];

	switch (kind) {
	case XLB_CT_FWD_LOCAL:
		return "fwd_local";
	case XLB_CT_FWD_REMOTE:
		return "fwd_remote";
	case XLB_CT_REPLY_LOCAL:
		return "reply_local";
	case XLB_CT_REPLY_SNAT:
		return "reply_snat";
	default:
		snprintf(buf, sizeof(buf), "kind%u", kind);
		return buf;
	}
}

const char *ctl_reason_str(__u32 r)
{
	return r < XLB_R_MAX ? xlb_reason_names[r] : "?";
}

const char *ctl_xdp_action_str(__u32 a)
{
	static const char *const n[] = { "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					 "XDP_REDIRECT" };

	return a < 5 ? n[a] : "?";
}

int ctl_parse_addr(const char *s, __u8 *family, union xlb_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->v4) == 1) {
		*family = XLB_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->bytes) == 1) {
		*family = XLB_AF_INET6;
		return 0;
	}
	return -EINVAL;
}

void ctl_add_addr(cJSON *o, const char *key, __u8 family, const union xlb_addr *a)
{
	char buf[INET6_ADDRSTRLEN + 16];

	cJSON_AddStringToObject(o, key, xlb_addr_str(family, a, buf, sizeof(buf)));
}

void ctl_endpoint(const cJSON *row, const char *ak, const char *pk, char *buf, size_t len)
{
	const char *a = xlb_json_get_str(row, ak);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(row, pk);
	char port[24];

	xlb_cell_text(p, port, sizeof(port));
	if (!a && !cJSON_IsNumber(p))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, a && strchr(a, ':') ? "[%s]:%s" : "%s:%s", a ? a : "-", port);
}

void ctl_addr_cell(const cJSON *row, char *buf, size_t len)
{
	ctl_endpoint(row, "address", "port", buf, len);
}

void ctl_ttl_cell(const cJSON *row, char *buf, size_t len)
{
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "expired")))
		snprintf(buf, len, "expired");
	else
		snprintf(buf, len, "%llus", xlb_json_get_u64(row, "expires_in_s", 0));
}

void ctl_add_ttl(cJSON *o, __u64 expires_ns, __u64 now)
{
	bool expired = expires_ns <= now;

	xlb_json_add_u64(o, "expires_in_s",
			 expired ? 0 : (expires_ns - now + 999999999ull) / 1000000000ull);
	cJSON_AddBoolToObject(o, "expired", expired);
}
