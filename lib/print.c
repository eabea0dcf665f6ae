// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/print.h"

#define CELL_MAX 512

static bool raw_is_int(const cJSON *v)
{
	const char *s = v->valuestring;

	if (!s || !*s)
		return false;
	if (*s == '-')
		s++;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool is_numeric(const cJSON *v)
{
	return cJSON_IsNumber(v) || (cJSON_IsRaw(v) && raw_is_int(v));
}

void xlb_cell_text(const cJSON *v, char *buf, size_t len)
{
	size_t used = 0;
	char *s;

	if (!len)
		return;
	if (!v || cJSON_IsNull(v)) {
		snprintf(buf, len, "-");
	} else if (cJSON_IsString(v)) {
		snprintf(buf, len, "%s", *v->valuestring ? v->valuestring : "-");
	} else if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (d > -1e18 && d < 1e18 && (double)(long long)d == d)
			snprintf(buf, len, "%lld", (long long)d);
		else
			snprintf(buf, len, "%.2f", d);
	} else if (cJSON_IsRaw(v)) {
		snprintf(buf, len, "%s", v->valuestring);
	} else if (cJSON_IsBool(v)) {
		snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
	} else if (cJSON_IsArray(v)) {
		const cJSON *e;
		char part[CELL_MAX];

		buf[0] = '\0';
		cJSON_ArrayForEach(e, v)
		{
			xlb_cell_text(e, part, sizeof(part));
			int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", part);
			if (n < 0 || (size_t)n >= len - used)
				break;
			used += n;
		}
		if (!used)
			snprintf(buf, len, "-");
	} else {
		s = cJSON_PrintUnformatted(v);
		snprintf(buf, len, "%s", s ? s : "-");
		free(s);
	}
}

cJSON *xlb_json_add_u64(cJSON *obj, const char *key, unsigned long long v)
{
	char s[24];

	snprintf(s, sizeof(s), "%llu", v);
	return cJSON_AddRawToObject(obj, key, s);
}

unsigned long long xlb_json_get_u64(const cJSON *obj, const char *key, unsigned long long def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsNumber(v))
		return v->valuedouble < 0 ? def : (unsigned long long)v->valuedouble;
	if (cJSON_IsRaw(v) && raw_is_int(v) && v->valuestring[0] != '-')
		return strtoull(v->valuestring, NULL, 10);
	return def;
}

const char *xlb_json_get_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void col_text(const cJSON *row, const struct xlb_col *c, char *buf, size_t len)
{
	if (c->cell)
		c->cell(row, buf, len);
	else
		xlb_cell_text(cJSON_GetObjectItemCaseSensitive(row, c->key), buf, len);
}

/* No trailing blanks: the last column is not padded on the right. */
static void put_cell(FILE *f, const char *s, size_t width, bool right, bool last)
{
	if (right)
		fprintf(f, "%*s", (int)width, s);
	else if (last)
		fputs(s, f);
	else
		fprintf(f, "%-*s", (int)width, s);
	fputs(last ? "\n" : "  ", f);
}

int xlb_print_table(FILE *f, const cJSON *rows, const struct xlb_col *cols)
{
	size_t ncols = 0, nrows, *width;
	bool *right;
	char **cells;
	const cJSON *row;
	size_t r = 0;

	if (!cJSON_IsArray(rows))
		return -EINVAL;
	while (cols[ncols].title)
		ncols++;
	nrows = cJSON_GetArraySize(rows);
	width = calloc(ncols, sizeof(*width));
	right = calloc(ncols, sizeof(*right));
	cells = calloc(nrows * ncols + 1, sizeof(*cells));
	if (!width || !right || !cells) {
		free(width);
		free(right);
		free(cells);
		return -ENOMEM;
	}

	for (size_t c = 0; c < ncols; c++) {
		width[c] = strlen(cols[c].title);
		right[c] = cols[c].key && !cols[c].cell && nrows > 0;
	}
	cJSON_ArrayForEach(row, rows)
	{
		for (size_t c = 0; c < ncols; c++) {
			char buf[CELL_MAX];
			char **cell = &cells[r * ncols + c];

			col_text(row, &cols[c], buf, sizeof(buf));
			*cell = strdup(buf);
			if (*cell && strlen(*cell) > width[c])
				width[c] = strlen(*cell);
			if (right[c]) {
				const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, cols[c].key);

				if (v && !cJSON_IsNull(v) && !is_numeric(v))
					right[c] = false;
			}
		}
		r++;
	}

	for (size_t c = 0; c < ncols; c++)
		put_cell(f, cols[c].title, width[c], right[c], c + 1 == ncols);
	for (r = 0; r < nrows; r++)
		for (size_t c = 0; c < ncols; c++)
			put_cell(f, cells[r * ncols + c] ? cells[r * ncols + c] : "?", width[c],
				 right[c], c + 1 == ncols);

	for (size_t i = 0; i < nrows * ncols; i++)
		free(cells[i]);
	free(cells);
	free(right);
	free(width);
	return 0;
}

static void print_fields(FILE *f, const cJSON *doc, const struct xlb_col *fields)
{
	size_t w = 0;

	for (const struct xlb_col *c = fields; c->title; c++)
		if (strlen(c->title) > w)
			w = strlen(c->title);
	for (const struct xlb_col *c = fields; c->title; c++) {
		char buf[CELL_MAX];

		col_text(doc, c, buf, sizeof(buf));
		fprintf(f, "%s:%*s %s\n", c->title, (int)(w - strlen(c->title)), "", buf);
	}
}

static int print_json(FILE *f, const cJSON *doc, bool pretty)
{
	char *s = pretty ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);

	if (!s)
		return -ENOMEM;
	fprintf(f, "%s\n", s);
	free(s);
	return 0;
}

int xlb_print_doc(FILE *f, const cJSON *doc, enum xlb_out out, const struct xlb_view *view)
{
	bool sep = false;
	int err;

	if (out != XLB_OUT_TABLE)
		return print_json(f, doc, out == XLB_OUT_JSON_PRETTY);

	if (view->fields) {
		print_fields(f, doc, view->fields);
		sep = true;
	}
	for (const struct xlb_table *t = view->tables; t && t->cols; t++) {
		const cJSON *rows = t->key ? cJSON_GetObjectItemCaseSensitive(doc, t->key) : doc;

		if (!rows)
			continue;
		if (sep)
			fputc('\n', f);
		if (t->caption)
			fprintf(f, "%s\n", t->caption);
		err = xlb_print_table(f, rows, t->cols);
		if (err)
			return err;
		sep = true;
	}
	return 0;
}

void xlb_print_error(enum xlb_out out, const char *prog, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (out != XLB_OUT_TABLE) {
		cJSON *doc = cJSON_CreateObject();

		if (doc && cJSON_AddStringToObject(doc, "error", msg) &&
		    !print_json(stdout, doc, out == XLB_OUT_JSON_PRETTY)) {
			cJSON_Delete(doc);
			fflush(stdout);
			return;
		}
		cJSON_Delete(doc);
	}
	fprintf(stderr, "%s: %s\n", prog, msg);
}
