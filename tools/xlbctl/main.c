// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xlbctl: the operator's view of the datapath. It reads only the maps
 * pinned under the pin dir, so it works with the agent stopped. It writes
 * one of them, the monitor switch, while `monitor` runs; `explain` runs the
 * program in a private instance (user/explain.c) and writes no live map.
 *
 *   xlbctl [--pin-dir DIR] [-j|--json] [-p|--pretty] OBJECT [COMMAND [ARGS]]
 *
 * bpftool grammar: OBJECT and COMMAND may be abbreviated to any unambiguous
 * prefix, `help` works at every level and an OBJECT alone lists. This file
 * holds the options, the table of objects and the dispatcher that runs a
 * command and prints its document (lib/print.c: JSON, or tables through
 * the command's view, so the two cannot drift); each object is a file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "xlbctl.h"

struct ctl ctl = { .pin_dir = XLB_PIN_DIR_DEFAULT };

void ctl_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	xlb_print_error(ctl.out, PROG, "%s", msg);
	ctl.reported = true;
}

int ctl_usage_error(void (*use)(FILE *), const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctl.out != XLB_OUT_TABLE)
		xlb_print_error(ctl.out, PROG, "%s", msg);
	fprintf(stderr, PROG ": %s\n", msg);
	use(stderr);
	ctl.usage_failed = true;
	ctl.reported = true;
	return -EINVAL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG
		" [OPTIONS] OBJECT [COMMAND [ARGS]]\n"
		"       " PROG
		" OBJECT help\n"
		"OBJECT := { service | backend | ct | snat | stats | maglev | vip | node | monitor | explain }\n"
		"OPTIONS := { --pin-dir DIR | -j|--json | -p|--pretty | -h|--help }\n"
		"\n"
		"  service list              frontends, their service and counters\n"
		"  backend list              backends and the service each serves\n"
		"  ct list [FILTER]          conntrack entries\n"
		"  snat list                 SNAT port bindings (reply_snat entries)\n"
		"  stats [show]              packets per verdict reason and per service\n"
		"  maglev list               Maglev table per service\n"
		"  maglev show SVC           one service's Maglev table\n"
		"  vip list                  LoadBalancer VIPs: service, pool, owner,\n"
		"                            whether this node answers ARP/NDP\n"
		"  node list                 the node's addresses (both families): NodePort,\n"
		"                            SNAT source per interface, SNAT-only\n"
		"  monitor [FILTER]          stream of drops and rejects (ring buffer)\n"
		"  explain PROTO SRC DST     what the datapath does with this packet,\n"
		"                            run on the live maps without changing them\n"
		"\n"
		"An OBJECT alone lists; OBJECT and COMMAND may be abbreviated\n"
		"(`" PROG
		" svc l`); svc and conntrack are aliases of service and ct.\n"
		"-p implies -j. Exit status: 0 ok, 1 error, 2 usage.\n"
		"Reads the maps pinned under --pin-dir (default " XLB_PIN_DIR_DEFAULT ").\n");
}

static const struct ctl_cmd objects[] = {
	{ "service", "svc", .verbs = service_verbs, .usage = service_usage },
	{ "backend", .verbs = backend_verbs, .usage = backend_usage },
	{ "ct", "conntrack", .verbs = ct_verbs, .usage = ct_usage },
	{ "snat", .verbs = snat_verbs, .usage = snat_usage },
	{ "stats", .verbs = stats_verbs, .usage = stats_usage },
	{ "maglev", .verbs = maglev_verbs, .usage = maglev_usage },
	{ "vip", .verbs = vip_verbs, .usage = vip_usage },
	{ "node", .verbs = node_verbs, .usage = node_usage },
	{ "monitor", .run = monitor_run, .args = true },
	{ "explain", .run = explain_run, .view = &explain_view, .args = true },
	{}
};

/* `help`, a command of every level: the entry that ends each table. */
static const struct ctl_cmd help_cmd = { "help" };

static bool same(const struct ctl_cmd *a, const struct ctl_cmd *b)
{
	return a->run == b->run && a->verbs == b->verbs;
}

/*
 * The entry of @cmds (or `help`) that @word names: exactly, or as the
 * prefix of one entry's names. NULL after a usage error.
 */
