/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xlbctl's private header: what main.c (options, dispatch), pins.c (the
 * pinned maps as sorted arrays), fmt.c (cells and formatters) and the one
 * file per object share.
 *
 * Every command is a row of a table (struct ctl_cmd). A command builds one
 * cJSON document and returns it; the dispatcher prints it through the
 * command's view (lib/print.h) and frees it, so the JSON and the table
 * cannot drift apart, and says "out of memory" (or the errno text) for an
 * error that no message reported. pins.c is the only file that calls the
 * datapath's API.
 */
#ifndef XLBCTL_H
#define XLBCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>
#include <xlb/abi.h>

#include "lib/maps.h"
#include "lib/print.h"
#include "lib/net.h"
#include "lib/util.h"

#define PROG "xlbctl"

/* ---- commands ----------------------------------------------------------- */

/*
 * An object (@verbs set: its commands, the first of which runs when none is
 * named) or a command (@run). `help` is a command of every level without
 * being listed: it prints the level's usage (an object's @usage).
 */
struct ctl_cmd {
	const char *name;
	const char *alias; /* another name of the same entry, or NULL */
	/* 0 or -errno; *doc, when set, is printed through @view (also on
	 * error it is the dispatcher's to free). */
	int (*run)(int argc, char **argv, cJSON **doc);
	const struct xlb_view *view;
	bool args;		     /* takes arguments; else any is a usage error */
	const struct ctl_cmd *verbs; /* ends with {} */
	void (*usage)(FILE *f);
};

extern const struct ctl_cmd service_verbs[], backend_verbs[], vip_verbs[], ct_verbs[], snat_verbs[],
	stats_verbs[], maglev_verbs[], node_verbs[];
void service_usage(FILE *f);
void backend_usage(FILE *f);
void vip_usage(FILE *f);
void ct_usage(FILE *f);
void snat_usage(FILE *f);
void stats_usage(FILE *f);
void maglev_usage(FILE *f);
void node_usage(FILE *f);
int explain_run(int argc, char **argv, cJSON **doc);
extern const struct xlb_view explain_view;
int monitor_run(int argc, char **argv, cJSON **doc);

/* ---- the shared context ---------------------------------------------------- */

struct meta_ent {
	__u32 k;
	struct xlb_svc_meta v; /* v.name NUL-terminated */
};

struct be_ent {
	__u32 k; /* backend id */
	struct xlb_backend v;
};

struct svc_ent {
	struct xlb_svc_key k;
	struct xlb_svc v;
	char name[sizeof(((struct xlb_svc_meta *)0)->name)];
};

struct ct_ent {
	struct xlb_ct_key k;
	struct xlb_ct v;
};

struct ctl {
	const char *pin_dir;
	enum xlb_out out;
	bool usage_failed;	/* exit 2 rather than 1 */
	bool reported;		/* the user has seen a message on the error */
	struct meta_ent *metas; /* CTL_METAS: sorted by id */
	size_t n_metas;
	struct be_ent *bes; /* CTL_BACKENDS: sorted by id */
	size_t n_bes;
};

extern struct ctl ctl;

/* An error for the user; the dispatcher says "out of memory" or the errno
 * text for an error that no message reported. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error: message, @use on stderr, exit 2; returns -EINVAL. */
int ctl_usage_error(void (*use)(FILE *), const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- the pinned maps (pins.c) -------------------------------------------- */

enum {
	CTL_METAS = 1 << 0,    /* ctl.metas */
	CTL_BACKENDS = 1 << 1, /* ctl.bes */
};

/* Open the pinned maps and load what @need names (once each). */
int ctl_need(unsigned int need);
int ctl_map_fd(enum xlb_dp_map m);
void ctl_close(void);
/* Write the monitor switch (xlb_monitor): the one map xlbctl writes. */
int ctl_monitor_set(const struct xlb_monitor_cfg *cfg);
/* Maglev table @table_id whole: *ids malloc'ed, *m entries. */
int ctl_read_table(__u32 table_id, __u32 **ids, __u32 *m);

/*
 * Every entry of map @m as an array of records of @rsz bytes, the key at
 * @koff and the value at @voff, sorted by @cmp (NULL: map order). *recs is
 * malloc'ed (even when empty). Use CTL_DUMP for a record type with members
 * k and v.
 */
int ctl_dump(enum xlb_dp_map m, size_t ksz, size_t vsz, size_t rsz, size_t koff, size_t voff,
	     int (*cmp)(const void *, const void *), void **recs, size_t *n);
#define CTL_DUMP(m, type, cmp, recs, n)                                           \
	ctl_dump(m, sizeof(((type *)0)->k), sizeof(((type *)0)->v), sizeof(type), \
		 offsetof(type, k), offsetof(type, v), cmp, (void **)(recs), n)

/* The sum over CPUs of a per-CPU counter; zero when the slot is missing. */
int ctl_counter_sum(enum xlb_dp_map m, __u32 key, struct xlb_counter *sum);
/* The frontends, named; unsorted. */
int ctl_load_svcs(struct svc_ent **svcs, size_t *n);
const struct be_ent *ctl_find_backend(__u32 id);
/* The service's name, or "svc#ID" when the agent left none (CTL_METAS). */
const char *ctl_svc_name(__u32 id);
int ctl_cmp_u32(__u32 a, __u32 b);
/* qsort/bsearch order of u32s, or of records whose first member is a u32
 * id (metadata, backends). */
int ctl_cmp_id(const void *a, const void *b);

/* The conntrack entries that pass a filter (ct.c). */
struct ct_filter {
	bool src, dst;
	struct {
		__u8 family;
		union xlb_addr a;
	} saddr, daddr;
	int port;  /* host order; -1: any */
	int proto; /* -1: any */
	int kind;  /* -1: any */
};
#define CT_FILTER_KIND(k) ((struct ct_filter){ .port = -1, .proto = -1, .kind = (k) })
int ctl_load_ct(const struct ct_filter *f, struct ct_ent **ents, size_t *n);

/* ---- documents and formatting (fmt.c) -------------------------------------- */

/* A new object appended to array @arr; NULL when out of memory. */
cJSON *ctl_add_row(cJSON *arr);

const char *ctl_proto_str(__u8 proto);
const char *ctl_kind_str(__u8 kind);
const char *ctl_reason_str(__u32 r);
const char *ctl_xdp_action_str(__u32 a);
int ctl_parse_addr(const char *s, __u8 *family, union xlb_addr *a);
void ctl_add_addr(cJSON *o, const char *key, __u8 family, const union xlb_addr *a);
/* "addr:port", "[v6]:port" from members @ak and @pk; "-" when the row has
 * neither. */
void ctl_endpoint(const cJSON *row, const char *ak, const char *pk, char *buf, size_t len);
/* Cells: "address"/"port" as an endpoint; "expires_in_s"/"expired". */
void ctl_addr_cell(const cJSON *row, char *buf, size_t len);
void ctl_ttl_cell(const cJSON *row, char *buf, size_t len);
void ctl_add_ttl(cJSON *o, __u64 expires_ns, __u64 now);

#endif /* XLBCTL_H */
