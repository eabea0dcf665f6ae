// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reading object trees: the scalars, maps and sequences of a libyaml
 * document or a cJSON tree through one set of getters (k8s/walk.h), and the
 * name and address syntax the API server enforces.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cjson/cJSON.h>
#include <yaml.h>

#include "k8s/walk.h"

/* ---- name and address syntax ------------------------------------------ */

static bool is_dns_label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* RFC 1123 label: namespaces, port names. */
bool k8s_is_dns1123_label(const char *s)
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
bool k8s_is_dns1035_label(const char *s)
{
	return k8s_is_dns1123_label(s) && s[0] >= 'a' && s[0] <= 'z';
}

/* RFC 1123 subdomain: EndpointSlice names. */
bool k8s_is_dns1123_subdomain(const char *s)
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
		if (!k8s_is_dns1123_label(label))
			return false;
		p += n;
		if (*p == '.' && !*++p)
			return false;
	}
	return true;
}

/* IANA_SVC_NAME: named targetPorts. */
bool k8s_is_iana_svc_name(const char *s)
{
	size_t len = strlen(s);
	bool letter = false;

	if (!len || len > 15 || s[0] == '-' || s[len - 1] == '-' || strstr(s, "--"))
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
	memset(ip, 0, sizeof(*ip));
	if (strchr(s, ':')) {
		ip->family = XLB_AF_INET6;
		return inet_pton(AF_INET6, s, ip->addr.bytes) == 1;
	}
	ip->family = XLB_AF_INET;
	return inet_pton(AF_INET, s, &ip->addr.v4) == 1 || parse_ipv4_sloppy(s, &ip->addr.v4);
}

bool k8s_parse_cidr(const char *s, struct k8s_cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	char *end;
	long len;
	size_t n;

	/* k8s-spec §2: whitespace may surround the ranges. */
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
	if (!k8s_parse_ip(buf, &c->ip))
		return false;
	if (len < 0 || len > (c->ip.family == XLB_AF_INET ? 32 : 128))
		return false;
	c->prefix_len = (uint8_t)len;
	return true;
}

const char *k8s_proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "UDP" : proto == IPPROTO_SCTP ? "SCTP" : "TCP";
}

unsigned int k8s_node_line(struct pctx *p, knode *n)
{
	/* cJSON keeps no positions: JSON messages name the field path. */
	return n && !p->json ? (unsigned int)YN(n)->start_mark.line + 1 : 0;
}

bool k8s_is_map(struct pctx *p, knode *n)
{
	return p->json ? cJSON_IsObject(JN(n)) : YN(n)->type == YAML_MAPPING_NODE;
}

bool k8s_is_seq(struct pctx *p, knode *n)
{
	return p->json ? cJSON_IsArray(JN(n)) : YN(n)->type == YAML_SEQUENCE_NODE;
}

bool k8s_is_scalar(struct pctx *p, knode *n)
{
	return p->json ? !cJSON_IsObject(JN(n)) && !cJSON_IsArray(JN(n)) :
			 YN(n)->type == YAML_SCALAR_NODE;
}

static void vreport(struct pctx *p, enum k8s_severity sev, knode *at, const char *fmt, va_list ap)
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
	if (k8s_node_line(p, at))
		k8s_errors_add(p->errs, sev, "%s %s%s%s: %s (%s:%u)", p->kind, p->ns,
			       *p->ns ? "/" : "", p->name, msg, p->src, k8s_node_line(p, at));
	else
		k8s_errors_add(p->errs, sev, "%s %s%s%s: %s (%s)", p->kind, p->ns,
			       *p->ns ? "/" : "", p->name, msg, p->src);
	free(msg);
}

void __attribute__((format(printf, 3, 4))) k8s_oerr(struct pctx *p, knode *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(p, K8S_SEV_ERROR, at, fmt, ap);
	va_end(ap);
}

void __attribute__((format(printf, 4, 5)))
k8s_onote(struct pctx *p, enum k8s_severity sev, knode *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(p, sev, at, fmt, ap);
	va_end(ap);
}

void *k8s_oalloc(struct pctx *p, size_t n, size_t size)
{
	void *v = k8s_arena_array(p->o, n, size);

	if (!v && !p->oom) {
		p->oom = true;
		p->nerr++;
	}
	return v;
}

const char *k8s_ostrdup(struct pctx *p, const char *s)
{
	char *d = k8s_arena_strdup(p->o, s);

	if (!d && !p->oom) {
		p->oom = true;
		p->nerr++;
	}
	return d ? d : "";
}

const char *k8s_scalar(struct pctx *p, knode *n)
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
bool k8s_is_null(struct pctx *p, knode *n)
{
	const char *v;

	if (!n)
		return true;
	if (p->json)
		return cJSON_IsNull(JN(n));
	if (!k8s_is_scalar(p, n) || !is_plain(p, n))
		return false;
	v = k8s_scalar(p, n);
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
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
size_t k8s_map_len(struct pctx *p, knode *n)
{
	if (p->json)
		return (size_t)cJSON_GetArraySize(JN(n));
	return YN(n)->data.mapping.pairs.top - YN(n)->data.mapping.pairs.start;
}

/* Entry i of a mapping: its key (NULL when not a scalar) and value node
 * (NULL when missing); *k_node is what a message about the key points at. */
const char *k8s_map_entry(struct pctx *p, knode *n, size_t i, knode **k_node, knode **v)
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
	return k && k8s_is_scalar(p, k) ? k8s_scalar(p, k) : NULL;
}

