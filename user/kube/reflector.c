// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * reflector: LIST + WATCH of one kind, see kube/reflector.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "kube/reflector.h"

#define LINE_MAX_DEFAULT (64u << 20)
#define LIST_LIMIT	 500
#define RETRY_AFTER_MAX	 60 /* seconds */

/* ---- line buffer ------------------------------------------------------ */

void kube_linebuf_reset(struct kube_linebuf *lb)
{
	lb->len = 0;
}

void kube_linebuf_free(struct kube_linebuf *lb)
{
	if (!lb)
		return;
	free(lb->buf);
	lb->buf = NULL;
	lb->len = lb->cap = 0;
}

int kube_linebuf_feed(struct kube_linebuf *lb, const char *data, size_t len, kube_line_fn fn,
		      void *ctx)
{
	size_t max = lb->max ? lb->max : LINE_MAX_DEFAULT;
	size_t start = 0;
	int ret = 0;

	if (lb->len + len + 1 > lb->cap) {
		size_t cap = lb->cap ? lb->cap : 4096;
		char *b;

		while (cap < lb->len + len + 1)
			cap *= 2;
		b = realloc(lb->buf, cap);
		if (!b)
			return -ENOMEM;
		lb->buf = b;
		lb->cap = cap;
	}
	memcpy(lb->buf + lb->len, data, len);
	lb->len += len;
	for (size_t i = lb->len - len; i < lb->len; i++) {
		size_t l;

		if (lb->buf[i] != '\n')
			continue;
		l = i - start;
		lb->buf[i] = 0;
		if (l && lb->buf[start + l - 1] == '\r')
			lb->buf[start + --l] = 0;
		if (l)
			ret = fn(ctx, lb->buf + start, l);
		start = i + 1;
		if (ret)
			break;
	}
	memmove(lb->buf, lb->buf + start, lb->len - start);
	lb->len -= start;
	if (!ret && lb->len > max) {
		lb->len = 0;
		return -EMSGSIZE;
	}
	return ret;
}

/* ---- events ----------------------------------------------------------- */

static const char *const type_names[] = {
	[KUBE_EVENT_ADDED] = "ADDED",	  [KUBE_EVENT_MODIFIED] = "MODIFIED",
	[KUBE_EVENT_DELETED] = "DELETED", [KUBE_EVENT_BOOKMARK] = "BOOKMARK",
	[KUBE_EVENT_ERROR] = "ERROR",
};

const char *kube_event_type_name(enum kube_event_type t)
{
	return t >= KUBE_EVENT_ADDED && t <= KUBE_EVENT_ERROR ? type_names[t] : "?";
}

