// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Kubernetes Service / EndpointSlice parser and object cache: see k8s.h.
 *
 * libyaml composes each document into a node tree (JSON is flow-style YAML,
 * so the same code reads `-o json`); the tree is walked with a handful of
 * typed getters that record an error naming the object, the field path and
 * the source line. An object collects all of its errors before it is
 * dropped, so one pass tells the user everything wrong with it.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <yaml.h>

#include "k8s.h"

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

static int errors_vadd(struct k8s_errors *e, enum k8s_severity sev,
		       const char *fmt, va_list ap)
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

int k8s_errors_add(struct k8s_errors *e, enum k8s_severity sev,
		   const char *fmt, ...)
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

static void errors_reject(struct k8s_errors *e, int kind,
			  const char *ns, const char *name)
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
static void errors_splice(struct k8s_errors *dst, struct k8s_errors *src)
{
	for (size_t i = 0; dst && i < src->n; i++) {
		errors_push(dst, src->v[i].sev, src->v[i].msg);
		src->v[i].msg = NULL;
	}
	for (size_t i = 0; dst && i < src->n_rejected; i++)
		errors_reject(dst, src->rejected[i].kind, src->rejected[i].ns,
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

/* ---- per-object arena ------------------------------------------------- */

/*
 * An object's strings and arrays come from a chain of chunks freed in one
 * go. Chunks start small (most objects need well under 1 KiB) and double.
 */
struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	size_t cap;
	max_align_t data[];
};

#define ARENA_MIN   512
#define ARENA_MAX   65536

static void *arena_alloc(struct k8s_object *o, size_t n)
{
	const size_t align = _Alignof(max_align_t);
	struct arena_chunk *c = o->arena;
	void *p;

	if (n > SIZE_MAX / 2)
		return NULL;
	n = n ? (n + align - 1) & ~(align - 1) : align;
	if (!c || c->cap - c->used < n) {
		size_t cap = c ? c->cap * 2 : ARENA_MIN;

		if (cap > ARENA_MAX)
			cap = ARENA_MAX;
		if (cap < n)
			cap = n;
		c = calloc(1, sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->cap = cap;
		c->next = o->arena;
		o->arena = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

static void *arena_array(struct k8s_object *o, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / 2 / size)
		return NULL;
	return arena_alloc(o, n * size);
}

static char *arena_strdup(struct k8s_object *o, const char *s)
{
	size_t len = strlen(s);
	char *d = arena_alloc(o, len + 1);

	if (d)
		memcpy(d, s, len + 1);
	return d;
}

void k8s_object_free(struct k8s_object *o)
{
	struct arena_chunk *c, *next;

	if (!o)
		return;
	for (c = o->arena; c; c = next) {
		next = c->next;
		free(c);
	}
	free(o);
}

const char *k8s_kind_name(enum k8s_kind kind)
{
	switch (kind) {
	case K8S_KIND_SERVICE:
		return "Service";
	case K8S_KIND_ENDPOINTSLICE:
		return "EndpointSlice";
	case K8S_KIND_LBPOOL:
		return "LoadBalancerIPPool";
	}
	return "?";
}

static bool parse_ip(const char *s, struct k8s_ip *ip);

const char *k8s_annotation(const struct k8s_object *o, const char *key)
{
	for (size_t i = 0; o && i < o->meta.n_annotations; i++)
		if (!strcmp(o->meta.annotations[i].key, key))
			return o->meta.annotations[i].value;
	return NULL;
}

bool k8s_labels_match(const struct k8s_label *sel, size_t n_sel,
		      const struct k8s_label *labels, size_t n_labels)
{
	for (size_t i = 0; i < n_sel; i++) {
		bool found = false;

		for (size_t j = 0; j < n_labels && !found; j++)
			found = !strcmp(sel[i].key, labels[j].key) &&
				!strcmp(sel[i].value, labels[j].value);
		if (!found)
			return false;
	}
	return true;
}

int k8s_svc_set_ingress(struct k8s_object *o, const struct k8s_ip *ips, size_t n)
{
	struct k8s_lb_ingress *in;

	if (!o || o->kind != K8S_KIND_SERVICE)
		return -EINVAL;
	in = n ? arena_array(o, n, sizeof(*in)) : NULL;
	if (n && !in)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		memset(&in[i], 0, sizeof(in[i]));
		in[i].has_ip = true;
		in[i].ip = ips[i];
		in[i].ip_mode = K8S_IP_MODE_VIP;
	}
	o->svc.ingress = in;
	o->svc.n_ingress = n;
	return 0;
}

const char *k8s_ip_str(const struct k8s_ip *ip, char *buf, size_t len)
{
	if (!inet_ntop(ip->family == XLB_AF_INET6 ? AF_INET6 : AF_INET,
		       ip->addr.bytes, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

int k8s_ip_cmp(const struct k8s_ip *a, const struct k8s_ip *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr.bytes, b->addr.bytes,
		      a->family == XLB_AF_INET ? 4 : 16);
}


const char *k8s_label(const struct k8s_object *o, const char *key)
{
	for (size_t i = 0; o && i < o->meta.n_labels; i++)
		if (!strcmp(o->meta.labels[i].key, key))
			return o->meta.labels[i].value;
	return NULL;
}

void k8s_object_list_free(struct k8s_object_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		k8s_object_free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int list_push(struct k8s_object_list *l, struct k8s_object *o)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct k8s_object **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = o;
	return 0;
}

/* ---- name and address syntax ------------------------------------------ */

static bool is_dns_label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* RFC 1123 label: namespaces, port names. */
static bool is_dns1123_label(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_dns_label_char(s[i]))
			return false;
	return true;
}

/* RFC 1035 label: Service names (must start with a letter). */
static bool is_dns1035_label(const char *s)
{
	return is_dns1123_label(s) && s[0] >= 'a' && s[0] <= 'z';
}

/* RFC 1123 subdomain: EndpointSlice names. */
static bool is_dns1123_subdomain(const char *s)
{
	size_t len = strlen(s);
	char label[64];
	const char *p = s;

	if (!len || len > 253)
		return false;
	while (*p) {
		size_t n = strcspn(p, ".");

		if (n >= sizeof(label))
			return false;
		memcpy(label, p, n);
		label[n] = '\0';
		if (!is_dns1123_label(label))
			return false;
		p += n;
		if (*p == '.' && !*++p)
			return false;
	}
	return true;
}

/* IANA_SVC_NAME: named targetPorts. */
static bool is_iana_svc_name(const char *s)
{
	size_t len = strlen(s);
	bool letter = false;

	if (!len || len > 15 || s[0] == '-' || s[len - 1] == '-' ||
	    strstr(s, "--"))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!is_dns_label_char(s[i]))
			return false;
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
	}
	return letter;
}

/*
 * Dotted quad with leading zeros ("010.000.001.002"), read as decimal: the
 * API server still holds such addresses from before 1.20 (validation
 * ratchets), and kube-proxy reads them with ParseIPSloppy.
 */
static bool parse_ipv4_sloppy(const char *s, uint32_t *out)
{
	uint8_t b[4];

	for (int i = 0; i < 4; i++) {
		unsigned int v = 0, digits = 0;

		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned int)(*s++ - '0');
			digits++;
		}
		if (!digits || digits > 3 || v > 255 || *s != (i < 3 ? '.' : '\0'))
			return false;
		b[i] = (uint8_t)v;
		if (i < 3)
			s++;
	}
	memcpy(out, b, 4);
	return true;
}

bool k8s_parse_ip(const char *s, struct k8s_ip *ip)
{
	return parse_ip(s, ip);
}

static bool parse_ip(const char *s, struct k8s_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (strchr(s, ':')) {
		ip->family = XLB_AF_INET6;
		return inet_pton(AF_INET6, s, ip->addr.bytes) == 1;
	}
	ip->family = XLB_AF_INET;
	return inet_pton(AF_INET, s, &ip->addr.v4) == 1 ||
	       parse_ipv4_sloppy(s, &ip->addr.v4);
}

static bool parse_cidr(const char *s, struct k8s_cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	char *end;
	long len;
	size_t n;

	/* K8S_SPEC §2: whitespace may surround the ranges. */
	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	slash = strchr(buf, '/');
	if (!slash || !isdigit((unsigned char)slash[1]))
		return false;
	errno = 0;
	len = strtol(slash + 1, &end, 10);
	if (errno || *end)
		return false;
	buf[slash - buf] = '\0';
	if (!parse_ip(buf, &c->ip))
		return false;
	if (len < 0 || len > (c->ip.family == XLB_AF_INET ? 32 : 128))
		return false;
	c->prefix_len = (uint8_t)len;
	return true;
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "UDP" : proto == IPPROTO_SCTP ?
	       "SCTP" : "TCP";
}

