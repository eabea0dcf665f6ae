/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * reflector: keep a local copy of one kind of Kubernetes object up to date
 * the way client-go's Reflector does (k8s-spec §1.5-1.9).
 *
 *   LIST (limit=500, resourceVersion=0 the first time) -> replace
 *   WATCH from the list's resourceVersion, bookmarks on, timeoutSeconds
 *         random in [300, 600) -> ADDED/MODIFIED/DELETED, BOOKMARK
 *   stream ended        -> WATCH again from the last resourceVersion
 *   ERROR code 410      -> LIST at the last resourceVersion (no limit),
 *                          then unset if that is expired too
 *   504 "Too large resource version" (LIST, WATCH or ERROR event, e.g.
 *   after an etcd restore) -> LIST with an unset resourceVersion
 *   connection refused, 429, 5xx, 401
 *                       -> back off (0.8 s doubling to 30 s, jitter 1.0,
 *                          Retry-After honoured up to 60 s), WATCH again
 *   other HTTP errors   -> back off, LIST again
 *
 * Each reflector runs in its own thread with its own libcurl handle and
 * calls its ops from that thread; the ops do their own locking. Nothing is
 * ever removed because the server is unreachable: only a successful LIST
 * replaces the set (objects absent from it are removed).
 *
 * The pure pieces (line splitting, event decoding, backoff) are exposed
 * for the unit tests.
 */
#ifndef XLB_KUBE_REFLECTOR_H
#define XLB_KUBE_REFLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "kube/client.h"

/* ---- watch stream framing --------------------------------------------- */

/* Bytes received but not yet a whole line. */
struct kube_linebuf {
	char *buf;
	size_t len, cap;
	size_t max; /* longest accepted line; 0: 64 MiB */
};

typedef int (*kube_line_fn)(void *ctx, char *line, size_t len);

/*
 * Append @len bytes and call @fn for every complete '\n'-terminated line
 * (NUL-terminated in place, without the '\n' and a trailing '\r'; empty
 * lines skipped). A partial line waits for the next call. Returns 0, the
 * first non-zero return of @fn (the rest of the data is kept), -ENOMEM, or
 * -EMSGSIZE when a line grows past the limit (the buffer is then emptied).
 */
int kube_linebuf_feed(struct kube_linebuf *lb, const char *data, size_t len, kube_line_fn fn,
		      void *ctx);
void kube_linebuf_reset(struct kube_linebuf *lb);
void kube_linebuf_free(struct kube_linebuf *lb);

enum kube_event_type {
	KUBE_EVENT_ADDED = 1,
	KUBE_EVENT_MODIFIED,
	KUBE_EVENT_DELETED,
	KUBE_EVENT_BOOKMARK,
	KUBE_EVENT_ERROR,
};

struct kube_event {
	enum kube_event_type type;
	cJSON *root;	     /* the whole event (owned) */
	cJSON *object;	     /* its "object" (inside root) */
	const char *rv;	     /* object.metadata.resourceVersion or NULL */
	int code;	     /* ERROR: Status.code (0 if absent) */
	const char *reason;  /* ERROR: Status.reason or "" */
	const char *message; /* ERROR: Status.message or "" */
};

/*
 * Decode one watch line. Returns 0, or -EBADMSG with @why set when the
 * line is not JSON, has no known "type" or no "object", or an
 * ADDED/MODIFIED/DELETED/BOOKMARK object lacks metadata.resourceVersion.
 */
int kube_event_decode(const char *line, struct kube_event *ev, const char **why);
void kube_event_free(struct kube_event *ev);
const char *kube_event_type_name(enum kube_event_type t);

/* ---- backoff ---------------------------------------------------------- */

struct kube_backoff {
	uint32_t initial_ms; /* 800 */
	uint32_t cap_ms;     /* 30000 */
	uint32_t reset_ms;   /* 120000: quiet this long -> start over */
	uint32_t cur_ms;     /* next base delay, 0: initial */
	uint64_t last_ms;    /* when the last delay was handed out */
};

#define KUBE_BACKOFF_INIT                                              \
	{                                                              \
		.initial_ms = 800, .cap_ms = 30000, .reset_ms = 120000 \
	}

/*
 * The delay before the next attempt at @now_ms: base * (1 + @jitter01)
 * where base starts at initial_ms, doubles each call up to cap_ms, and
 * restarts after reset_ms without a call. @jitter01 is in [0, 1).
 */
uint32_t kube_backoff_next(struct kube_backoff *b, uint64_t now_ms, double jitter01);

