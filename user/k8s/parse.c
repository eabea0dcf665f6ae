// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The parser's entry points: documents, Lists and single objects from text
 * (k8s_parse_buf(), k8s_parse_file()) or from the API (k8s_parse_json()),
 * each object's metadata, and the dispatch to the parser of its kind.
 *
 * libyaml composes each document into a node tree (JSON is flow-style YAML,
 * so the same code reads `-o json`); the tree is walked with a handful of
 * typed getters that record an error naming the object, the field path and
 * the source line. An object collects all of its errors before it is
 * dropped, so one pass tells the user everything wrong with it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <yaml.h>

#include "k8s/parse.h"
#include "k8s/walk.h"
#include "lib/util.h"

/* ---- metadata --------------------------------------------------------- */

/* Name and namespace only: for messages about objects we do not keep. */
static void peek_meta(struct pctx *p, knode *obj, const char **ns, const char **name)
{
	knode *meta = k8s_map_get(p, obj, "metadata");
	knode *n;

	*ns = "default";
	*name = "<unnamed>";
	n = k8s_map_get(p, meta, "namespace");
	if (n && k8s_is_scalar(p, n) && *k8s_scalar(p, n))
		*ns = k8s_scalar(p, n);
	n = k8s_map_get(p, meta, "name");
	if (n && k8s_is_scalar(p, n) && *k8s_scalar(p, n))
		*name = k8s_scalar(p, n);
}

/* A map of strings to strings: labels, annotations, selectors. */
void k8s_parse_string_map(struct pctx *p, knode *map, const char *path, struct k8s_label **out,
			  size_t *n_out)
{
	if (!map)
		return;
	*out = k8s_oalloc(p, k8s_map_len(p, map), sizeof(**out));
	if (!*out)
		return;
	for (size_t i = 0; i < k8s_map_len(p, map); i++) {
		knode *k, *v;
		const char *key = k8s_map_entry(p, map, i, &k, &v);
		struct k8s_label *l = &(*out)[*n_out];

		if (!key || (v && !k8s_is_scalar(p, v))) {
			k8s_oerr(p, k, "%s: expected string keys and values", path);
			continue;
		}
		l->key = k8s_ostrdup(p, key);
		/* `key:` with nothing after it is an empty value. */
		l->value = k8s_is_null(p, v) ? "" : k8s_ostrdup(p, k8s_scalar(p, v));
		(*n_out)++;
	}
}

static void parse_meta(struct pctx *p, knode *obj)
{
	struct k8s_meta *m = &p->o->meta;
	knode *meta = k8s_map_get(p, obj, "metadata");
	const char *s;

	m->namespace = "default";
	m->name = "";
	m->uid = "";
	m->resource_version = "";
	if (!meta) {
		k8s_oerr(p, obj, "metadata: missing");
		return;
	}
	if (!k8s_is_map(p, meta)) {
		k8s_oerr(p, meta, "metadata: expected a mapping");
		return;
	}
	s = k8s_get_str(p, meta, "namespace", "metadata.namespace");
	if (s && *s) {
		m->namespace = k8s_ostrdup(p, s);
		p->ns = m->namespace;
		if (!k8s_is_dns1123_label(s))
			k8s_oerr(p, k8s_map_get(p, meta, "namespace"),
				 "metadata.namespace: \"%s\" is not a valid DNS label", s);
	}
	s = k8s_get_str(p, meta, "name", "metadata.name");
	if (!s || !*s) {
		k8s_oerr(p, meta, "metadata.name: missing");
	} else {
		bool ok = p->o->kind == K8S_KIND_SERVICE ? k8s_is_dns1035_label(s) :
							   k8s_is_dns1123_subdomain(s);

		m->name = k8s_ostrdup(p, s);
		p->name = m->name;
		if (!ok)
			k8s_oerr(p, k8s_map_get(p, meta, "name"),
				 "metadata.name: \"%s\" is not a valid %s", s,
				 p->o->kind == K8S_KIND_SERVICE ? "DNS-1035 label" :
								  "DNS subdomain");
	}
	s = k8s_get_str(p, meta, "uid", "metadata.uid");
	if (s)
		m->uid = k8s_ostrdup(p, s);
	s = k8s_get_str(p, meta, "resourceVersion", "metadata.resourceVersion");
	if (s)
		m->resource_version = k8s_ostrdup(p, s);

	k8s_parse_string_map(p, k8s_get_map(p, meta, "labels", "metadata.labels"),
			     "metadata.labels", &m->labels, &m->n_labels);
	k8s_parse_string_map(p, k8s_get_map(p, meta, "annotations", "metadata.annotations"),
			     "metadata.annotations", &m->annotations, &m->n_annotations);
}