/* The value under `key` in a mapping; NULL when absent or null. */
knode *k8s_map_get(struct pctx *p, knode *map, const char *key)
{
	const yaml_node_pair_t *pair;

	if (!map || !k8s_is_map(p, map))
		return NULL;
	if (p->json) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(JN(map), key);

		return k8s_is_null(p, v) ? NULL : v;
	}
	for (pair = YN(map)->data.mapping.pairs.start; pair < YN(map)->data.mapping.pairs.top;
	     pair++) {
		knode *k = node_at(p, pair->key);
		knode *v;

		if (!k || !k8s_is_scalar(p, k) || strcmp(k8s_scalar(p, k), key))
			continue;
		v = node_at(p, pair->value);
		return k8s_is_null(p, v) ? NULL : v;
	}
	return NULL;
}

size_t k8s_seq_len(struct pctx *p, knode *n)
{
	if (p->json)
		return (size_t)cJSON_GetArraySize(JN(n));
	return YN(n)->data.sequence.items.top - YN(n)->data.sequence.items.start;
}

knode *k8s_seq_item(struct pctx *p, knode *n, size_t i)
{
	if (p->json)
		return json_child(p, JN(n), i);
	return node_at(p, YN(n)->data.sequence.items.start[i]);
}

/* A mapping, or NULL (absent); a field of another shape is an error. */
knode *k8s_get_map(struct pctx *p, knode *parent, const char *key, const char *path)
{
	knode *n = k8s_map_get(p, parent, key);

	if (n && !k8s_is_map(p, n)) {
		k8s_oerr(p, n, "%s: expected a mapping", path);
		return NULL;
	}
	return n;
}

/* A sequence, or NULL (absent, null or empty). */
knode *k8s_get_seq(struct pctx *p, knode *parent, const char *key, const char *path)
{
	knode *n = k8s_map_get(p, parent, key);

	if (n && !k8s_is_seq(p, n)) {
		k8s_oerr(p, n, "%s: expected a list", path);
		return NULL;
	}
	return n && k8s_seq_len(p, n) ? n : NULL;
}

/* A string scalar (kept in the libyaml tree), or NULL when absent. */
const char *k8s_get_str(struct pctx *p, knode *parent, const char *key, const char *path)
{
	knode *n = k8s_map_get(p, parent, key);

	if (!n)
		return NULL;
	if (!k8s_is_scalar(p, n)) {
		k8s_oerr(p, n, "%s: expected a string", path);
		return NULL;
	}
	return k8s_scalar(p, n);
}

bool k8s_scalar_is_int(struct pctx *p, knode *n)
{
	const char *s = k8s_scalar(p, n);

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
bool k8s_node_int(struct pctx *p, knode *n, const char *path, long long min, long long max,
		  long long *out)
{
	long long v;

	if (!k8s_is_scalar(p, n) || !k8s_scalar_is_int(p, n)) {
		k8s_oerr(p, n, "%s: expected an integer, got %s%s%s", path,
			 k8s_is_scalar(p, n) ? "\"" : "",
			 k8s_is_scalar(p, n) ? k8s_scalar(p, n) : "a collection",
			 k8s_is_scalar(p, n) ? "\"" : "");
		return false;
	}
	errno = 0;
	v = strtoll(k8s_scalar(p, n), NULL, 10);
	if (errno || v < min || v > max) {
		k8s_oerr(p, n, "%s: %s out of range %lld..%lld", path, k8s_scalar(p, n), min, max);
		return false;
	}
	*out = v;
	return true;
}

bool k8s_get_int(struct pctx *p, knode *parent, const char *key, const char *path, long long min,
		 long long max, long long *out, bool *present)
{
	knode *n = k8s_map_get(p, parent, key);

	*present = n != NULL;
	if (!n)
		return true;
	return k8s_node_int(p, n, path, min, max, out);
}

/* A *bool: *out keeps its default when absent. */
void k8s_get_bool(struct pctx *p, knode *parent, const char *key, const char *path, bool *out)
{
	knode *n = k8s_map_get(p, parent, key);
	const char *s;

	if (!n)
		return;
	if (!k8s_is_scalar(p, n) || !is_plain(p, n))
		goto bad;
	s = k8s_scalar(p, n);
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
		*out = true;
		return;
	}
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
		*out = false;
		return;
	}
bad:
	k8s_oerr(p, n, "%s: expected true or false", path);
}

/* An IP address scalar. */
bool k8s_node_ip(struct pctx *p, knode *n, const char *path, struct k8s_ip *ip)
{
	if (!k8s_is_scalar(p, n)) {
		k8s_oerr(p, n, "%s: expected an IP address", path);
		return false;
	}
	if (!k8s_parse_ip(k8s_scalar(p, n), ip)) {
		k8s_oerr(p, n, "%s: invalid IP address \"%s\"", path, k8s_scalar(p, n));
		return false;
	}
	return true;
}

/* TCP / UDP; SCTP and absent are told apart by the return value. */
enum proto_res k8s_get_proto(struct pctx *p, knode *parent, const char *path, uint8_t *proto)
{
	const char *s = k8s_get_str(p, parent, "protocol", path);

	*proto = IPPROTO_TCP; /* default (k8s-spec §2, §3) */
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
	k8s_oerr(p, k8s_map_get(p, parent, "protocol"),
		 "%s: unknown protocol \"%s\" (TCP, UDP or SCTP)", path, s);
	return PROTO_BAD;
}