static const char *str_at(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

void kube_event_free(struct kube_event *ev)
{
	if (!ev)
		return;
	cJSON_Delete(ev->root);
	memset(ev, 0, sizeof(*ev));
}

int kube_event_decode(const char *line, struct kube_event *ev, const char **why)
{
	const char *t;
	cJSON *code;

	memset(ev, 0, sizeof(*ev));
	ev->root = cJSON_Parse(line);
	if (!ev->root || !cJSON_IsObject(ev->root)) {
		*why = "not a JSON object";
		goto bad;
	}
	t = str_at(ev->root, "type");
	for (int i = KUBE_EVENT_ADDED; t && i <= KUBE_EVENT_ERROR; i++)
		if (!strcmp(t, type_names[i]))
			ev->type = i;
	if (!ev->type) {
		*why = t ? "unknown event type" : "no \"type\"";
		goto bad;
	}
	ev->object = cJSON_GetObjectItemCaseSensitive(ev->root, "object");
	if (!cJSON_IsObject(ev->object)) {
		*why = "no \"object\"";
		goto bad;
	}
	if (ev->type == KUBE_EVENT_ERROR) {
		code = cJSON_GetObjectItemCaseSensitive(ev->object, "code");
		ev->code = cJSON_IsNumber(code) ? code->valueint : 0;
		ev->reason = str_at(ev->object, "reason");
		ev->message = str_at(ev->object, "message");
		if (!ev->reason)
			ev->reason = "";
		if (!ev->message)
			ev->message = "";
		return 0;
	}
	ev->rv = str_at(cJSON_GetObjectItemCaseSensitive(ev->object, "metadata"),
			"resourceVersion");
	if (!ev->rv || !*ev->rv) {
		*why = "object without metadata.resourceVersion";
		goto bad;
	}
	return 0;
bad:
	kube_event_free(ev);
	return -EBADMSG;
}

/* ---- LIST bodies ------------------------------------------------------ */

#define ITEM_MAX_DEFAULT (64u << 20)
#define REST_MAX	 (1u << 20)

enum { IT_OUT, IT_BETWEEN, IT_IN };

static int buf_put(char **b, size_t *len, size_t *cap, char c, size_t max)
{
	if (*len + 2 > max)
		return -EBADMSG;
	if (*len + 2 > *cap) {
		size_t ncap = *cap ? *cap * 2 : 4096;
		char *nb;

		nb = realloc(*b, ncap);
		if (!nb)
			return -ENOMEM;
		*b = nb;
		*cap = ncap;
	}
	(*b)[(*len)++] = c;
	(*b)[*len] = 0;
	return 0;
}

void kube_items_reset(struct kube_items *s)
{
	free(s->item);
	free(s->rest);
	*s = (struct kube_items){ .fn = s->fn, .ctx = s->ctx, .max = s->max };
}

static int item_done(struct kube_items *s)
{
	int ret = s->fn(s->ctx, s->item ? s->item : "", s->item_len);

	s->n_items++;
	s->item_len = 0;
	if (s->item)
		s->item[0] = 0;
	return ret;
}

/*
 * Depth counts open {/[ in the whole body: the list object is depth 1, its
 * items array depth 2, an item's own brackets 3 and more. Strings are
 * copied verbatim (escapes and all) and parsed later by cJSON.
 */
/* Between items or at the end of one: *@consumed when @c is handled here
 * (an item's separator, or the array's end). */
static int item_boundary(struct kube_items *s, char c, bool *consumed)
{
	int ret;

	*consumed = true;
	if (s->mode == IT_BETWEEN) {
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',')
			return 0;
		if (c == ']') {
			s->mode = IT_OUT;
			s->depth = 1;
			return buf_put(&s->rest, &s->rest_len, &s->rest_cap, c, REST_MAX);
		}
		s->mode = IT_IN;
	}
	if (s->mode == IT_IN && !s->in_str && s->depth == 2 && (c == ',' || c == ']')) {
		ret = item_done(s);
		if (ret)
			return ret;
		if (c == ',') {
			s->mode = IT_BETWEEN;
			return 0;
		}
		s->mode = IT_OUT;
		s->depth = 1;
		return buf_put(&s->rest, &s->rest_len, &s->rest_cap, c, REST_MAX);
	}
	*consumed = false;
	return 0;
}

/* Inside a string; at the top level its text may be the key "items". */
static void string_char(struct kube_items *s, char c, bool top)
{
	if (s->esc) {
		s->esc = false;
	} else if (c == '\\') {
		s->esc = true;
	} else if (c == '"') {
		s->in_str = false;
		if (top)
			s->key_items = s->key_len == 5 && !memcmp(s->key, "items", 5);
	} else if (top && s->key_len < sizeof(s->key)) {
		s->key[s->key_len++] = c;
	}
}

/* Outside strings: nesting, and the '[' that opens the top level's items. */
static int struct_char(struct kube_items *s, char c, bool top)
{
	switch (c) {
	case '"':
		s->in_str = true;
		s->key_len = 0;
		s->colon_items = false;
		break;
	case ':':
		s->colon_items = top && s->key_items;
		break;
	case '[':
		if (top && s->colon_items) {
			s->depth = 2;
			s->mode = IT_BETWEEN;
			s->colon_items = s->key_items = false;
			break;
		}
		/* fall through */
	case '{':
		if (++s->depth > 100000)
			return -EBADMSG;
		s->colon_items = false;
		break;
	case '}':
	case ']':
		if (!s->depth)
			return -EBADMSG;
		s->depth--;
		s->colon_items = false;
		break;
	case ' ':
	case '\t':
	case '\n':
	case '\r':
		break;
	default:
		s->colon_items = false;
		break;
	}
	return 0;
}

