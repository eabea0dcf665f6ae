// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Messages about input objects: collected, counted by severity, printed
 * by the caller (see k8s/diag.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/diag.h"
#include "lib/log.h"
#include "k8s/walk.h"

/* ---- diagnostics ------------------------------------------------------ */

static int errors_push(struct k8s_errors *e, enum k8s_severity sev, char *msg)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct k8s_diag *v = realloc(e->v, cap * sizeof(*v));

		if (!v) {
			free(msg);
			e->n_dropped++;
			return -ENOMEM;
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n].sev = sev;
	e->v[e->n].msg = msg;
	e->n++;
	if (sev == K8S_SEV_ERROR)
		e->n_errors++;
	else if (sev == K8S_SEV_WARN)
		e->n_warnings++;
	return 0;
}

static int errors_vadd(struct k8s_errors *e, enum k8s_severity sev, const char *fmt, va_list ap)
{
	char *msg;

	if (!e)
		return 0;
	if (vasprintf(&msg, fmt, ap) < 0) {
		e->n_dropped++;
		return -ENOMEM;
	}
	return errors_push(e, sev, msg);
}

int k8s_errors_add(struct k8s_errors *e, enum k8s_severity sev, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = errors_vadd(e, sev, fmt, ap);
	va_end(ap);
	return err;
}

void k8s_errors_free(struct k8s_errors *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i].msg);
	free(e->v);
	free(e->rejected);
	memset(e, 0, sizeof(*e));
}

void k8s_errors_reject(struct k8s_errors *e, int kind, const char *ns, const char *name)
{
	struct k8s_objkey *v;

	if (!e || !ns || !name)
		return;
	v = realloc(e->rejected, (e->n_rejected + 1) * sizeof(*v));
	if (!v)
		return;
	e->rejected = v;
	v += e->n_rejected++;
	v->kind = kind;
	snprintf(v->ns, sizeof(v->ns), "%s", ns);
	snprintf(v->name, sizeof(v->name), "%s", name);
}

/* Move all messages of src to the end of dst (NULL: drop them). */
void k8s_errors_splice(struct k8s_errors *dst, struct k8s_errors *src)
{
	for (size_t i = 0; dst && i < src->n; i++) {
		errors_push(dst, src->v[i].sev, src->v[i].msg);
		src->v[i].msg = NULL;
	}
	for (size_t i = 0; dst && i < src->n_rejected; i++)
		k8s_errors_reject(dst, src->rejected[i].kind, src->rejected[i].ns,
				  src->rejected[i].name);
	if (dst)
		dst->n_dropped += src->n_dropped;
	k8s_errors_free(src);
}

const char *k8s_severity_name(enum k8s_severity sev)
{
	switch (sev) {
	case K8S_SEV_ERROR:
		return "error";
	case K8S_SEV_WARN:
		return "warning";
	case K8S_SEV_DEBUG:
		return "debug";
	}
	return "?";
}

void k8s_errors_log(const struct k8s_errors *e)
{
	for (size_t i = 0; i < e->n; i++) {
		enum xlb_log_level l = e->v[i].sev == K8S_SEV_ERROR ? XLB_LOG_ERR :
				       e->v[i].sev == K8S_SEV_WARN  ? XLB_LOG_WARN :
								      XLB_LOG_DEBUG;

		xlb_log(l, "%s\n", e->v[i].msg);
	}
}
