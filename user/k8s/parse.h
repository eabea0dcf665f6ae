/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Objects from YAML or JSON text (files; JSON is read by libyaml as
 * flow-style YAML) or from a cJSON tree (the API server's responses, see
 * k8s_parse_json()), validated by the same code.
 *
 * Input is whatever `kubectl get svc,endpointslices -A -o yaml|json` prints
 * or the manifests a user already has: a single object, a `kind: List` (or
 * `ServiceList` / `EndpointSliceList`, whose items carry no kind), several
 * YAML documents separated by `---`, or any mix. Objects of other kinds are
 * skipped with a debug message.
 *
 * Only the fields the datapath needs are kept (k8s-spec §2, §3). Defaults
 * the API server applies are applied here too, so a hand-written manifest
 * and a stored object mean the same thing. An object that fails validation
 * is rejected whole with an error "Kind namespace/name: reason (file:line)";
 * the objects beside it are kept. A file that is not well-formed YAML gives
 * one error with line and column and no objects at all.
 */
#ifndef XLB_K8S_PARSE_H
#define XLB_K8S_PARSE_H

#include "k8s/diag.h"
#include "k8s/objects.h"

struct k8s_object_list {
	struct k8s_object **v; /* owned */
	size_t n;
	size_t cap;
};

/* Free every object in the list and the list's array (not the struct). */
void k8s_object_list_free(struct k8s_object_list *l);

/*
 * Parse YAML or JSON from a buffer and append the valid Service and
 * EndpointSlice objects to `out`, in input order. `src` names the input in
 * messages (a file name, "<stdin>"; NULL: "<buffer>").
 * Returns 0 when the input is well-formed, even if some objects were
 * rejected (see errs->n_errors); -EBADMSG when it is not well-formed YAML
 * (nothing is appended, one error names line and column); -ENOMEM.
 */
int k8s_parse_buf(const char *buf, size_t len, const char *src, struct k8s_object_list *out,
		  struct k8s_errors *errs);
/*
 * The same for an object decoded from JSON (an API response), without
 * printing it again: @obj is one object, or a List of them. @kind names
 * the kind of an object that carries none (the items of a typed list such
 * as ServiceList); NULL: @obj says what it is. Every object is validated
 * like a file's; one that fails is rejected on its own (errs->rejected
 * names it). Returns 0 or -ENOMEM, -EINVAL.
 */
struct cJSON;
int k8s_parse_json(const struct cJSON *obj, const char *src, const char *kind,
		   struct k8s_object_list *out, struct k8s_errors *errs);
/* The same for a file; -errno when it cannot be read. */
int k8s_parse_file(const char *path, struct k8s_object_list *out, struct k8s_errors *errs);

#endif /* XLB_K8S_PARSE_H */
