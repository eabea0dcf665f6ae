/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Output for people and for scripts from one document. A command builds a
 * cJSON document once; xlb_print_doc() renders it as compact or pretty
 * JSON, or as text through a view: some scalar members as "title: value"
 * lines, then arrays of flat objects as tables whose columns are sized to
 * their rows. The text is made from the document only, so the table and
 * the JSON cannot drift apart.
 */
#ifndef XLB_PRINT_H
#define XLB_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

enum xlb_out {
	XLB_OUT_TABLE,
	XLB_OUT_JSON, /* compact, one line */
	XLB_OUT_JSON_PRETTY,
};

/*
 * One column (or one field line): the member @key of the row as text, or,
 * when @cell is set, what @cell makes of the whole row (for a cell that
 * joins several members, e.g. address and port). A column whose @key
 * member is a number in every row (or null, shown as "-") is right-aligned.
 */
typedef void (*xlb_cell_fn)(const cJSON *row, char *buf, size_t len);

struct xlb_col {
	const char *title; /* NULL ends a column list */
	const char *key;
	xlb_cell_fn cell;
};

struct xlb_table {
	const char *key;	    /* array member of the document; NULL: the
				 * document itself is the array */
	const char *caption;	    /* line above the table, or NULL */
	const struct xlb_col *cols; /* NULL ends a table list */
};

struct xlb_view {
	const struct xlb_col *fields;	/* "title: value" lines, or NULL */
	const struct xlb_table *tables; /* or NULL */
};

/* A JSON member as cell text: strings as they are, integers without a
 * fraction, other numbers with two decimals, arrays of scalars joined by
 * ",", and "-" for null, a missing member or an empty array. */
void xlb_cell_text(const cJSON *v, char *buf, size_t len);

/* Add an unsigned 64-bit integer exactly (a cJSON number is a double). */
cJSON *xlb_json_add_u64(cJSON *obj, const char *key, unsigned long long v);

/* Read an integer member (number, or a raw integer from xlb_json_add_u64);
 * @def when missing. */
unsigned long long xlb_json_get_u64(const cJSON *obj, const char *key, unsigned long long def);
/* A string member, or NULL. */
const char *xlb_json_get_str(const cJSON *obj, const char *key);

int xlb_print_table(FILE *f, const cJSON *rows, const struct xlb_col *cols);
/* Render @doc as @out; for XLB_OUT_TABLE through @view. 0 or -errno. */
int xlb_print_doc(FILE *f, const cJSON *doc, enum xlb_out out, const struct xlb_view *view);

/* An error for the user: "PROG: message" on stderr, or under JSON
 * {"error": "message"} on stdout. */
void xlb_print_error(enum xlb_out out, const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* XLB_PRINT_H */