/* ---- tree walking: YAML (files) and JSON (the API) --------------------- */

/*
 * The getters below read one tree shape through a few accessors, so files
 * (a libyaml document) and API objects (a cJSON tree, never re-serialised)
 * go through the same validation. A JSON string is a quoted scalar and a
 * JSON number, true, false or null a plain one: exactly what libyaml makes
 * of the same text, so both front ends accept and reject the same objects.
 */
typedef const void knode;	/* yaml_node_t or cJSON */

/* Sequential access to a cJSON array or object's i-th child without
 * walking the list from its head every time (nested loops alternate). */
struct kn_cursor {
	const cJSON *parent, *at;
	size_t i;
};

struct pctx {
	yaml_document_t *doc;	/* YAML front end, or ... */
	bool json;		/* ... cJSON nodes */
	struct kn_cursor cur[4];
	unsigned int cur_next;
	char num[4][32];	/* text of JSON numbers */
	unsigned int num_next;
	const char *src;
	struct k8s_errors *errs;
	struct k8s_object *o;	/* object being built */
	const char *kind;	/* its kind name */
	const char *ns;		/* its namespace, "default" until known */
	const char *name;	/* its name, "<unnamed>" until known */
	unsigned int nerr;	/* errors recorded against it */
	bool oom;
};

#define YN(n) ((const yaml_node_t *)(n))
#define JN(n) ((const cJSON *)(n))

static unsigned int node_line(struct pctx *p, knode *n)
{
	/* cJSON keeps no positions: JSON messages name the field path. */
	return n && !p->json ? (unsigned int)YN(n)->start_mark.line + 1 : 0;
}

static bool is_map(struct pctx *p, knode *n)
{
	return p->json ? cJSON_IsObject(JN(n)) : YN(n)->type == YAML_MAPPING_NODE;
}

static bool is_seq(struct pctx *p, knode *n)
{
	return p->json ? cJSON_IsArray(JN(n)) : YN(n)->type == YAML_SEQUENCE_NODE;
}

static bool is_scalar(struct pctx *p, knode *n)
{
	return p->json ? !cJSON_IsObject(JN(n)) && !cJSON_IsArray(JN(n)) :
	       YN(n)->type == YAML_SCALAR_NODE;
}

static void vreport(struct pctx *p, enum k8s_severity sev,
		    knode *at, const char *fmt, va_list ap)
{
	char *msg;

	if (sev == K8S_SEV_ERROR)
		p->nerr++;
	if (!p->errs)
		return;
	if (vasprintf(&msg, fmt, ap) < 0) {
		p->errs->n_dropped++;
		return;
	}
	/* Cluster-scoped objects (pools) have no namespace to show. */
	if (node_line(p, at))
		k8s_errors_add(p->errs, sev, "%s %s%s%s: %s (%s:%u)", p->kind, p->ns,
			       *p->ns ? "/" : "", p->name, msg, p->src, node_line(p, at));
	else
		k8s_errors_add(p->errs, sev, "%s %s%s%s: %s (%s)", p->kind, p->ns,
			       *p->ns ? "/" : "", p->name, msg, p->src);
	free(msg);
}

static void __attribute__((format(printf, 3, 4)))
oerr(struct pctx *p, knode *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(p, K8S_SEV_ERROR, at, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 4, 5)))
onote(struct pctx *p, enum k8s_severity sev, knode *at,
      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(p, sev, at, fmt, ap);
	va_end(ap);
}

static void *oalloc(struct pctx *p, size_t n, size_t size)
{
	void *v = arena_array(p->o, n, size);

	if (!v && !p->oom) {
		p->oom = true;
		p->nerr++;
	}
	return v;
}

static const char *ostrdup(struct pctx *p, const char *s)
{
	char *d = arena_strdup(p->o, s);

	if (!d && !p->oom) {
		p->oom = true;
		p->nerr++;
	}
	return d ? d : "";
}

static const char *scalar(struct pctx *p, knode *n)
{
	const cJSON *j = JN(n);
	char *buf;
	double d;

	if (!p->json)
		return (const char *)YN(n)->data.scalar.value;
	if (cJSON_IsString(j))
		return j->valuestring;
	if (cJSON_IsTrue(j))
		return "true";
	if (cJSON_IsFalse(j))
		return "false";
	if (!cJSON_IsNumber(j))
		return "null";
	/* Integral values print as integers (and then pass or fail the
	 * integer checks like the YAML text would); others as written. */
	buf = p->num[p->num_next++ % 4];
	d = j->valuedouble;
	if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(long long)d)
		snprintf(buf, sizeof(p->num[0]), "%lld", (long long)d);
	else
		snprintf(buf, sizeof(p->num[0]), "%.17g", d);
	return buf;
}

static bool is_plain(struct pctx *p, knode *n)
{
	if (p->json)
		return !cJSON_IsString(JN(n));
	return YN(n)->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
	       YN(n)->data.scalar.style == YAML_ANY_SCALAR_STYLE;
}

/* `~`, `null`, an empty plain value: the same as an absent field. */
static bool is_null(struct pctx *p, knode *n)
{
	const char *v;

	if (!n)
		return true;
	if (p->json)
		return cJSON_IsNull(JN(n));
	if (!is_scalar(p, n) || !is_plain(p, n))
		return false;
	v = scalar(p, n);
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") ||
	       !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static knode *node_at(struct pctx *p, int id)
{
	return yaml_document_get_node(p->doc, id);
}

/* The i-th child of a cJSON array or object, O(1) when walking in order. */
static const cJSON *json_child(struct pctx *p, const cJSON *parent, size_t i)
{
	struct kn_cursor *c = NULL;
	const cJSON *at;
	size_t k;

	for (k = 0; k < 4; k++)
		if (p->cur[k].parent == parent)
			c = &p->cur[k];
	if (c && c->at && c->i == i)
		return c->at;
	if (c && c->at && c->i + 1 == i) {
		at = c->at->next;
	} else {
		at = parent->child;
		for (k = 0; at && k < i; k++)
			at = at->next;
	}
	if (!c)
		c = &p->cur[p->cur_next++ % 4];
	*c = (struct kn_cursor){ parent, at, i };
	return at;
}

/* The number of entries of a mapping. */
static size_t map_len(struct pctx *p, knode *n)
{
	if (p->json)
		return (size_t)cJSON_GetArraySize(JN(n));
	return YN(n)->data.mapping.pairs.top - YN(n)->data.mapping.pairs.start;
}

/* Entry i of a mapping: its key (NULL when not a scalar) and value node
 * (NULL when missing); *k_node is what a message about the key points at. */
static const char *map_entry(struct pctx *p, knode *n, size_t i, knode **k_node,
			     knode **v)
{
	const yaml_node_pair_t *pair;
	knode *k;

	if (p->json) {
		const cJSON *e = json_child(p, JN(n), i);

		*k_node = e;
		*v = e;
		return e ? e->string : NULL;
	}
	pair = YN(n)->data.mapping.pairs.start + i;
	k = node_at(p, pair->key);
	*k_node = k;
	*v = node_at(p, pair->value);
	return k && is_scalar(p, k) ? scalar(p, k) : NULL;
}

/* The value under `key` in a mapping; NULL when absent or null. */
static knode *map_get(struct pctx *p, knode *map, const char *key)
{
	const yaml_node_pair_t *pair;

	if (!map || !is_map(p, map))
		return NULL;
	if (p->json) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(JN(map), key);

		return is_null(p, v) ? NULL : v;
	}
	for (pair = YN(map)->data.mapping.pairs.start;
	     pair < YN(map)->data.mapping.pairs.top; pair++) {
		knode *k = node_at(p, pair->key);
		knode *v;

		if (!k || !is_scalar(p, k) || strcmp(scalar(p, k), key))
			continue;
		v = node_at(p, pair->value);
		return is_null(p, v) ? NULL : v;
	}
	return NULL;
}

static size_t seq_len(struct pctx *p, knode *n)
{
	if (p->json)
		return (size_t)cJSON_GetArraySize(JN(n));
	return YN(n)->data.sequence.items.top - YN(n)->data.sequence.items.start;
}

static knode *seq_item(struct pctx *p, knode *n, size_t i)
{
	if (p->json)
		return json_child(p, JN(n), i);
	return node_at(p, YN(n)->data.sequence.items.start[i]);
}

/* A mapping, or NULL (absent); a field of another shape is an error. */
static knode *get_map(struct pctx *p, knode *parent,
			    const char *key, const char *path)
{
	knode *n = map_get(p, parent, key);

	if (n && !is_map(p, n)) {
		oerr(p, n, "%s: expected a mapping", path);
		return NULL;
	}
	return n;
}