int kube_items_feed(struct kube_items *s, const char *data, size_t len)
{
	size_t max = s->max ? s->max : ITEM_MAX_DEFAULT;
	int ret;

	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		bool top = s->mode == IT_OUT && s->depth == 1, consumed;

		ret = item_boundary(s, c, &consumed);
		if (ret)
			return ret;
		if (consumed)
			continue;
		if (s->mode == IT_IN)
			ret = buf_put(&s->item, &s->item_len, &s->item_cap, c, max);
		else
			ret = buf_put(&s->rest, &s->rest_len, &s->rest_cap, c, REST_MAX);
		if (!ret && s->in_str)
			string_char(s, c, top);
		else if (!ret)
			ret = struct_char(s, c, top);
		if (ret)
			return ret;
	}
	return 0;
}

cJSON *kube_items_finish(struct kube_items *s, int *err)
{
	cJSON *rest = NULL;

	*err = -EBADMSG;
	if (s->mode != IT_OUT || s->depth || s->in_str || !s->rest)
		return NULL;
	rest = cJSON_ParseWithLength(s->rest, s->rest_len);
	if (!cJSON_IsObject(rest)) {
		cJSON_Delete(rest);
		return NULL;
	}
	*err = 0;
	return rest;
}

void kube_strip(cJSON *obj)
{
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "status");

	cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");

	cJSON_DeleteItemFromObjectCaseSensitive(meta, "managedFields");
	/* Annotations go, but for the LoadBalancer allocator's own and
	 * MetalLB's (requests, sharing keys, the pool written back). */
	if (cJSON_IsObject(ann)) {
		cJSON *a = ann->child;

		while (a) {
			cJSON *next = a->next;

			if (!a->string || (strncmp(a->string, "xlb.io/", 7) &&
					   strncmp(a->string, "metallb.io/", 11) &&
					   strncmp(a->string, "metallb.universe.tf/", 20)))
				cJSON_Delete(cJSON_DetachItemViaPointer(ann, a));
			a = next;
		}
		if (!ann->child)
			cJSON_DeleteItemFromObjectCaseSensitive(meta, "annotations");
	} else {
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "annotations");
	}
	if (cJSON_IsObject(st))
		cJSON_DeleteItemFromObjectCaseSensitive(st, "conditions");
}

/* ---- backoff ---------------------------------------------------------- */

uint32_t kube_backoff_next(struct kube_backoff *b, uint64_t now_ms, double jitter01)
{
	uint32_t base;

	if (!b->cur_ms || (b->last_ms && now_ms - b->last_ms >= b->reset_ms))
		b->cur_ms = b->initial_ms;
	base = b->cur_ms;
	b->cur_ms = base >= b->cap_ms / 2 ? b->cap_ms : base * 2;
	b->last_ms = now_ms;
	return base + (uint32_t)(base * jitter01);
}

/* ---- reflector -------------------------------------------------------- */

struct kube_reflector {
	struct kube_reflector_spec spec;
	const struct kube_reflector_ops *ops;
	void *ctx;
	struct kube_client *kc;
	const int *stop;
	pthread_t thread;
	bool started;
	int synced; /* atomic */
	CURL *h;
	char *rv; /* last resourceVersion, "" before a LIST */
	struct kube_backoff bo;
	unsigned int seed;

	/* the current LIST */
	struct kube_items items;
	cJSON *all; /* gathered items for ops->replace */
	int list_err;

	/* the current watch */
	struct kube_linebuf lb;
	unsigned long n_events;
	struct kube_reflector_counters count; /* atomic */
	bool expired;			      /* ERROR 410 seen */
	bool too_large;			      /* ERROR 504 ResourceVersionTooLarge seen */
	bool failed;			      /* another ERROR seen */
};