static const struct ctl_cmd *lookup(const char *what, const struct ctl_cmd *cmds,
				    void (*use)(FILE *), const char *word)
{
	const struct ctl_cmd *hit = NULL, *c = cmds;
	char names[256] = "";
	bool ambiguous = false;

	for (;; c++) {
		const struct ctl_cmd *e = c->name ? c : &help_cmd;

		if (!strcmp(e->name, word) || (e->alias && !strcmp(e->alias, word)))
			return e;
		if (!c->name)
			break;
	}
	for (c = cmds;; c++) {
		const struct ctl_cmd *e = c->name ? c : &help_cmd;
		const char *n[2] = { e->name, e->alias };

		for (int i = 0; i < 2 && n[i]; i++) {
			if (strncmp(n[i], word, strlen(word)))
				continue;
			if (hit && !same(hit, e))
				ambiguous = true;
			hit = e;
			if (strlen(names) + strlen(n[i]) + 3 < sizeof(names)) {
				if (*names)
					strcat(names, ", ");
				strcat(names, n[i]);
			}
		}
		if (!c->name)
			break;
	}
	if (ambiguous)
		ctl_usage_error(use, "'%s' is ambiguous: %s", word, names);
	else if (!hit)
		ctl_usage_error(use, "unknown %s '%s'", what, word);
	return ambiguous ? NULL : hit;
}

static int run(const struct ctl_cmd *c, void (*use)(FILE *), int argc, char **argv);

/*
 * Run the entry of @cmds that @argv[0] names. An empty argv runs @def, and
 * so does one that starts with an option, for `xlbctl ct --proto tcp`. The
 * top level has no @def: main() has asked for an OBJECT already.
 */
static int dispatch(const char *what, const struct ctl_cmd *cmds, const struct ctl_cmd *def,
		    void (*use)(FILE *), int argc, char **argv)
{
	const struct ctl_cmd *c;

	if (!argc || (def && argv[0][0] == '-'))
		return run(def, use, argc, argv);
	c = lookup(what, cmds, use, argv[0]);
	if (!c)
		return -EINVAL;
	if (c == &help_cmd) {
		use(stdout);
		return 0;
	}
	return run(c, use, argc - 1, argv + 1);
}

/* An object's commands, or a command of @use's level. */
static int run(const struct ctl_cmd *c, void (*use)(FILE *), int argc, char **argv)
{
	cJSON *doc = NULL;
	int err;

	if (c->verbs) {
		char what[32];

		snprintf(what, sizeof(what), "%s command", c->name);
		return dispatch(what, c->verbs, c->verbs, c->usage, argc, argv);
	}
	if (!c->args && argc) {
		if (strcmp(argv[0], "help"))
			return ctl_usage_error(use, "unexpected argument '%s'", argv[0]);
		use(stdout);
		return 0;
	}
	err = c->run(argc, argv, &doc);
	if (!err && doc) {
		err = xlb_print_doc(stdout, doc, ctl.out, c->view);
		if (err)
			ctl_err("print: %s", strerror(-err));
	}
	cJSON_Delete(doc);
	if (err && !ctl.reported)
		ctl_err("%s", err == -ENOMEM ? "out of memory" : strerror(-err));
	return err;
}

/*
 * Global options may stand anywhere (`xlbctl ct list -j`): take them out
 * first and leave the rest, in order, to the commands. -h/--help become the
 * `help` keyword of the level they stand at.
 */
static int take_global_opts(int *argc, char **argv)
{
	int n = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			while (++i < *argc)
				argv[n++] = argv[i];
			break;
		}
		if (!strcmp(a, "--json")) {
			if (ctl.out == XLB_OUT_TABLE)
				ctl.out = XLB_OUT_JSON;
		} else if (!strcmp(a, "--pretty")) {
			ctl.out = XLB_OUT_JSON_PRETTY;
		} else if (a[0] == '-' && a[1] && strspn(a + 1, "jp") == strlen(a + 1)) {
			/* -j, -p, -jp */
			if (strchr(a, 'p'))
				ctl.out = XLB_OUT_JSON_PRETTY;
			else if (ctl.out == XLB_OUT_TABLE)
				ctl.out = XLB_OUT_JSON;
		} else if (!strcmp(a, "--pin-dir")) {
			if (i + 1 >= *argc)
				return ctl_usage_error(usage, "--pin-dir needs a directory");
			ctl.pin_dir = argv[++i];
		} else if (!strncmp(a, "--pin-dir=", 10)) {
			ctl.pin_dir = a + 10;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			argv[n++] = "help";
		} else {
			argv[n++] = argv[i];
		}
	}
	*argc = n;
	argv[n] = NULL;
	return 0;
}

int main(int argc, char **argv)
{
	int err;

	xlb_log_set_level(XLB_LOG_WARN);
	xlb_log_hook_libs();

	err = take_global_opts(&argc, argv);
	if (!err) {
		if (argc < 2)
			err = ctl_usage_error(usage, "missing OBJECT");
		else
			err = dispatch("object", objects, NULL, usage, argc - 1, argv + 1);
	}
	ctl_close();
	if (fflush(stdout) && !err) {
		fprintf(stderr, PROG ": write output: %s\n", strerror(errno));
		err = -EIO;
	}
	if (!err)
		return 0;
	return ctl.usage_failed ? 2 : 1;
}