/* A sequence, or NULL (absent, null or empty). */
static knode *get_seq(struct pctx *p, knode *parent,
			    const char *key, const char *path)
{
	knode *n = map_get(p, parent, key);

	if (n && !is_seq(p, n)) {
		oerr(p, n, "%s: expected a list", path);
		return NULL;
	}
	return n && seq_len(p, n) ? n : NULL;
}

/* A string scalar (kept in the libyaml tree), or NULL when absent. */
static const char *get_str(struct pctx *p, knode *parent,
			   const char *key, const char *path)
{
	knode *n = map_get(p, parent, key);

	if (!n)
		return NULL;
	if (!is_scalar(p, n)) {
		oerr(p, n, "%s: expected a string", path);
		return NULL;
	}
	return scalar(p, n);
}

static bool scalar_is_int(struct pctx *p, knode *n)
{
	const char *s = scalar(p, n);

	if (!is_plain(p, n))
		return false;
	if (*s == '-' || *s == '+')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/*
 * An integer in [min, max] from a node; *present tells whether it was set.
 * Returns false (and records an error) for a non-number or a value out of
 * range.
 */
static bool node_int(struct pctx *p, knode *n, const char *path,
		     long long min, long long max, long long *out)
{
	long long v;

	if (!is_scalar(p, n) || !scalar_is_int(p, n)) {
		oerr(p, n, "%s: expected an integer, got %s%s%s", path,
		     is_scalar(p, n) ? "\"" : "",
		     is_scalar(p, n) ? scalar(p, n) : "a collection",
		     is_scalar(p, n) ? "\"" : "");
		return false;
	}
	errno = 0;
	v = strtoll(scalar(p, n), NULL, 10);
	if (errno || v < min || v > max) {
		oerr(p, n, "%s: %s out of range %lld..%lld", path, scalar(p, n),
		     min, max);
		return false;
	}
	*out = v;
	return true;
}

static bool get_int(struct pctx *p, knode *parent,
		    const char *key, const char *path, long long min,
		    long long max, long long *out, bool *present)
{
	knode *n = map_get(p, parent, key);

	*present = n != NULL;
	if (!n)
		return true;
	return node_int(p, n, path, min, max, out);
}

/* A *bool: *out keeps its default when absent. */
static void get_bool(struct pctx *p, knode *parent,
		     const char *key, const char *path, bool *out)
{
	knode *n = map_get(p, parent, key);
	const char *s;

	if (!n)
		return;
	if (!is_scalar(p, n) || !is_plain(p, n))
		goto bad;
	s = scalar(p, n);
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
		*out = true;
		return;
	}
	if (!strcmp(s, "false") || !strcmp(s, "False") ||
	    !strcmp(s, "FALSE")) {
		*out = false;
		return;
	}
bad:
	oerr(p, n, "%s: expected true or false", path);
}

/* An IP address scalar. */
static bool node_ip(struct pctx *p, knode *n, const char *path,
		    struct k8s_ip *ip)
{
	if (!is_scalar(p, n)) {
		oerr(p, n, "%s: expected an IP address", path);
		return false;
	}
	if (!parse_ip(scalar(p, n), ip)) {
		oerr(p, n, "%s: invalid IP address \"%s\"", path, scalar(p, n));
		return false;
	}
	return true;
}

/* TCP / UDP; SCTP and absent are told apart by the return value. */
enum proto_res { PROTO_OK, PROTO_SCTP, PROTO_BAD };

static enum proto_res get_proto(struct pctx *p, knode *parent,
				const char *path, uint8_t *proto)
{
	const char *s = get_str(p, parent, "protocol", path);

	*proto = IPPROTO_TCP;	/* default (K8S_SPEC §2, §3) */
	if (!s || !strcmp(s, "TCP"))
		return PROTO_OK;
	if (!strcmp(s, "UDP")) {
		*proto = IPPROTO_UDP;
		return PROTO_OK;
	}
	if (!strcmp(s, "SCTP")) {
		*proto = IPPROTO_SCTP;
		return PROTO_SCTP;
	}
	oerr(p, map_get(p, parent, "protocol"),
	     "%s: unknown protocol \"%s\" (TCP, UDP or SCTP)", path, s);
	return PROTO_BAD;
}

/* ---- metadata --------------------------------------------------------- */

/* Name and namespace only: for messages about objects we do not keep. */
static void peek_meta(struct pctx *p, knode *obj,
		      const char **ns, const char **name)
{
	knode *meta = map_get(p, obj, "metadata");
	knode *n;

	*ns = "default";
	*name = "<unnamed>";
	n = map_get(p, meta, "namespace");
	if (n && is_scalar(p, n) && *scalar(p, n))
		*ns = scalar(p, n);
	n = map_get(p, meta, "name");
	if (n && is_scalar(p, n) && *scalar(p, n))
		*name = scalar(p, n);
}

/* A map of strings to strings: labels, annotations, selectors. */
static void parse_string_map(struct pctx *p, knode *map, const char *path,
			     struct k8s_label **out, size_t *n_out)
{
	if (!map)
		return;
	*out = oalloc(p, map_len(p, map), sizeof(**out));
	if (!*out)
		return;
	for (size_t i = 0; i < map_len(p, map); i++) {
		knode *k, *v;
		const char *key = map_entry(p, map, i, &k, &v);
		struct k8s_label *l = &(*out)[*n_out];

		if (!key || (v && !is_scalar(p, v))) {
			oerr(p, k, "%s: expected string keys and values", path);
			continue;
		}
		l->key = ostrdup(p, key);
		/* `key:` with nothing after it is an empty value. */
		l->value = is_null(p, v) ? "" : ostrdup(p, scalar(p, v));
		(*n_out)++;
	}
}

static void parse_meta(struct pctx *p, knode *obj)
{
	struct k8s_meta *m = &p->o->meta;
	knode *meta = map_get(p, obj, "metadata");
	const char *s;

	m->namespace = "default";
	m->name = "";
	m->uid = "";
	m->resource_version = "";
	if (!meta) {
		oerr(p, obj, "metadata: missing");
		return;
	}
	if (!is_map(p, meta)) {
		oerr(p, meta, "metadata: expected a mapping");
		return;
	}
	s = get_str(p, meta, "namespace", "metadata.namespace");
	if (s && *s) {
		m->namespace = ostrdup(p, s);
		p->ns = m->namespace;
		if (!is_dns1123_label(s))
			oerr(p, map_get(p, meta, "namespace"),
			     "metadata.namespace: \"%s\" is not a valid DNS label",
			     s);
	}
	s = get_str(p, meta, "name", "metadata.name");
	if (!s || !*s) {
		oerr(p, meta, "metadata.name: missing");
	} else {
		bool ok = p->o->kind == K8S_KIND_SERVICE ?
			  is_dns1035_label(s) : is_dns1123_subdomain(s);

		m->name = ostrdup(p, s);
		p->name = m->name;
		if (!ok)
			oerr(p, map_get(p, meta, "name"),
			     "metadata.name: \"%s\" is not a valid %s", s,
			     p->o->kind == K8S_KIND_SERVICE ?
			     "DNS-1035 label" : "DNS subdomain");
	}
	s = get_str(p, meta, "uid", "metadata.uid");
	if (s)
		m->uid = ostrdup(p, s);
	s = get_str(p, meta, "resourceVersion", "metadata.resourceVersion");
	if (s)
		m->resource_version = ostrdup(p, s);

	parse_string_map(p, get_map(p, meta, "labels", "metadata.labels"),
			 "metadata.labels", &m->labels, &m->n_labels);
	parse_string_map(p, get_map(p, meta, "annotations", "metadata.annotations"),
			 "metadata.annotations", &m->annotations,
			 &m->n_annotations);
}

/* ---- Service ---------------------------------------------------------- */