enum watch_end {
	W_CLEAN,     /* stream ended: watch again */
	W_EXPIRED,   /* 410: relist */
	W_TOO_LARGE, /* 504 RV too large: relist with an unset RV */
	W_RETRY,     /* back off, watch again at the same RV */
	W_RELIST,    /* back off, relist */
	W_STOP,
};

static bool stopping(const struct kube_reflector *r)
{
	return __atomic_load_n(r->stop, __ATOMIC_RELAXED);
}

static int set_rv(struct kube_reflector *r, const char *rv)
{
	char *n = strdup(rv);

	if (!n)
		return -ENOMEM;
	free(r->rv);
	r->rv = n;
	return 0;
}

/*
 * 504 with reason/cause ResourceVersionTooLarge ("Too large resource
 * version"): the server is behind the RV we ask for, e.g. after an etcd
 * restore; client-go then lists with an unset RV.
 */
static bool is_too_large_rv(int code, const cJSON *st)
{
	const cJSON *c, *causes;
	const char *m;

	if (code != 504)
		return false;
	m = str_at(st, "message");
	if (m && strstr(m, "Too large resource version"))
		return true;
	causes = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(st, "details"),
						  "causes");
	cJSON_ArrayForEach(c, causes)
	{
		const char *rs = str_at(c, "reason");

		if (rs && !strcmp(rs, "ResourceVersionTooLarge"))
			return true;
	}
	return false;
}

static bool resp_too_large_rv(const struct kube_resp *resp)
{
	cJSON *st;
	bool ret;

	if (resp->status != 504 || !resp->body)
		return false;
	st = cJSON_Parse(resp->body);
	ret = is_too_large_rv(504, st);
	cJSON_Delete(st);
	return ret;
}

/* Sleep in slices so a stop request is seen quickly. */
static void nap(const struct kube_reflector *r, uint64_t ms)
{
	uint64_t end = xlb_mono_ms() + ms;

	while (!stopping(r)) {
		uint64_t t = xlb_mono_ms();

		if (t >= end)
			break;
		usleep((useconds_t)((end - t > 100 ? 100 : end - t) * 1000));
	}
}

static void backoff(struct kube_reflector *r, int retry_after)
{
	uint32_t ms = kube_backoff_next(&r->bo, xlb_mono_ms(),
					(double)rand_r(&r->seed) / ((double)RAND_MAX + 1));

	/* An LB in front of the API may ask for an hour: a reflector that
	 * stops that long is worse than a few early retries. */
	if (retry_after > RETRY_AFTER_MAX)
		retry_after = RETRY_AFTER_MAX;
	if (retry_after > 0 && (uint32_t)retry_after * 1000 > ms)
		ms = (uint32_t)retry_after * 1000;
	pr_info("kube %s: retrying in %.1f s\n", r->spec.name, ms / 1000.0);
	nap(r, ms);
}

/* "Unauthorized", "Too many requests, please try again later." ... */
static void status_text(const struct kube_resp *resp, char *buf, size_t size)
{
	cJSON *st = resp->body ? cJSON_Parse(resp->body) : NULL;
	const char *m = st ? str_at(st, "message") : NULL;

	if (m)
		snprintf(buf, size, "%s", m);
	else
		snprintf(buf, size, "%.200s", resp->body ? resp->body : "");
	cJSON_Delete(st);
}

static void log_http_error(const struct kube_reflector *r, const char *what,
			   const struct kube_resp *resp, int ret)
{
	char msg[256];

	if (ret) {
		pr_warn("kube %s: %s %s: %s\n", r->spec.name, what, kube_client_server(r->kc),
			resp->err);
		return;
	}
	status_text(resp, msg, sizeof(msg));
	pr_warn("kube %s: %s: HTTP %ld%s%s\n", r->spec.name, what, resp->status, *msg ? ": " : "",
		msg);
}

static char *escape(CURL *h, const char *s)
{
	return curl_easy_escape(h, s, 0);
}