static int parse_object(struct pctx *base, knode *obj, enum k8s_kind kind,
			struct k8s_object_list *out)
{
	struct pctx p = *base;
	const char *api, *want;
	int err = 0;

	p.kind = k8s_kind_name(kind);
	peek_meta(&p, obj, &p.ns, &p.name);
	if (kind == K8S_KIND_LBPOOL)
		p.ns = "";
	p.nerr = 0;
	p.oom = false;

	api = k8s_get_str(&p, obj, "apiVersion", "apiVersion");
	want = kind == K8S_KIND_SERVICE ? "v1" :
	       kind == K8S_KIND_LBPOOL	? "xlb.io/v1alpha1" :
					  "discovery.k8s.io/v1";
	if (api && *api && strcmp(api, want)) {
		/* e.g. discovery.k8s.io/v1beta1: another shape. */
		k8s_onote(&p, K8S_SEV_WARN, obj, "apiVersion %s not supported (want %s): ignored",
			  api, want);
		return 0;
	}

	p.o = calloc(1, sizeof(*p.o));
	if (!p.o)
		return -ENOMEM;
	p.o->kind = kind;
	p.o->line = k8s_node_line(&p, obj);
	parse_meta(&p, obj);
	if (kind == K8S_KIND_SERVICE)
		k8s_parse_service(&p, obj);
	else if (kind == K8S_KIND_LBPOOL)
		k8s_parse_lbpool(&p, obj);
	else
		k8s_parse_endpointslice(&p, obj);

	if (p.oom) {
		err = -ENOMEM;
	} else if (p.nerr) {
		k8s_onote(&p, K8S_SEV_ERROR, obj, "object rejected (%u error%s)", p.nerr,
			  p.nerr == 1 ? "" : "s");
		k8s_errors_reject(p.errs, kind, p.ns, p.name);
	} else {
		err = k8s_object_list_push(out, p.o);
		if (!err)
			return 0;
	}
	k8s_object_free(p.o);
	return err;
}

static int parse_item(struct pctx *p, knode *obj, const char *default_kind,
		      struct k8s_object_list *out)
{
	const char *kind = NULL, *ns, *name;
	knode *k;

	if (!k8s_is_map(p, obj)) {
		k8s_errors_add(p->errs, K8S_SEV_ERROR,
			       "%s:%u: not a Kubernetes object (expected a mapping): ignored",
			       p->src, k8s_node_line(p, obj));
		return 0;
	}
	k = k8s_map_get(p, obj, "kind");
	if (k && k8s_is_scalar(p, k))
		kind = k8s_scalar(p, k);
	else if (!k)
		kind = default_kind;
	if (kind && !strcmp(kind, "Service"))
		return parse_object(p, obj, K8S_KIND_SERVICE, out);
	if (kind && !strcmp(kind, "EndpointSlice"))
		return parse_object(p, obj, K8S_KIND_ENDPOINTSLICE, out);
	if (kind && !strcmp(kind, "LoadBalancerIPPool"))
		return parse_object(p, obj, K8S_KIND_LBPOOL, out);

	peek_meta(p, obj, &ns, &name);
	if (!kind)
		k8s_errors_add(p->errs, K8S_SEV_WARN, "%s:%u: object %s/%s has no kind: ignored",
			       p->src, k8s_node_line(p, obj), ns, name);
	else
		k8s_errors_add(p->errs, K8S_SEV_DEBUG, "%s %s/%s: kind not used, ignored (%s:%u)",
			       kind, ns, name, p->src, k8s_node_line(p, obj));
	return 0;
}

static int parse_root(struct pctx *p, knode *root, struct k8s_object_list *out)
{
	knode *k, *items;
	const char *kind;
	char item_kind[64];
	size_t len;
	int err;

	if (k8s_is_null(p, root))
		return 0; /* empty document, e.g. a trailing `---` */
	if (!k8s_is_map(p, root))
		return parse_item(p, root, NULL, out);
	k = k8s_map_get(p, root, "kind");
	kind = k && k8s_is_scalar(p, k) ? k8s_scalar(p, k) : "";
	len = strlen(kind);
	if (len < 4 || strcmp(kind + len - 4, "List"))
		return parse_item(p, root, NULL, out);

	/* `kind: List` items carry their own kind; the items of a typed
	 * list (ServiceList from the API) do not. */
	item_kind[0] = '\0';
	if (len - 4 < sizeof(item_kind)) {
		memcpy(item_kind, kind, len - 4);
		item_kind[len - 4] = '\0';
	}
	items = k8s_map_get(p, root, "items");
	if (!items)
		return 0;
	if (!k8s_is_seq(p, items)) {
		k8s_errors_add(p->errs, K8S_SEV_ERROR, "%s:%u: %s: items is not a list: ignored",
			       p->src, k8s_node_line(p, items), kind);
		return 0;
	}
	for (size_t i = 0; i < k8s_seq_len(p, items); i++) {
		knode *item = k8s_seq_item(p, items, i);

		if (!item)
			continue;
		err = parse_item(p, item, *item_kind ? item_kind : NULL, out);
		if (err)
			return err;
	}
	return 0;
}