static void parse_svc_ports(struct pctx *p, knode *spec)
{
	struct k8s_service *s = &p->o->svc;
	knode *ports = get_seq(p, spec, "ports", "spec.ports");
	size_t n, kept = 0;
	char path[64];

	if (!ports)
		return;
	n = seq_len(p, ports);
	s->ports = oalloc(p, n, sizeof(*s->ports));
	if (!s->ports)
		return;
	for (size_t i = 0; i < n; i++) {
		knode *item = seq_item(p, ports, i);
		struct k8s_svc_port *sp = &s->ports[i];
		knode *tp;
		long long v;
		bool present;
		const char *name;

		sp->name = "";
		snprintf(path, sizeof(path), "spec.ports[%zu]", i);
		if (!item || !is_map(p, item)) {
			oerr(p, item, "%s: expected a mapping", path);
			continue;
		}
		snprintf(path, sizeof(path), "spec.ports[%zu].name", i);
		name = get_str(p, item, "name", path);
		if (name && *name) {
			sp->name = ostrdup(p, name);
			if (!is_dns1123_label(name))
				oerr(p, map_get(p, item, "name"),
				     "%s: \"%s\" is not a valid DNS label",
				     path, name);
		}
		snprintf(path, sizeof(path), "spec.ports[%zu].protocol", i);
		get_proto(p, item, path, &sp->proto);

		snprintf(path, sizeof(path), "spec.ports[%zu].port", i);
		if (get_int(p, item, "port", path, 1, 65535, &v, &present)) {
			if (present)
				sp->port = (uint16_t)v;
			else
				oerr(p, item, "%s: missing", path);
		}

		snprintf(path, sizeof(path), "spec.ports[%zu].nodePort", i);
		if (get_int(p, item, "nodePort", path, 0, 65535, &v, &present) &&
		    present)
			sp->node_port = (uint16_t)v;

		/* IntOrString: a JSON number / plain YAML integer is a port
		 * number, anything else a port name. 0 or "" mean `port`. */
		snprintf(path, sizeof(path), "spec.ports[%zu].targetPort", i);
		tp = map_get(p, item, "targetPort");
		sp->target_port = sp->port;
		if (tp && is_scalar(p, tp) && scalar_is_int(p, tp)) {
			if (node_int(p, tp, path, 0, 65535, &v) && v)
				sp->target_port = (uint16_t)v;
		} else if (tp && is_scalar(p, tp)) {
			if (*scalar(p, tp)) {
				sp->target_port = 0;
				sp->target_port_name = ostrdup(p, scalar(p, tp));
				if (!is_iana_svc_name(scalar(p, tp)))
					oerr(p, tp, "%s: \"%s\" is neither a port number nor a valid port name",
					     path, scalar(p, tp));
			}
		} else if (tp) {
			oerr(p, tp, "%s: expected a number or a name", path);
		}
	}

	/* Cross-port rules of the API's validation, SCTP ports included. */
	for (size_t i = 0; i < n; i++) {
		struct k8s_svc_port *a = &s->ports[i];
		knode *item = seq_item(p, ports, i);

		if (n > 1 && !*a->name)
			oerr(p, item, "spec.ports[%zu].name: required when the Service has more than one port",
			     i);
		for (size_t j = 0; j < i; j++) {
			struct k8s_svc_port *b = &s->ports[j];

			if (*a->name && !strcmp(a->name, b->name))
				oerr(p, item, "spec.ports[%zu].name: duplicate port name \"%s\"",
				     i, a->name);
			if (a->port && a->port == b->port &&
			    a->proto == b->proto)
				oerr(p, item, "spec.ports[%zu]: duplicate port %u/%s",
				     i, a->port, proto_name(a->proto));
			if (a->node_port && a->node_port == b->node_port &&
			    a->proto == b->proto)
				oerr(p, item, "spec.ports[%zu].nodePort: duplicate nodePort %u/%s",
				     i, a->node_port, proto_name(a->proto));
		}
	}

	/* The datapath speaks TCP and UDP: SCTP ports are dropped. */
	for (size_t i = 0; i < n; i++) {
		if (s->ports[i].proto == IPPROTO_SCTP) {
			onote(p, K8S_SEV_WARN, seq_item(p, ports, i),
			      "spec.ports[%zu]: SCTP port %u not supported, ignored",
			      i, s->ports[i].port);
			continue;
		}
		s->ports[kept++] = s->ports[i];
	}
	s->n_ports = kept;
}

static void parse_ip_list(struct pctx *p, knode *parent,
			  const char *key, const char *field,
			  struct k8s_ip **out, size_t *n_out)
{
	knode *seq = get_seq(p, parent, key, field);
	char path[64];
	size_t n;

	if (!seq)
		return;
	n = seq_len(p, seq);
	*out = oalloc(p, n, sizeof(**out));
	if (!*out)
		return;
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s[%zu]", field, i);
		if (node_ip(p, seq_item(p, seq, i), path, &(*out)[*n_out]))
			(*n_out)++;
	}
}

static void parse_cluster_ips(struct pctx *p, knode *spec)
{
	struct k8s_service *s = &p->o->svc;
	knode *seq = get_seq(p, spec, "clusterIPs", "spec.clusterIPs");
	knode *one = map_get(p, spec, "clusterIP");
	struct k8s_ip ip;
	char path[64];
	size_t n;

	if (one && !is_scalar(p, one)) {
		oerr(p, one, "spec.clusterIP: expected a string");
		one = NULL;
	}
	if (one && !strcmp(scalar(p, one), "None"))
		s->headless = true;
	else if (one && *scalar(p, one) && !parse_ip(scalar(p, one), &ip))
		oerr(p, one, "spec.clusterIP: invalid IP address \"%s\"",
		     scalar(p, one));

	if (!seq) {
		/* Without clusterIPs, clusterIP alone says it all. */
		if (one && *scalar(p, one) && !s->headless &&
		    parse_ip(scalar(p, one), &ip)) {
			s->cluster_ips = oalloc(p, 1, sizeof(ip));
			if (s->cluster_ips) {
				s->cluster_ips[0] = ip;
				s->n_cluster_ips = 1;
			}
		}
		return;
	}
	n = seq_len(p, seq);
	s->cluster_ips = oalloc(p, n, sizeof(*s->cluster_ips));
	if (!s->cluster_ips)
		return;
	for (size_t i = 0; i < n; i++) {
		knode *item = seq_item(p, seq, i);

		snprintf(path, sizeof(path), "spec.clusterIPs[%zu]", i);
		if (item && is_scalar(p, item) &&
		    !strcmp(scalar(p, item), "None")) {
			s->headless = true;
			continue;
		}
		if (node_ip(p, item, path, &s->cluster_ips[s->n_cluster_ips]))
			s->n_cluster_ips++;
	}
	if (s->n_cluster_ips > 2 ||
	    (s->n_cluster_ips == 2 &&
	     s->cluster_ips[0].family == s->cluster_ips[1].family))
		oerr(p, seq, "spec.clusterIPs: at most one address per IP family");
}

static void parse_ip_families(struct pctx *p, knode *spec)
{
	struct k8s_service *s = &p->o->svc;
	knode *seq = get_seq(p, spec, "ipFamilies", "spec.ipFamilies");
	size_t n;

	if (!seq)
		return;
	n = seq_len(p, seq);
	s->ip_families = oalloc(p, n, 1);
	if (!s->ip_families)
		return;
	for (size_t i = 0; i < n; i++) {
		knode *item = seq_item(p, seq, i);
		const char *v = item && is_scalar(p, item) ?
				scalar(p, item) : "";
		uint8_t fam;

		if (!strcmp(v, "IPv4")) {
			fam = XLB_AF_INET;
		} else if (!strcmp(v, "IPv6")) {
			fam = XLB_AF_INET6;
		} else {
			oerr(p, item, "spec.ipFamilies[%zu]: \"%s\" is not IPv4 or IPv6",
			     i, v);
			continue;
		}
		for (size_t j = 0; j < s->n_ip_families; j++)
			if (s->ip_families[j] == fam)
				oerr(p, item, "spec.ipFamilies[%zu]: duplicate family %s",
				     i, v);
		s->ip_families[s->n_ip_families++] = fam;
	}
	/* clusterIPs[i] belongs to ipFamilies[i] (K8S_SPEC §2). */
	for (size_t i = 0; i < s->n_ip_families && i < s->n_cluster_ips; i++)
		if (s->ip_families[i] != s->cluster_ips[i].family)
			oerr(p, seq, "spec.clusterIPs[%zu]: family does not match spec.ipFamilies[%zu]",
			     i, i);
}

static void parse_policy(struct pctx *p, knode *spec,
			 const char *key, bool allow_global,
			 enum k8s_traffic_policy *out)
{
	char path[64];
	const char *v;

	snprintf(path, sizeof(path), "spec.%s", key);
	v = get_str(p, spec, key, path);
	*out = K8S_TP_CLUSTER;
	if (!v || !*v || !strcmp(v, "Cluster") ||
	    (allow_global && !strcmp(v, "Global")))
		return;
	if (!strcmp(v, "Local")) {
		*out = K8S_TP_LOCAL;
		return;
	}
	oerr(p, map_get(p, spec, key), "%s: \"%s\" is not Cluster or Local",
	     path, v);
}