/* ---- LIST bodies, item by item --------------------------------------- */

/*
 * Split a LIST response ({"kind":"...List","metadata":{...},"items":[...]})
 * into its items while it arrives, so that a LIST of any size costs the
 * largest item, not the whole body and its cJSON tree (k8s-spec §1.5: the
 * watch cache answers resourceVersion=0 in one page, whatever the limit).
 * Each complete item is handed to @fn as text (NUL-terminated); everything
 * else is kept with "items":[] and parsed by kube_items_finish().
 */
typedef int (*kube_item_fn)(void *ctx, const char *item, size_t len);

struct kube_items {
	kube_item_fn fn;
	void *ctx;
	size_t max; /* longest item; 0: 64 MiB */
	/* private */
	char *item, *rest;
	size_t item_len, item_cap, rest_len, rest_cap;
	unsigned int depth;
	int mode;
	bool in_str, esc, key_items, colon_items;
	char key[8];
	size_t key_len;
	size_t n_items;
};

/* Returns 0, the first non-zero return of @fn, -ENOMEM, or -EBADMSG when
 * the body is not a JSON object of that shape or a part is too long. */
int kube_items_feed(struct kube_items *s, const char *data, size_t len);
/* The body without its items (owned by the caller), or NULL with -EBADMSG
 * in *err when it ended inside a value or is not a JSON object. */
cJSON *kube_items_finish(struct kube_items *s, int *err);
/* Forget the body (keeps fn, ctx, max) and free the buffers. */
void kube_items_reset(struct kube_items *s);

/*
 * Fields xlb never reads and that make up most of an object's size
 * (metadata.managedFields, metadata.annotations but the xlb.io/,
 * metallb.io/ and metallb.universe.tf/ ones the allocator reads,
 * status.conditions):
 * removed from every object as it arrives (client-go's transform).
 */
void kube_strip(cJSON *obj);

/* ---- reflector -------------------------------------------------------- */

/*
 * What a reflector feeds. A LIST is either streamed (list_begin, one
 * list_item per object, list_end) or, when list_item is NULL, handed over
 * whole to replace (small kinds such as the Node). Each item has kind and
 * apiVersion filled in and the fields of kube_strip() removed. A non-zero
 * return from list_item, list_end or replace fails the LIST: it is retried
 * with backoff, the reflector's resourceVersion does not move, and a kind
 * that never listed successfully does not count as synced.
 */
struct kube_reflector_ops {
	int (*list_begin)(void *ctx);
	int (*list_item)(void *ctx, const cJSON *item);
	/* @complete false: the LIST failed, drop what list_item gathered */
	int (*list_end)(void *ctx, bool complete);
	int (*replace)(void *ctx, const cJSON *items);
	/* ADDED/MODIFIED/DELETED with the event's object. */
	void (*event)(void *ctx, enum kube_event_type t, const cJSON *obj);
};

struct kube_reflector_spec {
	const char *name;	 /* for messages: "services" */
	const char *path;	 /* "/api/v1/services" */
	const char *selector;	 /* extra query, already encoded
				 * ("labelSelector=..."), or NULL */
	const char *kind;	 /* kind of the items: "Service" */
	const char *api_version; /* "v1" */
};

struct kube_reflector;

/* Start the thread. *@stop set non-zero ends it (within ~1 s). NULL with
 * errno set on failure. */
/* What a reflector has done since it started; read by /metrics from any
 * thread (the reflector's own thread updates them atomically). */
struct kube_reflector_counters {
	uint64_t events;  /* watch events received (all types) */
	uint64_t errors;  /* failed LISTs and watches, watch ERROR events
				 * other than 410 Gone */
	uint64_t relists; /* LISTs applied after the first */
};

struct kube_reflector *kube_reflector_start(struct kube_client *kc,
					    const struct kube_reflector_spec *spec,
					    const struct kube_reflector_ops *ops, void *ctx,
					    const int *stop);
/* Wait for the thread (set *stop first) and free. NULL is fine. */
void kube_reflector_free(struct kube_reflector *r);
/* The resource's name (spec.name) and a snapshot of its counters. */
const char *kube_reflector_name(const struct kube_reflector *r);
void kube_reflector_counters(const struct kube_reflector *r, struct kube_reflector_counters *out);
/* Has a LIST succeeded at least once? */
bool kube_reflector_has_synced(const struct kube_reflector *r);

#endif /* XLB_KUBE_REFLECTOR_H */
