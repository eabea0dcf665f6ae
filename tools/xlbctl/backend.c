// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* backend list: every backend and the service it serves. */
#include <arpa/inet.h>
#include <errno.h>

#include "xlbctl.h"

void backend_usage(FILE *f)
{
	fprintf(f, "Usage: " PROG " backend { list | help }\n");
}

static void be_where_cell(const cJSON *row, char *buf, size_t len)
{
	snprintf(buf, len, "%s",
		 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "local")) ? "local" : "remote");
}

static const struct xlb_col backend_cols[] = { { "ID", "id" },
					       { "ADDRESS", .cell = ctl_addr_cell },
					       { "NODE", .cell = be_where_cell },
					       { "SVC_ID", "svc_id" },
					       { "SERVICE", "service" },
					       {} };

static int backend_list(int argc, char **argv, cJSON **doc)
{
	int err = ctl_need(CTL_METAS | CTL_BACKENDS);

	if (err)
		return err;
	*doc = cJSON_CreateArray();
	if (!*doc)
		return -ENOMEM;
	for (size_t i = 0; i < ctl.n_bes; i++) {
		const struct xlb_backend *b = &ctl.bes[i].v;
		cJSON *row = ctl_add_row(*doc);

		if (!row)
			return -ENOMEM;
		cJSON_AddNumberToObject(row, "id", ctl.bes[i].k);
		ctl_add_addr(row, "address", b->family, &b->addr);
		cJSON_AddNumberToObject(row, "port", ntohs(b->port));
		cJSON_AddBoolToObject(row, "local", b->flags & XLB_BE_F_LOCAL);
		cJSON_AddNumberToObject(row, "svc_id", b->svc_id);
		cJSON_AddStringToObject(row, "service", ctl_svc_name(b->svc_id));
	}
	return 0;
}

static const struct xlb_table backend_tables[] = { { .cols = backend_cols }, {} };
static const struct xlb_view backend_view = { .tables = backend_tables };

const struct ctl_cmd backend_verbs[] = { { "list", "show", backend_list, &backend_view }, {} };