static void parse_affinity(struct pctx *p, knode *spec)
{
	struct k8s_service *s = &p->o->svc;
	const char *v = get_str(p, spec, "sessionAffinity",
				"spec.sessionAffinity");
	knode *cfg, *cip;
	long long t;
	bool present;

	if (!v || !*v || !strcmp(v, "None"))
		return;
	if (strcmp(v, "ClientIP")) {
		oerr(p, map_get(p, spec, "sessionAffinity"),
		     "spec.sessionAffinity: \"%s\" is not None or ClientIP", v);
		return;
	}
	s->session_affinity = K8S_AFFINITY_CLIENT_IP;
	s->affinity_timeout = 10800;
	cfg = get_map(p, spec, "sessionAffinityConfig",
		      "spec.sessionAffinityConfig");
	cip = get_map(p, cfg, "clientIP", "spec.sessionAffinityConfig.clientIP");
	if (get_int(p, cip, "timeoutSeconds",
		    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
		    1, 86400, &t, &present) && present)
		s->affinity_timeout = (uint32_t)t;
}

static void parse_source_ranges(struct pctx *p, knode *spec)
{
	struct k8s_service *s = &p->o->svc;
	knode *seq = get_seq(p, spec, "loadBalancerSourceRanges",
				   "spec.loadBalancerSourceRanges");
	size_t n;

	if (!seq)
		return;
	n = seq_len(p, seq);
	s->source_ranges = oalloc(p, n, sizeof(*s->source_ranges));
	if (!s->source_ranges)
		return;
	for (size_t i = 0; i < n; i++) {
		knode *item = seq_item(p, seq, i);

		if (!item || !is_scalar(p, item) ||
		    !parse_cidr(scalar(p, item),
				&s->source_ranges[s->n_source_ranges])) {
			oerr(p, item, "spec.loadBalancerSourceRanges[%zu]: invalid CIDR \"%s\"",
			     i, item && is_scalar(p, item) ?
			     scalar(p, item) : "");
			continue;
		}
		s->n_source_ranges++;
	}
}

static void parse_lb_status(struct pctx *p, knode *obj)
{
	struct k8s_service *s = &p->o->svc;
	knode *status = get_map(p, obj, "status", "status");
	knode *lb = get_map(p, status, "loadBalancer",
				  "status.loadBalancer");
	knode *seq = get_seq(p, lb, "ingress",
				   "status.loadBalancer.ingress");
	char path[80];
	size_t n;

	if (!seq)
		return;
	n = seq_len(p, seq);
	s->ingress = oalloc(p, n, sizeof(*s->ingress));
	if (!s->ingress)
		return;
	for (size_t i = 0; i < n; i++) {
		knode *item = seq_item(p, seq, i);
		struct k8s_lb_ingress *in = &s->ingress[s->n_ingress];
		knode *ip;
		const char *v;

		snprintf(path, sizeof(path), "status.loadBalancer.ingress[%zu]",
			 i);
		if (!item || !is_map(p, item)) {
			oerr(p, item, "%s: expected a mapping", path);
			continue;
		}
		snprintf(path, sizeof(path),
			 "status.loadBalancer.ingress[%zu].ip", i);
		ip = map_get(p, item, "ip");
		if (ip && node_ip(p, ip, path, &in->ip))
			in->has_ip = true;
		snprintf(path, sizeof(path),
			 "status.loadBalancer.ingress[%zu].hostname", i);
		v = get_str(p, item, "hostname", path);
		if (v && *v)
			in->hostname = ostrdup(p, v);
		snprintf(path, sizeof(path),
			 "status.loadBalancer.ingress[%zu].ipMode", i);
		v = get_str(p, item, "ipMode", path);
		if (v && !strcmp(v, "Proxy"))
			in->ip_mode = K8S_IP_MODE_PROXY;
		else if (v && *v && strcmp(v, "VIP"))
			oerr(p, map_get(p, item, "ipMode"),
			     "%s: \"%s\" is not VIP or Proxy", path, v);
		s->n_ingress++;
	}
}

/* What the allocator reads: requested address, class, family policy and
 * the selector (sharing between ETP Local Services compares it). */
static void parse_lb_request(struct pctx *p, knode *spec)
{
	struct k8s_service *s = &p->o->svc;
	const char *v;

	v = get_str(p, spec, "loadBalancerIP", "spec.loadBalancerIP");
	if (v && *v)
		s->load_balancer_ip = ostrdup(p, v);
	v = get_str(p, spec, "loadBalancerClass", "spec.loadBalancerClass");
	if (v && *v)
		s->load_balancer_class = ostrdup(p, v);
	v = get_str(p, spec, "ipFamilyPolicy", "spec.ipFamilyPolicy");
	if (!v || !*v || !strcmp(v, "SingleStack"))
		s->ip_family_policy = K8S_IPFP_SINGLE;
	else if (!strcmp(v, "PreferDualStack"))
		s->ip_family_policy = K8S_IPFP_PREFER_DUAL;
	else if (!strcmp(v, "RequireDualStack"))
		s->ip_family_policy = K8S_IPFP_REQUIRE_DUAL;
	else
		oerr(p, map_get(p, spec, "ipFamilyPolicy"),
		     "spec.ipFamilyPolicy: \"%s\" is not SingleStack, PreferDualStack or RequireDualStack",
		     v);
	parse_string_map(p, get_map(p, spec, "selector", "spec.selector"),
			 "spec.selector", &s->selector, &s->n_selector);
}

static void parse_service(struct pctx *p, knode *obj)
{
	struct k8s_service *s = &p->o->svc;
	knode *spec = get_map(p, obj, "spec", "spec");
	const char *type;
	long long v;
	bool present;

	if (!spec) {
		if (!map_get(p, obj, "spec"))
			oerr(p, obj, "spec: missing");
		return;
	}
	type = get_str(p, spec, "type", "spec.type");
	if (!type || !*type || !strcmp(type, "ClusterIP"))
		s->type = K8S_SVC_CLUSTER_IP;
	else if (!strcmp(type, "NodePort"))
		s->type = K8S_SVC_NODE_PORT;
	else if (!strcmp(type, "LoadBalancer"))
		s->type = K8S_SVC_LOAD_BALANCER;
	else if (!strcmp(type, "ExternalName"))
		s->type = K8S_SVC_EXTERNAL_NAME;
	else
		oerr(p, map_get(p, spec, "type"),
		     "spec.type: unknown type \"%s\"", type);

	parse_svc_ports(p, spec);
	parse_cluster_ips(p, spec);
	parse_ip_families(p, spec);
	parse_ip_list(p, spec, "externalIPs", "spec.externalIPs",
		      &s->external_ips, &s->n_external_ips);
	parse_policy(p, spec, "externalTrafficPolicy", true,
		     &s->external_traffic_policy);
	parse_policy(p, spec, "internalTrafficPolicy", false,
		     &s->internal_traffic_policy);
	if (get_int(p, spec, "healthCheckNodePort", "spec.healthCheckNodePort",
		    0, 65535, &v, &present) && present)
		s->health_check_node_port = (uint16_t)v;
	parse_affinity(p, spec);
	parse_source_ranges(p, spec);
	parse_lb_status(p, obj);
	parse_lb_request(p, spec);
}

/* ---- EndpointSlice ---------------------------------------------------- */

static void parse_endpoint(struct pctx *p, knode *item, size_t i,
			   struct k8s_endpoint *ep)
{
	struct k8s_endpointslice *e = &p->o->eps;
	knode *addrs, *cond;
	const char *v;
	char path[80];

	/* K8S_SPEC §3: ready nil -> true, serving nil -> true (as
	 * kube-proxy's endpointslicecache.go reads it), terminating nil ->
	 * false. */
	ep->ready = true;
	ep->serving = true;
	ep->terminating = false;

	snprintf(path, sizeof(path), "endpoints[%zu].addresses", i);
	addrs = get_seq(p, item, "addresses", path);
	if (addrs && e->addr_type != K8S_ADDR_FQDN) {
		size_t n = seq_len(p, addrs);
		uint8_t want = e->addr_type == K8S_ADDR_IPV6 ?
			       XLB_AF_INET6 : XLB_AF_INET;

		ep->addrs = oalloc(p, n, sizeof(*ep->addrs));
		for (size_t j = 0; ep->addrs && j < n; j++) {
			knode *a = seq_item(p, addrs, j);
			struct k8s_ip *ip = &ep->addrs[ep->n_addrs];

			snprintf(path, sizeof(path),
				 "endpoints[%zu].addresses[%zu]", i, j);
			if (!node_ip(p, a, path, ip))
				continue;
			if (ip->family != want) {
				oerr(p, a, "%s: \"%s\" does not match addressType %s",
				     path, scalar(p, a),
				     want == XLB_AF_INET ? "IPv4" : "IPv6");
				continue;
			}
			ep->n_addrs++;
		}
	}

