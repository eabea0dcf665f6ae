// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * maglev list: each service's table size and distinct backends; maglev
 * show SVC: one table, each backend's entries and share.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xlbctl.h"

void maglev_usage(FILE *f)
{
	fprintf(f, "Usage: " PROG
		   " maglev { list | show SVC | help }\n"
		   "SVC := { namespace/name:port-name/PROTO | an unambiguous prefix | svc_id }\n"
		   "  show: M and each backend's entries and share; with -j also the table.\n");
}

/* A svc_id from a number, or a name in xlb_svc_meta: exact, or an
 * unambiguous prefix ("default/web" when it has one port). */
static int resolve_svc(const char *arg, __u32 *id)
{
	const struct meta_ent *hit = NULL;
	char *end;
	unsigned long v;
	int nhits = 0;
	char list[512] = "";

	if (isdigit((unsigned char)arg[0])) {
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (!*end && !errno && v <= UINT32_MAX) {
			*id = v;
			return 0;
		}
	}
	if (!strncmp(arg, "svc#", 4) && isdigit((unsigned char)arg[4])) {
		v = strtoul(arg + 4, &end, 10);
		if (!*end && v <= UINT32_MAX) {
			*id = v;
			return 0;
		}
	}
	for (size_t i = 0; i < ctl.n_metas; i++) {
		if (!strcmp(ctl.metas[i].v.name, arg)) {
			*id = ctl.metas[i].k;
			return 0;
		}
	}
	for (size_t i = 0; i < ctl.n_metas; i++) {
		const char *name = ctl.metas[i].v.name;

		if (strncmp(name, arg, strlen(arg)))
			continue;
		nhits++;
		hit = &ctl.metas[i];
		if (strlen(list) + strlen(name) + 3 < sizeof(list)) {
			if (*list)
				strcat(list, ", ");
			strcat(list, name);
		}
	}
	if (nhits == 1) {
		*id = hit->k;
		return 0;
	}
	if (nhits > 1)
		ctl_err("service '%s' is ambiguous: %s", arg, list);
	else
		ctl_err("no service '%s' in %s under %s (see: " PROG " service list)", arg,
			XLB_MAP_SVC_META, ctl.pin_dir);
	return nhits > 1 ? -EINVAL : -ENOENT;
}

struct share {
	__u32 id;
	__u32 entries;
};

/* Entries per backend id, sorted by id; returns how many ids. */
static size_t count_shares(const __u32 *ids, __u32 m, struct share *sh)
{
	__u32 *sorted = malloc(sizeof(*sorted) * (m + 1));
	size_t n = 0;

	if (!sorted)
		return 0;
	memcpy(sorted, ids, sizeof(*sorted) * m);
	qsort(sorted, m, sizeof(*sorted), ctl_cmp_id);
	for (__u32 i = 0; i < m; i++) {
		if (n && sh[n - 1].id == sorted[i]) {
			sh[n - 1].entries++;
		} else {
			sh[n].id = sorted[i];
			sh[n].entries = 1;
			n++;
		}
	}
	free(sorted);
	return n;
}

static void share_cell(const cJSON *row, char *buf, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, "share_pct");

	snprintf(buf, len, "%.2f%%", cJSON_IsNumber(v) ? v->valuedouble : 0.0);
}

static const struct xlb_col maglev_fields[] = {
	{ "service", "name" }, { "svc_id", "svc_id" }, { "table_id", "table_id" }, { "M", "m" }, {}
};

static const struct xlb_col maglev_be_cols[] = { { "ID", "id" },
						 { "ADDRESS", .cell = ctl_addr_cell },
						 { "ENTRIES", "entries" },
						 { "SHARE", .cell = share_cell },
						 {} };

/* The table of @fe as the document of maglev show. */
static int table_doc(cJSON *doc, const struct svc_ent *fe, const __u32 *ids, __u32 m,
		     const struct share *sh, size_t nsh)
{
	cJSON *arr, *table;

	cJSON_AddStringToObject(doc, "name", ctl_svc_name(fe->v.svc_id));
	cJSON_AddNumberToObject(doc, "svc_id", fe->v.svc_id);
	cJSON_AddNumberToObject(doc, "table_id", fe->v.table_id);
	cJSON_AddNumberToObject(doc, "m", m);
	arr = cJSON_AddArrayToObject(doc, "backends");
	for (size_t i = 0; arr && i < nsh; i++) {
		const struct be_ent *b = ctl_find_backend(sh[i].id);
		cJSON *row = ctl_add_row(arr);

		if (!row)
			return -ENOMEM;
		cJSON_AddNumberToObject(row, "id", sh[i].id);
		if (b) {
			ctl_add_addr(row, "address", b->v.family, &b->v.addr);
			cJSON_AddNumberToObject(row, "port", ntohs(b->v.port));
		} else {
			/* A table naming a backend that is gone: the datapath
			 * drops with drop_no_table. */
			cJSON_AddNullToObject(row, "address");
			cJSON_AddNullToObject(row, "port");
		}
		cJSON_AddNumberToObject(row, "entries", sh[i].entries);
		cJSON_AddNumberToObject(row, "share_pct",
					(double)(((__u64)sh[i].entries * 10000 + m / 2) / m) / 100);
	}
	table = cJSON_CreateArray();
	if (!table || !cJSON_AddItemToObject(doc, "table", table)) {
		cJSON_Delete(table);
		return -ENOMEM;
	}
	for (__u32 i = 0; i < m; i++)
		if (!cJSON_AddItemToArray(table, cJSON_CreateNumber(ids[i])))
			return -ENOMEM;
	return 0;
}