static char *list_path(struct kube_reflector *r, const char *rv, bool limit, const char *cont)
{
	const char *sep = "?";
	char *p = NULL, *ec = NULL, *erv = NULL;
	size_t n;
	FILE *f;

	if (cont && !(ec = escape(r->h, cont)))
		return NULL;
	if (rv && !(erv = escape(r->h, rv))) {
		curl_free(ec);
		return NULL;
	}
	f = open_memstream(&p, &n);
	if (!f) {
		curl_free(ec);
		curl_free(erv);
		return NULL;
	}
	fputs(r->spec.path, f);
	if (limit) {
		fprintf(f, "%slimit=%d", sep, LIST_LIMIT);
		sep = "&";
	}
	/* A continue token carries its own RV: the two never go together. */
	if (ec) {
		fprintf(f, "%scontinue=%s", sep, ec);
		sep = "&";
	} else if (erv) {
		fprintf(f, "%sresourceVersion=%s", sep, erv);
		sep = "&";
	}
	if (r->spec.selector)
		fprintf(f, "%s%s", sep, r->spec.selector);
	curl_free(ec);
	curl_free(erv);
	if (fclose(f)) {
		free(p);
		return NULL;
	}
	return p;
}

/* One item of a LIST page, as text. */
static int list_item(void *arg, const char *text, size_t len)
{
	struct kube_reflector *r = arg;
	cJSON *it = cJSON_ParseWithLength(text, len);
	int ret;

	if (!cJSON_IsObject(it)) {
		/* No name to keep its last good version by: the whole LIST
		 * is not trustworthy. */
		pr_warn("kube %s: LIST: item %zu is not a JSON object: %.80s\n", r->spec.name,
			r->items.n_items, text);
		cJSON_Delete(it);
		return -EBADMSG;
	}
	kube_strip(it);
	/* Items in a typed list carry no kind/apiVersion. */
	if (!cJSON_GetObjectItemCaseSensitive(it, "kind"))
		cJSON_AddStringToObject(it, "kind", r->spec.kind);
	if (!cJSON_GetObjectItemCaseSensitive(it, "apiVersion"))
		cJSON_AddStringToObject(it, "apiVersion", r->spec.api_version);
	if (r->ops->list_item) {
		ret = r->ops->list_item(r->ctx, it);
		cJSON_Delete(it);
		return ret;
	}
	if (!cJSON_AddItemToArray(r->all, it)) {
		cJSON_Delete(it);
		return -ENOMEM;
	}
	return 0;
}

static int on_list_data(void *arg, const char *data, size_t len)
{
	struct kube_reflector *r = arg;

	r->list_err = kube_items_feed(&r->items, data, len);
	return r->list_err;
}

/*
 * One LIST, paginated, each page decoded item by item as it arrives.
 * @rv: "0" (first time), the last RV (after a 410), or NULL (consistent
 * read). Returns 0 on success (the ops took the whole set), 1 when the
 * server says the RV is expired (410) or too large (504), -EAGAIN to back
 * off (retry_after set), -ECANCELED on stop.
 */
/*
 * One page of a LIST into the reflector's item splitter; *@rest is what
 * is left of the body (the list's metadata). 0, or what do_list() returns
 * when it stops here: -EAGAIN, -ECANCELED, 1 (the resourceVersion is too
 * old: list from the latest).
 */