	snprintf(path, sizeof(path), "endpoints[%zu].conditions", i);
	cond = get_map(p, item, "conditions", path);
	snprintf(path, sizeof(path), "endpoints[%zu].conditions.ready", i);
	get_bool(p, cond, "ready", path, &ep->ready);
	snprintf(path, sizeof(path), "endpoints[%zu].conditions.serving", i);
	get_bool(p, cond, "serving", path, &ep->serving);
	snprintf(path, sizeof(path), "endpoints[%zu].conditions.terminating",
		 i);
	get_bool(p, cond, "terminating", path, &ep->terminating);

	snprintf(path, sizeof(path), "endpoints[%zu].nodeName", i);
	v = get_str(p, item, "nodeName", path);
	if (v && *v)
		ep->node_name = ostrdup(p, v);
	snprintf(path, sizeof(path), "endpoints[%zu].zone", i);
	v = get_str(p, item, "zone", path);
	if (v && *v)
		ep->zone = ostrdup(p, v);
}

static void parse_eps_ports(struct pctx *p, knode *obj)
{
	struct k8s_endpointslice *e = &p->o->eps;
	knode *seq = get_seq(p, obj, "ports", "ports");
	char path[64];
	size_t n;

	if (!seq)
		return;
	n = seq_len(p, seq);
	e->ports = oalloc(p, n, sizeof(*e->ports));
	if (!e->ports)
		return;
	for (size_t i = 0; i < n; i++) {
		knode *item = seq_item(p, seq, i);
		struct k8s_eps_port *ep = &e->ports[e->n_ports];
		const char *name;
		long long v;
		bool present;

		if (!item || !is_map(p, item)) {
			oerr(p, item, "ports[%zu]: expected a mapping", i);
			continue;
		}
		snprintf(path, sizeof(path), "ports[%zu].name", i);
		name = get_str(p, item, "name", path);
		ep->name = "";
		if (name && *name) {
			ep->name = ostrdup(p, name);
			if (!is_dns1123_label(name))
				oerr(p, map_get(p, item, "name"),
				     "%s: \"%s\" is not a valid DNS label",
				     path, name);
		}
		for (size_t j = 0; j < e->n_ports; j++)
			if (!strcmp(e->ports[j].name, ep->name))
				oerr(p, item, "%s: duplicate port name \"%s\"",
				     path, ep->name);
		snprintf(path, sizeof(path), "ports[%zu].port", i);
		/* A nil port is legal ("all ports") but unusable: kube-proxy
		 * skips it, and so does translate. */
		if (get_int(p, item, "port", path, 0, 65535, &v, &present) &&
		    present)
			ep->port = (uint16_t)v;
		snprintf(path, sizeof(path), "ports[%zu].protocol", i);
		switch (get_proto(p, item, path, &ep->proto)) {
		case PROTO_OK:
			e->n_ports++;
			break;
		case PROTO_SCTP:
			/* Its Service already warned about this port. */
			onote(p, K8S_SEV_DEBUG, item,
			      "%s: SCTP not supported, port ignored", path);
			break;
		case PROTO_BAD:
			break;
		}
	}
}

static void parse_endpointslice(struct pctx *p, knode *obj)
{
	struct k8s_endpointslice *e = &p->o->eps;
	const char *at = get_str(p, obj, "addressType", "addressType");
	knode *seq;

	e->service_name = k8s_label(p->o, "kubernetes.io/service-name");
	if (e->service_name && !*e->service_name)
		e->service_name = NULL;
	if (!e->service_name)
		onote(p, K8S_SEV_DEBUG, obj,
		      "no kubernetes.io/service-name label: not used");

	if (!at) {
		oerr(p, obj, "addressType: missing");
		return;
	} else if (!strcmp(at, "IPv4")) {
		e->addr_type = K8S_ADDR_IPV4;
	} else if (!strcmp(at, "IPv6")) {
		e->addr_type = K8S_ADDR_IPV6;
	} else if (!strcmp(at, "FQDN")) {
		e->addr_type = K8S_ADDR_FQDN;
		onote(p, K8S_SEV_DEBUG, obj, "addressType FQDN: not used");
	} else {
		oerr(p, map_get(p, obj, "addressType"),
		     "addressType: \"%s\" is not IPv4, IPv6 or FQDN", at);
		return;
	}

	seq = get_seq(p, obj, "endpoints", "endpoints");
	if (seq) {
		size_t n = seq_len(p, seq);

		e->endpoints = oalloc(p, n, sizeof(*e->endpoints));
		for (size_t i = 0; e->endpoints && i < n; i++) {
			knode *item = seq_item(p, seq, i);

			if (!item || !is_map(p, item)) {
				oerr(p, item, "endpoints[%zu]: expected a mapping",
				     i);
				continue;
			}
			parse_endpoint(p, item, i,
				       &e->endpoints[e->n_endpoints++]);
		}
	}
	parse_eps_ports(p, obj);
}

/* ---- documents -------------------------------------------------------- */

/* ---- LoadBalancerIPPool ---------------------------------------------- */

static bool cidr_to_block(const struct k8s_cidr *c, struct k8s_pool_block *b)
{
	int bits = c->ip.family == XLB_AF_INET ? 32 : 128;

	b->first = c->ip;
	b->last = c->ip;
	for (int i = c->prefix_len; i < bits; i++) {
		uint8_t m = 0x80 >> (i % 8);

		b->first.addr.bytes[i / 8] &= ~m;
		b->last.addr.bytes[i / 8] |= m;
	}
	/* A CIDR written with host bits set is a typo, not a pool. */
	return !k8s_ip_cmp(&b->first, &c->ip);
}

static void parse_pool_block(struct pctx *p, knode *item, size_t i)
{
	struct k8s_lbpool *pool = &p->o->pool;
	struct k8s_pool_block *b = &pool->blocks[pool->n_blocks];
	const char *cidr, *start, *stop;
	char path[64];
	struct k8s_cidr c;

	if (!item || !is_map(p, item)) {
		oerr(p, item, "spec.blocks[%zu]: expected a mapping", i);
		return;
	}
	snprintf(path, sizeof(path), "spec.blocks[%zu]", i);
	cidr = get_str(p, item, "cidr", path);
	start = get_str(p, item, "start", path);
	stop = get_str(p, item, "stop", path);
	if (cidr && (start || stop)) {
		oerr(p, item, "%s: give either cidr or start/stop, not both", path);
		return;
	}
	if (cidr) {
		if (!parse_cidr(cidr, &c)) {
			oerr(p, item, "%s.cidr: invalid CIDR \"%s\"", path, cidr);
			return;
		}
		if (!cidr_to_block(&c, b)) {
			oerr(p, item, "%s.cidr: \"%s\" has host bits set", path, cidr);
			return;
		}
	} else if (start && stop) {
		if (!parse_ip(start, &b->first)) {
			oerr(p, item, "%s.start: invalid IP address \"%s\"", path, start);
			return;
		}
		if (!parse_ip(stop, &b->last)) {
			oerr(p, item, "%s.stop: invalid IP address \"%s\"", path, stop);
			return;
		}
		if (b->first.family != b->last.family) {
			oerr(p, item, "%s: start and stop of different IP families", path);
			return;
		}
		if (k8s_ip_cmp(&b->first, &b->last) > 0) {
			oerr(p, item, "%s: start %s is after stop %s", path, start, stop);
			return;
		}
	} else {
		oerr(p, item, "%s: needs cidr, or start and stop", path);
		return;
	}
	for (size_t j = 0; j < pool->n_blocks; j++) {
		const struct k8s_pool_block *o = &pool->blocks[j];

		if (o->first.family == b->first.family &&
		    k8s_ip_cmp(&b->first, &o->last) <= 0 &&
		    k8s_ip_cmp(&o->first, &b->last) <= 0) {
			oerr(p, item, "%s: overlaps spec.blocks[%zu]", path, j);
			return;
		}
	}
	pool->n_blocks++;
}

static void parse_str_list(struct pctx *p, knode *parent,
			   const char *key, const char *path,
			   const char ***out, size_t *n_out)
{
	knode *seq = get_seq(p, parent, key, path);
	size_t n;

	if (!seq)
		return;
	n = seq_len(p, seq);
	*out = oalloc(p, n, sizeof(**out));
	if (!*out)
		return;
	for (size_t i = 0; i < n; i++) {
		knode *item = seq_item(p, seq, i);

		if (!item || !is_scalar(p, item) || !*scalar(p, item)) {
			oerr(p, item, "%s[%zu]: expected a non-empty string", path, i);
			continue;
		}
		(*out)[(*n_out)++] = ostrdup(p, scalar(p, item));
	}
}

