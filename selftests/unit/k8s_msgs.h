/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Checking the parser's and translate's messages in unit tests. */
#ifndef XLB_SELFTEST_K8S_MSGS_H
#define XLB_SELFTEST_K8S_MSGS_H

#include <string.h>

#include "k8s/cache.h"
#include "../lib/xtest.h"

/* Does some message of severity sev contain all of a, b (b may be NULL)? */
static inline bool has_msg(const struct k8s_errors *e, enum k8s_severity sev, const char *a,
			   const char *b)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->v[i].sev == sev && strstr(e->v[i].msg, a) && (!b || strstr(e->v[i].msg, b)))
			return true;
	return false;
}

static inline void dump_msgs(const struct k8s_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		xt_log("%s: %s", k8s_severity_name(e->v[i].sev), e->v[i].msg);
}

#endif /* XLB_SELFTEST_K8S_MSGS_H */