static int list_page(struct kube_reflector *r, const char *path, size_t *n_items, int *retry_after,
		     cJSON **rest)
{
	struct kube_resp resp;
	int err, ret = -EAGAIN;

	kube_items_reset(&r->items);
	r->items.fn = list_item;
	r->items.ctx = r;
	r->list_err = 0;
	err = kube_get_stream(r->kc, r->h, path, on_list_data, r, &resp);
	*n_items += r->items.n_items;
	if (err == -ECANCELED && r->list_err) {
		pr_warn("kube %s: LIST: %s\n", r->spec.name,
			r->list_err == -EBADMSG ? "malformed response" : strerror(-r->list_err));
		kube_resp_free(&resp);
		return -EAGAIN;
	}
	if (err == -ECANCELED) {
		kube_resp_free(&resp);
		return -ECANCELED;
	}
	if (err || resp.status != 200) {
		log_http_error(r, "LIST", &resp, err);
		if (!err && (resp.status == 410 || resp_too_large_rv(&resp)))
			ret = 1;
		*retry_after = resp.retry_after;
		kube_resp_free(&resp);
		return ret;
	}
	kube_resp_free(&resp);
	*rest = kube_items_finish(&r->items, &err);
	if (!*rest) {
		pr_warn("kube %s: LIST: response is not a list\n", r->spec.name);
		return -EAGAIN;
	}
	return 0;
}

/* The last page is in: hand the whole list over and watch from @list_rv.
 * *@began: a streamed list is still open. */
static int list_done(struct kube_reflector *r, const char *list_rv, size_t n_items, int pages,
		     bool *began)
{
	int err;

	if (!list_rv) {
		pr_warn("kube %s: LIST: no metadata.resourceVersion\n", r->spec.name);
		return -EAGAIN;
	}
	err = *began ? (r->ops->list_end ? r->ops->list_end(r->ctx, true) : 0) :
		       r->ops->replace(r->ctx, r->all);
	*began = false;
	if (err) {
		pr_warn("kube %s: LIST of %zu object(s) not applied: %s; retrying\n", r->spec.name,
			n_items, strerror(-err));
		return -EAGAIN;
	}
	if (set_rv(r, list_rv))
		return -ENOMEM;
	pr_info("kube %s: %s: %zu object(s) in %d page(s) at resourceVersion %s\n", r->spec.name,
		__atomic_load_n(&r->synced, __ATOMIC_RELAXED) ? "relisted" : "initial LIST",
		n_items, pages, r->rv);
	__atomic_store_n(&r->synced, 1, __ATOMIC_RELEASE);
	return 0;
}

static int do_list(struct kube_reflector *r, const char *rv, int *retry_after)
{
	char *cont = NULL, *path = NULL, *list_rv = NULL;
	int ret = -EAGAIN, pages = 0;
	size_t n_items = 0;
	/* client-go's pager: pages of 500 unless reading at a given RV
	 * (the watch cache ignores limit for "0" anyway). */
	bool limit = !rv || !strcmp(rv, "0"), began = false;

	*retry_after = -1;
	if (r->ops->list_item) {
		if (r->ops->list_begin && r->ops->list_begin(r->ctx))
			return -EAGAIN;
		began = true;
	} else if (!(r->all = cJSON_CreateArray())) {
		return -ENOMEM;
	}
	for (;;) {
		cJSON *rest = NULL, *meta;
		const char *c, *v;

		free(path);
		path = list_path(r, rv, limit, cont);
		if (!path) {
			ret = -ENOMEM;
			break;
		}
		ret = list_page(r, path, &n_items, retry_after, &rest);
		if (ret)
			break;
		meta = cJSON_GetObjectItemCaseSensitive(rest, "metadata");
		pages++;
		v = str_at(meta, "resourceVersion");
		if (v && *v) {
			free(list_rv);
			list_rv = strdup(v);
		}
		c = str_at(meta, "continue");
		free(cont);
		cont = c && *c ? strdup(c) : NULL;
		cJSON_Delete(rest);
		if (!cont) {
			ret = list_done(r, list_rv, n_items, pages, &began);
			break;
		}
	}
	if (began && r->ops->list_end)
		r->ops->list_end(r->ctx, false);
	kube_items_reset(&r->items);
	cJSON_Delete(r->all);
	r->all = NULL;
	free(list_rv);
	free(cont);
	free(path);
	return ret;
}