static int maglev_show(int argc, char **argv, cJSON **doc)
{
	const struct svc_ent *fe = NULL;
	struct svc_ent *svcs = NULL;
	struct share *sh = NULL;
	__u32 *ids = NULL, m = 0, id;
	size_t n = 0, nsh;
	int err;

	if (argc && !strcmp(argv[0], "help")) {
		maglev_usage(stdout);
		return 0;
	}
	if (!argc)
		return ctl_usage_error(maglev_usage, "maglev show: which service?");
	if (argc > 1)
		return ctl_usage_error(maglev_usage, "unexpected argument '%s'", argv[1]);
	err = ctl_need(CTL_METAS | CTL_BACKENDS);
	if (!err)
		err = resolve_svc(argv[0], &id);
	if (!err)
		err = ctl_load_svcs(&svcs, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n && !fe; i++)
		if (svcs[i].v.svc_id == id)
			fe = &svcs[i];
	if (!fe) {
		ctl_err("service %s (svc_id %u) has no frontend in %s", ctl_svc_name(id), id,
			XLB_MAP_SVC);
		err = -ENOENT;
		goto out;
	}
	err = ctl_read_table(fe->v.table_id, &ids, &m);
	if (err) {
		ctl_err("read Maglev table %u of %s from %s: %s", fe->v.table_id, ctl_svc_name(id),
			XLB_MAP_MAGLEV, strerror(-err));
		goto out;
	}
	sh = calloc(m + 1, sizeof(*sh));
	err = -ENOMEM;
	if (!sh)
		goto out;
	nsh = count_shares(ids, m, sh);
	if (m && !nsh)
		goto out;
	*doc = cJSON_CreateObject();
	if (*doc)
		err = table_doc(*doc, fe, ids, m, sh, nsh);
out:
	free(sh);
	free(ids);
	free(svcs);
	return err;
}

static const struct xlb_col maglev_list_cols[] = { { "SVC_ID", "svc_id" },     { "NAME", "name" },
						   { "TABLE_ID", "table_id" }, { "M", "m" },
						   { "BACKENDS", "backends" }, {} };

static int cmp_svc_id_name(const void *a, const void *b)
{
	const struct svc_ent *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r ? r : ctl_cmp_u32(x->v.svc_id, y->v.svc_id);
}

static int add_table_row(cJSON *doc, const struct svc_ent *s)
{
	cJSON *row = ctl_add_row(doc);
	struct share *sh;
	__u32 *ids, m = 0;

	if (!row)
		return -ENOMEM;
	cJSON_AddNumberToObject(row, "svc_id", s->v.svc_id);
	cJSON_AddStringToObject(row, "name", s->name);
	cJSON_AddNumberToObject(row, "table_id", s->v.table_id);
	if (ctl_read_table(s->v.table_id, &ids, &m)) {
		cJSON_AddNullToObject(row, "m");
		cJSON_AddNullToObject(row, "backends");
		return 0;
	}
	sh = calloc(m + 1, sizeof(*sh));
	cJSON_AddNumberToObject(row, "m", m);
	cJSON_AddNumberToObject(row, "backends", sh ? count_shares(ids, m, sh) : 0);
	free(sh);
	free(ids);
	return 0;
}

/* One row per service port with a frontend: its table's size and the
 * distinct backends in it. */
static int maglev_list(int argc, char **argv, cJSON **doc)
{
	struct svc_ent *svcs = NULL;
	size_t n = 0;
	int err;

	err = ctl_need(CTL_METAS);
	if (!err)
		err = ctl_load_svcs(&svcs, &n);
	if (err)
		return err;
	qsort(svcs, n, sizeof(*svcs), cmp_svc_id_name);
	*doc = cJSON_CreateArray();
	err = *doc ? 0 : -ENOMEM;
	for (size_t i = 0; !err && i < n; i++)
		if (!i || svcs[i].v.svc_id != svcs[i - 1].v.svc_id)
			err = add_table_row(*doc, &svcs[i]);
	free(svcs);
	return err;
}

static const struct xlb_table list_tables[] = { { .cols = maglev_list_cols }, {} };
static const struct xlb_view list_view = { .tables = list_tables };
static const struct xlb_table show_tables[] = { { "backends", NULL, maglev_be_cols }, {} };
static const struct xlb_view show_view = { .fields = maglev_fields, .tables = show_tables };

const struct ctl_cmd maglev_verbs[] = { { "list", .run = maglev_list, .view = &list_view },
					{ "show", .run = maglev_show, .view = &show_view,
					  .args = true },
					{} };