/* matchLabels only: matchExpressions would be silently widened if ignored,
 * so it is refused. */
static void parse_label_selector(struct pctx *p, knode *spec,
				 const char *key, const char *path,
				 struct k8s_label **out, size_t *n_out)
{
	knode *sel = get_map(p, spec, key, path);
	char sub[64];

	if (!sel)
		return;
	if (map_get(p, sel, "matchExpressions"))
		oerr(p, map_get(p, sel, "matchExpressions"),
		     "%s.matchExpressions: not supported; use matchLabels", path);
	snprintf(sub, sizeof(sub), "%s.matchLabels", path);
	parse_string_map(p, get_map(p, sel, "matchLabels", sub), sub, out, n_out);
}

static void parse_lbpool(struct pctx *p, knode *obj)
{
	struct k8s_lbpool *pool = &p->o->pool;
	knode *spec = get_map(p, obj, "spec", "spec");
	knode *blocks;
	const char *v;
	size_t n;

	/* Cluster-scoped: a namespace in the manifest means nothing. */
	p->o->meta.namespace = "";
	p->ns = "";
	pool->auto_assign = true;
	if (!spec) {
		if (!map_get(p, obj, "spec"))
			oerr(p, obj, "spec: missing");
		return;
	}
	blocks = get_seq(p, spec, "blocks", "spec.blocks");
	if (!blocks) {
		oerr(p, spec, "spec.blocks: at least one block is needed");
		return;
	}
	n = seq_len(p, blocks);
	pool->blocks = oalloc(p, n, sizeof(*pool->blocks));
	if (!pool->blocks)
		return;
	for (size_t i = 0; i < n; i++)
		parse_pool_block(p, seq_item(p, blocks, i), i);
	parse_label_selector(p, spec, "serviceSelector", "spec.serviceSelector",
			     &pool->svc_selector, &pool->n_svc_selector);
	parse_str_list(p, spec, "namespaces", "spec.namespaces",
		       &pool->namespaces, &pool->n_namespaces);
	get_bool(p, spec, "autoAssign", "spec.autoAssign", &pool->auto_assign);
	get_bool(p, spec, "avoidBuggyIPs", "spec.avoidBuggyIPs",
		 &pool->avoid_buggy_ips);
	parse_label_selector(p, spec, "nodeSelector", "spec.nodeSelector",
			     &pool->node_selector, &pool->n_node_selector);
	parse_str_list(p, spec, "interfaces", "spec.interfaces",
		       &pool->interfaces, &pool->n_interfaces);
	v = get_str(p, spec, "announce", "spec.announce");
	if (!v || !*v || !strcmp(v, "L2"))
		pool->announce = K8S_ANNOUNCE_L2;
	else if (!strcmp(v, "None"))
		pool->announce = K8S_ANNOUNCE_NONE;
	else if (!strcmp(v, "BGP"))
		pool->announce = K8S_ANNOUNCE_BGP;
	else
		oerr(p, map_get(p, spec, "announce"),
		     "spec.announce: \"%s\" is not L2, BGP or None", v);
}

static int parse_object(struct pctx *base, knode *obj,
			enum k8s_kind kind, struct k8s_object_list *out)
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

	api = get_str(&p, obj, "apiVersion", "apiVersion");
	want = kind == K8S_KIND_SERVICE ? "v1" :
	       kind == K8S_KIND_LBPOOL ? "xlb.io/v1alpha1" : "discovery.k8s.io/v1";
	if (api && *api && strcmp(api, want)) {
		/* e.g. discovery.k8s.io/v1beta1: another shape. */
		onote(&p, K8S_SEV_WARN, obj,
		      "apiVersion %s not supported (want %s): ignored", api,
		      want);
		return 0;
	}

	p.o = calloc(1, sizeof(*p.o));
	if (!p.o)
		return -ENOMEM;
	p.o->kind = kind;
	p.o->line = node_line(&p, obj);
	parse_meta(&p, obj);
	if (kind == K8S_KIND_SERVICE)
		parse_service(&p, obj);
	else if (kind == K8S_KIND_LBPOOL)
		parse_lbpool(&p, obj);
	else
		parse_endpointslice(&p, obj);

	if (p.oom) {
		err = -ENOMEM;
	} else if (p.nerr) {
		onote(&p, K8S_SEV_ERROR, obj, "object rejected (%u error%s)",
		      p.nerr, p.nerr == 1 ? "" : "s");
		errors_reject(p.errs, kind, p.ns, p.name);
	} else {
		err = list_push(out, p.o);
		if (!err)
			return 0;
	}
	k8s_object_free(p.o);
	return err;
}

static int parse_item(struct pctx *p, knode *obj,
		      const char *default_kind, struct k8s_object_list *out)
{
	const char *kind = NULL, *ns, *name;
	knode *k;

	if (!is_map(p, obj)) {
		k8s_errors_add(p->errs, K8S_SEV_ERROR,
			       "%s:%u: not a Kubernetes object (expected a mapping): ignored",
			       p->src, node_line(p, obj));
		return 0;
	}
	k = map_get(p, obj, "kind");
	if (k && is_scalar(p, k))
		kind = scalar(p, k);
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
		k8s_errors_add(p->errs, K8S_SEV_WARN,
			       "%s:%u: object %s/%s has no kind: ignored",
			       p->src, node_line(p, obj), ns, name);
	else
		k8s_errors_add(p->errs, K8S_SEV_DEBUG,
			       "%s %s/%s: kind not used, ignored (%s:%u)",
			       kind, ns, name, p->src, node_line(p, obj));
	return 0;
}

static int parse_root(struct pctx *p, knode *root,
		      struct k8s_object_list *out)
{
	knode *k, *items;
	const char *kind;
	char item_kind[64];
	size_t len;
	int err;

	if (is_null(p, root))
		return 0;	/* empty document, e.g. a trailing `---` */
	if (!is_map(p, root))
		return parse_item(p, root, NULL, out);
	k = map_get(p, root, "kind");
	kind = k && is_scalar(p, k) ? scalar(p, k) : "";
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
	items = map_get(p, root, "items");
	if (!items)
		return 0;
	if (!is_seq(p, items)) {
		k8s_errors_add(p->errs, K8S_SEV_ERROR,
			       "%s:%u: %s: items is not a list: ignored",
			       p->src, node_line(p, items), kind);
		return 0;
	}
	for (size_t i = 0; i < seq_len(p, items); i++) {
		knode *item = seq_item(p, items, i);

		if (!item)
			continue;
		err = parse_item(p, item, *item_kind ? item_kind : NULL, out);
		if (err)
			return err;
	}
	return 0;
}

int k8s_parse_json(const cJSON *obj, const char *src, const char *kind,
		   struct k8s_object_list *out, struct k8s_errors *errs)
{
	struct pctx p = { .json = true, .errs = errs };

	if (!obj || !out)
		return -EINVAL;
	p.src = src ? src : "<json>";
	if (kind)
		return parse_item(&p, obj, kind, out);
	return parse_root(&p, obj, out);
}

static int syntax_error(const yaml_parser_t *yp, const char *src,
			struct k8s_errors *errs)
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
			k8s_errors_add(errs, K8S_SEV_ERROR,
				       "%s:%zu:%zu: not valid YAML or JSON: %s (%s at line %zu column %zu); nothing loaded",
				       src, yp->problem_mark.line + 1,
				       yp->problem_mark.column + 1, problem,
				       yp->context, yp->context_mark.line + 1,
				       yp->context_mark.column + 1);
		else
			k8s_errors_add(errs, K8S_SEV_ERROR,
				       "%s:%zu:%zu: not valid YAML or JSON: %s; nothing loaded",
				       src, yp->problem_mark.line + 1,
				       yp->problem_mark.column + 1, problem);
		break;
	}
	return -EBADMSG;
}

int k8s_parse_buf(const char *buf, size_t len, const char *src,
		  struct k8s_object_list *out, struct k8s_errors *errs)
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
		err = list_push(out, objs.v[i]);
		if (err) {
			/* The ones already moved are the caller's now. */
			for (size_t j = i; j < objs.n; j++)
				k8s_object_free(objs.v[j]);
			break;
		}
	}
	free(objs.v);
	errors_splice(errs, &msgs);
out:
	yaml_parser_delete(&yp);
	return err;
}