static int on_line(void *arg, char *line, size_t len)
{
	struct kube_reflector *r = arg;
	struct kube_event ev;
	const char *why;
	int ret;

	if (kube_event_decode(line, &ev, &why)) {
		pr_err("kube %s: malformed watch event skipped (%s): %.120s%s\n", r->spec.name, why,
		       line, len > 120 ? "..." : "");
		__atomic_add_fetch(&r->count.errors, 1, __ATOMIC_RELAXED);
		return 0;
	}
	r->n_events++;
	__atomic_add_fetch(&r->count.events, 1, __ATOMIC_RELAXED);
	switch (ev.type) {
	case KUBE_EVENT_ERROR:
		if (ev.code == 410) {
			pr_info("kube %s: watch expired (%s): relisting\n", r->spec.name,
				ev.message);
			r->expired = true;
		} else if (is_too_large_rv(ev.code, ev.object)) {
			pr_warn("kube %s: watch ERROR 504 (%s): the server is behind resourceVersion %s; relisting from the current state\n",
				r->spec.name, ev.message, r->rv);
			r->too_large = true;
		} else {
			pr_warn("kube %s: watch ERROR %d %s: %s\n", r->spec.name, ev.code,
				ev.reason, ev.message);
			r->failed = true;
		}
		kube_event_free(&ev);
		return 1;
	case KUBE_EVENT_BOOKMARK:
		break;
	default:
		kube_strip(ev.object);
		r->ops->event(r->ctx, ev.type, ev.object);
		break;
	}
	ret = set_rv(r, ev.rv);
	kube_event_free(&ev);
	return ret;
}

static int on_data(void *arg, const char *data, size_t len)
{
	struct kube_reflector *r = arg;
	int ret = kube_linebuf_feed(&r->lb, data, len, on_line, r);

	if (ret < 0)
		pr_err("kube %s: watch stream: %s\n", r->spec.name, strerror(-ret));
	return ret;
}

static enum watch_end do_watch(struct kube_reflector *r, int *retry_after)
{
	struct kube_resp resp;
	char *path = NULL, *erv;
	uint64_t t0 = xlb_mono_ms();
	int timeout = 300 + rand_r(&r->seed) % 300, ret;

	*retry_after = -1;
	erv = escape(r->h, r->rv);
	if (!erv ||
	    asprintf(&path,
		     "%s?watch=1&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=%d%s%s",
		     r->spec.path, erv, timeout, r->spec.selector ? "&" : "",
		     r->spec.selector ? r->spec.selector : "") < 0) {
		curl_free(erv);
		return W_RETRY;
	}
	curl_free(erv);
	kube_linebuf_reset(&r->lb);
	r->n_events = 0;
	r->expired = r->failed = r->too_large = false;
	pr_debug("kube %s: WATCH from resourceVersion %s\n", r->spec.name, r->rv);
	ret = kube_watch(r->kc, r->h, path, on_data, r, &resp);
	free(path);
	if (stopping(r)) {
		kube_resp_free(&resp);
		return W_STOP;
	}
	if (r->expired) {
		kube_resp_free(&resp);
		return W_EXPIRED;
	}
	if (r->too_large) {
		kube_resp_free(&resp);
		return W_TOO_LARGE;
	}
	if (r->failed) {
		kube_resp_free(&resp);
		return W_RELIST;
	}
	if (ret == -EIO && resp.status == 200 && resp.cc != CURLE_OK) {
		/* The stream broke after it started (server went away). */
		pr_info("kube %s: watch stream ended: %s\n", r->spec.name, resp.err);
		kube_resp_free(&resp);
		return r->n_events || xlb_mono_ms() - t0 >= 1000 ? W_CLEAN : W_RETRY;
	}
	if (ret || resp.status != 200) {
		log_http_error(r, "WATCH", &resp, ret);
		*retry_after = resp.retry_after;
		if (!ret && resp_too_large_rv(&resp)) {
			kube_resp_free(&resp);
			return W_TOO_LARGE;
		}
		ret = ret || resp.status == 401 || resp.status == 429 || resp.status >= 500 ?
			      W_RETRY :
			      W_RELIST;
		kube_resp_free(&resp);
		return ret;
	}
	kube_resp_free(&resp);
	/* client-go: a watch that ends within a second with no event is an
	 * error ("very short watch"). */
	if (!r->n_events && xlb_mono_ms() - t0 < 1000) {
		pr_info("kube %s: very short watch: backing off\n", r->spec.name);
		return W_RETRY;
	}
	pr_debug("kube %s: watch ended after %lu event(s): watching again from %s\n", r->spec.name,
		 r->n_events, r->rv);
	return W_CLEAN;
}

