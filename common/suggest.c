#include <stdio.h>
#include <string.h>

#include "common/suggest.h"

/* Edits (insert, delete, change, swap two) from a to b, capped at 9. */
static int
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int d[32][32];

	if (la >= 32 || lb >= 32)
		return 9;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
				c = d[i - 2][j - 2] + 1;
			d[i][j] = c;
		}
	return d[la][lb] < 9 ? d[la][lb] : 9;
}

void
suggest_message(const char *typed, int optchar, int missing_value,
    const struct option *opts, char *buf, size_t len)
{
	const char *best = NULL;
	int best_d = 3, nprefix = 0;
	size_t off = 0;
	char name[64];

	if (typed == NULL || strncmp(typed, "--", 2) != 0) {
		if (missing_value)
			snprintf(buf, len, "option -%c needs a value", optchar);
		else
			snprintf(buf, len, "unknown option -%c", optchar);
		return;
	}
	/* "--since=2h": the name alone */
	size_t n = strcspn(typed + 2, "=");
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, typed + 2, n);
	name[n] = '\0';
	if (missing_value) {
		snprintf(buf, len, "option --%s needs a value", name);
		return;
	}
	for (const struct option *o = opts; o->name != NULL; o++)
		nprefix += n > 0 && strncmp(o->name, name, n) == 0;
	if (nprefix > 1) {
		off = (size_t)snprintf(buf, len, "--%s could be", name);
		for (const struct option *o = opts; o->name != NULL &&
		    off < len; o++)
			if (strncmp(o->name, name, n) == 0)
				off += (size_t)snprintf(buf + off, len - off,
				    "%s --%s", off > n + 12 ? "," : "",
				    o->name);
		return;
	}
	for (const struct option *o = opts; o->name != NULL; o++) {
		int d = distance(name, o->name);
		if (d < best_d) {
			best_d = d;
			best = o->name;
		}
	}
	if (best != NULL)
		snprintf(buf, len, "unknown option --%s: did you mean --%s?",
		    name, best);
	else
		snprintf(buf, len, "unknown option --%s", name);
}