int k8s_parse_json(const cJSON *obj, const char *src, const char *kind, struct k8s_object_list *out,
		   struct k8s_errors *errs)
{
	struct pctx p = { .json = true, .errs = errs };

	if (!obj || !out)
		return -EINVAL;
	p.src = src ? src : "<json>";
	if (kind)
		return parse_item(&p, obj, kind, out);
	return parse_root(&p, obj, out);
}

static int syntax_error(const yaml_parser_t *yp, const char *src, struct k8s_errors *errs)
{
	const char *problem = yp->problem ? yp->problem : "unknown error";

	switch (yp->error) {
	case YAML_MEMORY_ERROR:
		return -ENOMEM;
	case YAML_READER_ERROR:
		k8s_errors_add(errs, K8S_SEV_ERROR,
			       "%s: not valid YAML or JSON: %s at byte offset %zu; nothing loaded",
			       src, problem, yp->problem_offset);
		break;
	default:
		if (yp->context)
			k8s_errors_add(
				errs, K8S_SEV_ERROR,
				"%s:%zu:%zu: not valid YAML or JSON: %s (%s at line %zu column %zu); nothing loaded",
				src, yp->problem_mark.line + 1, yp->problem_mark.column + 1,
				problem, yp->context, yp->context_mark.line + 1,
				yp->context_mark.column + 1);
		else
			k8s_errors_add(errs, K8S_SEV_ERROR,
				       "%s:%zu:%zu: not valid YAML or JSON: %s; nothing loaded",
				       src, yp->problem_mark.line + 1, yp->problem_mark.column + 1,
				       problem);
		break;
	}
	return -EBADMSG;
}

int k8s_parse_buf(const char *buf, size_t len, const char *src, struct k8s_object_list *out,
		  struct k8s_errors *errs)
{
	struct k8s_object_list objs = { 0 };
	struct k8s_errors msgs = K8S_ERRORS_INIT;
	struct pctx p = { 0 };
	yaml_parser_t yp;
	yaml_document_t doc;
	int err = 0;

	if (!buf || !out)
		return -EINVAL;
	if (!src)
		src = "<buffer>";
	if (!yaml_parser_initialize(&yp))
		return -ENOMEM;
	yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
	p.src = src;
	p.errs = errs ? &msgs : NULL;

	/* Objects and messages are staged, so that a syntax error anywhere
	 * leaves `out` untouched and reports only itself. */
	for (;;) {
		yaml_node_t *root;

		if (!yaml_parser_load(&yp, &doc)) {
			k8s_object_list_free(&objs);
			k8s_errors_free(&msgs);
			err = syntax_error(&yp, src, errs);
			goto out;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;
		}
		p.doc = &doc;
		err = parse_root(&p, root, &objs);
		yaml_document_delete(&doc);
		if (err) {
			k8s_object_list_free(&objs);
			k8s_errors_free(&msgs);
			goto out;
		}
	}

	for (size_t i = 0; i < objs.n; i++) {
		err = k8s_object_list_push(out, objs.v[i]);
		if (err) {
			/* The ones already moved are the caller's now. */
			for (size_t j = i; j < objs.n; j++)
				k8s_object_free(objs.v[j]);
			break;
		}
	}
	free(objs.v);
	k8s_errors_splice(errs, &msgs);
out:
	yaml_parser_delete(&yp);
	return err;
}

int k8s_parse_file(const char *path, struct k8s_object_list *out, struct k8s_errors *errs)
{
	char *buf = NULL;
	size_t len = 0;
	int err;

	if (!path || !out)
		return -EINVAL;
	err = xlb_read_file(path, 0, &buf, &len);
	if (err) {
		k8s_errors_add(errs, K8S_SEV_ERROR, "read %s: %s (%d)", path, strerror(-err), err);
		return err;
	}
	err = k8s_parse_buf(buf, len, path, out, errs);
	free(buf);
	return err;
}