static void bump(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static void *run(void *arg)
{
	struct kube_reflector *r = arg;
	char *list_rv = strdup("0"); /* first LIST: from the watch cache */
	bool need_list = true, listed = false;
	enum watch_end w;
	int retry_after, ret;

	while (!stopping(r)) {
		if (need_list) {
			ret = do_list(r, list_rv, &retry_after);
			if (ret == -ECANCELED)
				break;
			if (ret == 1 && list_rv) {
				/* expired or too large: consistent read */
				free(list_rv);
				list_rv = NULL;
				continue;
			}
			if (ret) {
				bump(&r->count.errors);
				backoff(r, retry_after);
				continue;
			}
			if (listed)
				bump(&r->count.relists);
			listed = true;
			need_list = false;
		}
		w = do_watch(r, &retry_after);
		if (w == W_TOO_LARGE || w == W_RETRY || w == W_RELIST)
			bump(&r->count.errors);
		switch (w) {
		case W_STOP:
			break;
		case W_CLEAN:
			continue;
		case W_EXPIRED:
			/* LIST at the last RV, no limit (client-go). */
			need_list = true;
			free(list_rv);
			list_rv = strdup(r->rv);
			continue;
		case W_TOO_LARGE:
			/* client-go: setIsLastSyncResourceVersionUnavailable */
			need_list = true;
			free(list_rv);
			list_rv = NULL;
			backoff(r, retry_after);
			continue;
		case W_RETRY:
			backoff(r, retry_after);
			continue;
		case W_RELIST:
			backoff(r, retry_after);
			need_list = true;
			free(list_rv);
			list_rv = strdup(r->rv);
			continue;
		}
	}
	free(list_rv);
	return NULL;
}

const char *kube_reflector_name(const struct kube_reflector *r)
{
	return r->spec.name;
}

void kube_reflector_counters(const struct kube_reflector *r, struct kube_reflector_counters *out)
{
	out->events = __atomic_load_n(&r->count.events, __ATOMIC_RELAXED);
	out->errors = __atomic_load_n(&r->count.errors, __ATOMIC_RELAXED);
	out->relists = __atomic_load_n(&r->count.relists, __ATOMIC_RELAXED);
}

struct kube_reflector *kube_reflector_start(struct kube_client *kc,
					    const struct kube_reflector_spec *spec,
					    const struct kube_reflector_ops *ops, void *ctx,
					    const int *stop)
{
	struct kube_reflector *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return NULL;
	r->spec = *spec;
	r->ops = ops;
	r->ctx = ctx;
	r->kc = kc;
	r->stop = stop;
	r->bo = (struct kube_backoff)KUBE_BACKOFF_INIT;
	r->seed = (unsigned int)(xlb_mono_ms() ^ (uintptr_t)r);
	r->rv = strdup("");
	r->h = curl_easy_init();
	if (!r->h || !r->rv) {
		if (r->h)
			curl_easy_cleanup(r->h);
		free(r->rv);
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	err = pthread_create(&r->thread, NULL, run, r);
	if (err) {
		curl_easy_cleanup(r->h);
		free(r->rv);
		free(r);
		errno = err;
		return NULL;
	}
	r->started = true;
	return r;
}

void kube_reflector_free(struct kube_reflector *r)
{
	if (!r)
		return;
	if (r->started)
		pthread_join(r->thread, NULL);
	curl_easy_cleanup(r->h);
	kube_linebuf_free(&r->lb);
	free(r->rv);
	free(r);
}

bool kube_reflector_has_synced(const struct kube_reflector *r)
{
	return r && __atomic_load_n(&r->synced, __ATOMIC_ACQUIRE);
}
