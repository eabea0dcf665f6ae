/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Inside k8s/ only: the tree walker the parsers of each kind share, and the
 * pieces of the parser they call across files.
 */
#ifndef XLB_K8S_WALK_H
#define XLB_K8S_WALK_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <yaml.h>

#include "k8s/parse.h"

/*
 * The getters below read one tree shape through a few accessors, so files
 * (a libyaml document) and API objects (a cJSON tree, never re-serialised)
 * go through the same validation. A JSON string is a quoted scalar and a
 * JSON number, true, false or null a plain one: exactly what libyaml makes
 * of the same text, so both front ends accept and reject the same objects.
 */
typedef const void knode; /* yaml_node_t or cJSON */

/* Sequential access to a cJSON array or object's i-th child without
 * walking the list from its head every time (nested loops alternate). */
struct kn_cursor {
	const cJSON *parent, *at;
	size_t i;
};

struct pctx {
	yaml_document_t *doc; /* YAML front end, or ... */
	bool json;	      /* ... cJSON nodes */
	struct kn_cursor cur[4];
	unsigned int cur_next;
	char num[4][32]; /* text of JSON numbers */
	unsigned int num_next;
	const char *src;
	struct k8s_errors *errs;
	struct k8s_object *o; /* object being built */
	const char *kind;     /* its kind name */
	const char *ns;	      /* its namespace, "default" until known */
	const char *name;     /* its name, "<unnamed>" until known */
	unsigned int nerr;    /* errors recorded against it */
	bool oom;
};

#define YN(n) ((const yaml_node_t *)(n))
#define JN(n) ((const cJSON *)(n))

/* diag.c: rejected objects, messages of a document */
void k8s_errors_reject(struct k8s_errors *e, int kind, const char *ns, const char *name);
void k8s_errors_splice(struct k8s_errors *dst, struct k8s_errors *src);

/* One parser per kind (service.c, endpointslice.c, lbpool.c) */
void k8s_parse_service(struct pctx *p, knode *obj);
void k8s_parse_endpointslice(struct pctx *p, knode *obj);
void k8s_parse_lbpool(struct pctx *p, knode *obj);

/* objects.c: the object arena and lists */
void *k8s_arena_array(struct k8s_object *o, size_t n, size_t size);
char *k8s_arena_strdup(struct k8s_object *o, const char *s);
int k8s_object_list_push(struct k8s_object_list *l, struct k8s_object *o);

/* parse.c: metadata */
void k8s_parse_string_map(struct pctx *p, knode *map, const char *path, struct k8s_label **out,
			  size_t *n_out);

/* walk.c: typed getters that record an error against the object (field
 * path, source line), names and addresses */
enum proto_res { PROTO_OK, PROTO_SCTP, PROTO_BAD };

void k8s_get_bool(struct pctx *p, knode *parent, const char *key, const char *path, bool *out);
bool k8s_get_int(struct pctx *p, knode *parent, const char *key, const char *path, long long min,
		 long long max, long long *out, bool *present);
knode *k8s_get_map(struct pctx *p, knode *parent, const char *key, const char *path);
enum proto_res k8s_get_proto(struct pctx *p, knode *parent, const char *path, uint8_t *proto);
knode *k8s_get_seq(struct pctx *p, knode *parent, const char *key, const char *path);
const char *k8s_get_str(struct pctx *p, knode *parent, const char *key, const char *path);
bool k8s_is_map(struct pctx *p, knode *n);
bool k8s_is_scalar(struct pctx *p, knode *n);
bool k8s_is_seq(struct pctx *p, knode *n);
bool k8s_is_null(struct pctx *p, knode *n);
knode *k8s_map_get(struct pctx *p, knode *map, const char *key);
const char *k8s_map_entry(struct pctx *p, knode *n, size_t i, knode **k_node, knode **v);
size_t k8s_map_len(struct pctx *p, knode *n);
unsigned int k8s_node_line(struct pctx *p, knode *n);
bool k8s_node_int(struct pctx *p, knode *n, const char *path, long long min, long long max,
		  long long *out);
bool k8s_node_ip(struct pctx *p, knode *n, const char *path, struct k8s_ip *ip);
void *k8s_oalloc(struct pctx *p, size_t n, size_t size);
void __attribute__((format(printf, 3, 4)))
k8s_oerr(struct pctx *p, knode *at, const char *fmt, ...);
void __attribute__((format(printf, 4, 5)))
k8s_onote(struct pctx *p, enum k8s_severity sev, knode *at, const char *fmt, ...);
const char *k8s_ostrdup(struct pctx *p, const char *s);
const char *k8s_scalar(struct pctx *p, knode *n);
knode *k8s_seq_item(struct pctx *p, knode *n, size_t i);
size_t k8s_seq_len(struct pctx *p, knode *n);
bool k8s_scalar_is_int(struct pctx *p, knode *n);
bool k8s_is_dns1123_label(const char *s);
bool k8s_is_iana_svc_name(const char *s);
const char *k8s_proto_name(uint8_t proto);
bool k8s_is_dns1035_label(const char *s);
bool k8s_is_dns1123_subdomain(const char *s);

#endif /* XLB_K8S_WALK_H */
