/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Diagnostics of the object parser: what was rejected or ignored and why,
 * for the caller to log (the agent) or print (tests, xlbctl).
 */
#ifndef XLB_K8S_DIAG_H
#define XLB_K8S_DIAG_H

#include <stddef.h>

enum k8s_severity {
	K8S_SEV_ERROR = 0, /* an object (or the whole input) was rejected */
	K8S_SEV_WARN = 1,  /* part of an object was ignored (e.g. SCTP) */
	K8S_SEV_DEBUG = 2, /* something was skipped on purpose */
};

struct k8s_diag {
	enum k8s_severity sev;
	char *msg; /* "Service default/web: spec.ports[0].port:
				 * 70000 out of range 1..65535 (svc.yaml:12)" */
};

/*
 * A growing list of messages the caller prints (the agent logs them and
 * keeps its last good state). Zero-initialise (K8S_ERRORS_INIT) before use;
 * every function that takes a `struct k8s_errors *` also accepts NULL and
 * then drops its messages.
 */
/* The identity of an object the parser rejected: the caller may keep
 * serving its last good version. */
struct k8s_objkey {
	int kind; /* enum k8s_kind (k8s/objects.h) */
	char ns[64];
	char name[254];
};

struct k8s_errors {
	struct k8s_objkey *rejected; /* objects rejected whole */
	size_t n_rejected;
	struct k8s_diag *v;
	size_t n;
	size_t cap;
	size_t n_errors;   /* entries with K8S_SEV_ERROR */
	size_t n_warnings; /* entries with K8S_SEV_WARN */
	size_t n_dropped;  /* messages lost to allocation failure */
};
#define K8S_ERRORS_INIT \
	{               \
		0       \
	}

int k8s_errors_add(struct k8s_errors *e, enum k8s_severity sev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Free all messages; the struct is left empty and reusable. */
void k8s_errors_free(struct k8s_errors *e);
/* Log every message at its severity (error, warning, else debug). */
void k8s_errors_log(const struct k8s_errors *e);
const char *k8s_severity_name(enum k8s_severity sev);

#endif /* XLB_K8S_DIAG_H */