static int read_file(const char *path, char **buf, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *b = NULL, *nb;
	FILE *f;
	int err = 0;

	f = fopen(path, "rb");
	if (!f)
		return -errno;
	for (;;) {
		size_t got;

		if (n == cap || !b) {
			if (b)
				cap *= 2;
			nb = realloc(b, cap);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			b = nb;
		}
		got = fread(b + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				err = -EIO;
			break;
		}
	}
	fclose(f);
	if (err) {
		free(b);
		return err;
	}
	*buf = b;
	*len = n;
	return 0;
}

int k8s_parse_file(const char *path, struct k8s_object_list *out,
		   struct k8s_errors *errs)
{
	char *buf = NULL;
	size_t len = 0;
	int err;

	if (!path || !out)
		return -EINVAL;
	err = read_file(path, &buf, &len);
	if (err) {
		k8s_errors_add(errs, K8S_SEV_ERROR, "read %s: %s (%d)", path,
			       strerror(-err), err);
		return err;
	}
	err = k8s_parse_buf(buf, len, path, out, errs);
	free(buf);
	return err;
}

/* ---- object cache ----------------------------------------------------- */

/*
 * Chained hash table on (kind, namespace, name). Watch events insert and
 * delete one object at a time, so both are O(1); translate takes sorted
 * snapshots with k8s_cache_list().
 */
struct k8s_cache {
	struct k8s_object **buckets;
	size_t n_buckets;	/* power of two */
	size_t count;
};

static uint64_t key_hash(enum k8s_kind kind, const char *ns, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)kind;	/* FNV-1a */

	for (; *ns; ns++)
		h = (h ^ (unsigned char)*ns) * 0x100000001b3ull;
	h = (h ^ '/') * 0x100000001b3ull;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static bool key_eq(const struct k8s_object *o, enum k8s_kind kind,
		   const char *ns, const char *name)
{
	return o->kind == kind && !strcmp(o->meta.namespace, ns) &&
	       !strcmp(o->meta.name, name);
}

struct k8s_cache *k8s_cache_new(void)
{
	struct k8s_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->n_buckets = 64;
	c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void k8s_cache_free(struct k8s_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_buckets; i++) {
		struct k8s_object *o = c->buckets[i], *next;

		for (; o; o = next) {
			next = o->hnext;
			k8s_object_free(o);
		}
	}
	free(c->buckets);
	free(c);
}

size_t k8s_cache_count(const struct k8s_cache *c)
{
	return c ? c->count : 0;
}

static struct k8s_object **cache_slot(const struct k8s_cache *c,
				      enum k8s_kind kind, const char *ns,
				      const char *name)
{
	size_t b = key_hash(kind, ns, name) & (c->n_buckets - 1);
	struct k8s_object **pp = &c->buckets[b];

	for (; *pp; pp = &(*pp)->hnext)
		if (key_eq(*pp, kind, ns, name))
			break;
	return pp;
}

static void cache_grow(struct k8s_cache *c)
{
	size_t n = c->n_buckets * 2;
	struct k8s_object **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return;	/* longer chains, still correct */
	for (size_t i = 0; i < c->n_buckets; i++) {
		struct k8s_object *o = c->buckets[i], *next;

		for (; o; o = next) {
			size_t b = key_hash(o->kind, o->meta.namespace,
					    o->meta.name) & (n - 1);

			next = o->hnext;
			o->hnext = nb[b];
			nb[b] = o;
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->n_buckets = n;
}

static int cache_put(struct k8s_cache *c, struct k8s_object *o,
		     bool *replaced)
{
	struct k8s_object **pp, *old;

	*replaced = false;
	if (!c || !o || !o->meta.namespace || !o->meta.name)
		return -EINVAL;
	pp = cache_slot(c, o->kind, o->meta.namespace, o->meta.name);
	old = *pp;
	if (old) {
		o->hnext = old->hnext;
		*pp = o;
		k8s_object_free(old);
		*replaced = true;
		return 0;
	}
	o->hnext = NULL;
	*pp = o;
	c->count++;
	if (c->count > c->n_buckets)
		cache_grow(c);
	return 0;
}

int k8s_cache_put(struct k8s_cache *c, struct k8s_object *o)
{
	bool replaced;

	return cache_put(c, o, &replaced);
}

struct k8s_object *k8s_cache_take(struct k8s_cache *c, enum k8s_kind kind,
				  const char *ns, const char *name)
{
	struct k8s_object **pp, *o;

	if (!c || !ns || !name)
		return NULL;
	pp = cache_slot(c, kind, ns, name);
	o = *pp;
	if (!o)
		return NULL;
	*pp = o->hnext;
	o->hnext = NULL;
	c->count--;
	return o;
}

int k8s_cache_delete(struct k8s_cache *c, enum k8s_kind kind,
		     const char *ns, const char *name)
{
	struct k8s_object **pp, *o;

	if (!c || !ns || !name)
		return -EINVAL;
	pp = cache_slot(c, kind, ns, name);
	o = *pp;
	if (!o)
		return -ENOENT;
	*pp = o->hnext;
	k8s_object_free(o);
	c->count--;
	return 0;
}

const struct k8s_object *k8s_cache_get(const struct k8s_cache *c,
				       enum k8s_kind kind, const char *ns,
				       const char *name)
{
	if (!c || !ns || !name)
		return NULL;
	return *cache_slot(c, kind, ns, name);
}

struct k8s_object *k8s_cache_get_mut(struct k8s_cache *c, enum k8s_kind kind,
				     const char *ns, const char *name)
{
	if (!c || !ns || !name)
		return NULL;
	return *cache_slot(c, kind, ns, name);
}

static int cmp_obj_name(const void *a, const void *b)
{
	const struct k8s_object *x = *(const struct k8s_object *const *)a;
	const struct k8s_object *y = *(const struct k8s_object *const *)b;
	int r = strcmp(x->meta.namespace, y->meta.namespace);

	return r ? r : strcmp(x->meta.name, y->meta.name);
}

int k8s_cache_list(const struct k8s_cache *c, enum k8s_kind kind,
		   const struct k8s_object ***out, size_t *n)
{
	const struct k8s_object **v;
	size_t k = 0;

	if (!c || !out || !n)
		return -EINVAL;
	*out = NULL;
	*n = 0;
	if (!c->count)
		return 0;
	v = malloc(c->count * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_buckets; i++)
		for (const struct k8s_object *o = c->buckets[i]; o;
		     o = o->hnext)
			if (o->kind == kind)
				v[k++] = o;
	if (!k) {
		free(v);
		return 0;
	}
	qsort(v, k, sizeof(*v), cmp_obj_name);
	*out = v;
	*n = k;
	return 0;
}

static int put_list(struct k8s_cache *c, struct k8s_object_list *l,
		    struct k8s_errors *errs, bool warn_dup)
{
	int err = 0;
	size_t i;

	if (!c || !l)
		return -EINVAL;
	for (i = 0; i < l->n; i++) {
		struct k8s_object *o = l->v[i];
		bool replaced;

		err = cache_put(c, o, &replaced);
		if (err)
			break;
		if (replaced && warn_dup)
			k8s_errors_add(errs, K8S_SEV_WARN,
				       "%s %s/%s: appears more than once, the last one (line %u) wins",
				       k8s_kind_name(o->kind),
				       o->meta.namespace, o->meta.name,
				       o->line);
	}
	/* On failure the rest stay in the list for the caller to free;
	 * on success the list is left empty, with nothing to free. */
	memmove(l->v, l->v + i, (l->n - i) * sizeof(*l->v));
	l->n -= i;
	if (!l->n)
		k8s_object_list_free(l);
	return err;
}

int k8s_cache_put_list(struct k8s_cache *c, struct k8s_object_list *l,
		       struct k8s_errors *errs)
{
	return put_list(c, l, errs, false);
}

static int load(struct k8s_object_list *l, int err, struct k8s_cache **out,
		struct k8s_errors *errs)
{
	struct k8s_cache *c = NULL;

	if (!err) {
		c = k8s_cache_new();
		err = c ? put_list(c, l, errs, true) : -ENOMEM;
	}
	k8s_object_list_free(l);
	if (err) {
		k8s_cache_free(c);
		return err;
	}
	*out = c;
	return 0;
}

int k8s_cache_load_file(const char *path, struct k8s_cache **out,
			struct k8s_errors *errs)
{
	struct k8s_object_list l = { 0 };

	if (!out)
		return -EINVAL;
	*out = NULL;
	return load(&l, k8s_parse_file(path, &l, errs), out, errs);
}

int k8s_cache_load_buf(const char *buf, size_t len, const char *src,
		       struct k8s_cache **out, struct k8s_errors *errs)
{
	struct k8s_object_list l = { 0 };

	if (!out)
		return -EINVAL;
	*out = NULL;
	return load(&l, k8s_parse_buf(buf, len, src, &l, errs), out, errs);
}
