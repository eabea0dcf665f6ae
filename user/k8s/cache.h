/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The object cache: the objects of one input (a file, or what the watches
 * have seen), keyed by kind + namespace + name.
 */
#ifndef XLB_K8S_CACHE_H
#define XLB_K8S_CACHE_H

#include "k8s/parse.h"

struct k8s_cache;

/* NULL with errno set on failure. */
struct k8s_cache *k8s_cache_new(void);
void k8s_cache_free(struct k8s_cache *c);
size_t k8s_cache_count(const struct k8s_cache *c);

/*
 * Insert an object, taking ownership. An object with the same kind,
 * namespace and name is replaced (and freed). Returns 0, or -ENOMEM (the
 * object is then still the caller's), -EINVAL.
 */
int k8s_cache_put(struct k8s_cache *c, struct k8s_object *o);
/* Remove an object and hand it to the caller (NULL when absent). */
struct k8s_object *k8s_cache_take(struct k8s_cache *c, enum k8s_kind kind, const char *ns,
				  const char *name);
/* Remove and free an object; -ENOENT when it is not there. */
int k8s_cache_delete(struct k8s_cache *c, enum k8s_kind kind, const char *ns, const char *name);
const struct k8s_object *k8s_cache_get(const struct k8s_cache *c, enum k8s_kind kind,
				       const char *ns, const char *name);
/* The same, writable: for the owner of the cache (file mode writes the
 * allocator's result into a Service's status). */
struct k8s_object *k8s_cache_get_mut(struct k8s_cache *c, enum k8s_kind kind, const char *ns,
				     const char *name);
/*
 * The objects of one kind, sorted by namespace then name, as a malloc'd
 * array the caller frees (the objects stay the cache's and are valid until
 * the cache changes). *out is NULL when there are none.
 */
int k8s_cache_list(const struct k8s_cache *c, enum k8s_kind kind, const struct k8s_object ***out,
		   size_t *n);

/*
 * The EndpointSlices of Service @ns/@svc (label kubernetes.io/service-name),
 * sorted by name, as a malloc'd array the caller frees (*out NULL when
 * there are none): from an index kept beside the table, so it costs the
 * Service's slices, not the cache's. 0 or -ENOMEM.
 */
int k8s_cache_slices_of(const struct k8s_cache *c, const char *ns, const char *svc,
			const struct k8s_object ***out, size_t *n);

/*
 * Move every object of `l` into the cache (a later one replaces an earlier
 * one with the same key). On success `l` is left empty and owns no memory;
 * on -ENOMEM the objects not yet moved stay in `l`.
 */
int k8s_cache_put_list(struct k8s_cache *c, struct k8s_object_list *l, struct k8s_errors *errs);

/*
 * Load a whole file (or buffer) into a new cache. On success (0) *out is
 * the new cache, which may hold fewer objects than the input when some were
 * rejected (errs->n_errors > 0). On failure *out is NULL: -EBADMSG (not
 * well-formed, nothing loaded), -errno from reading the file, -ENOMEM.
 */
int k8s_cache_load_file(const char *path, struct k8s_cache **out, struct k8s_errors *errs);
int k8s_cache_load_buf(const char *buf, size_t len, const char *src, struct k8s_cache **out,
		       struct k8s_errors *errs);

#endif /* XLB_K8S_CACHE_H */
