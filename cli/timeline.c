#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/clock.h"
#include "cli/timeline.h"
#include "common/flow_json.h"
#include "common/text.h"
#include "common/flowstate.h"

#define AUTO_ROWS	30	/* an automatic bucket gives at most this */
#define MAX_ROWS	2000	/* a chosen one, at most this */

struct bucket {
	uint64_t	errors, resets, silent;
};

static int64_t
auto_bucket(int64_t span_us)
{
	static const int64_t steps[] = {
		1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
		10800, 21600, 43200, 86400, 7 * 86400,
	};
	size_t n = sizeof(steps) / sizeof(steps[0]);

	for (size_t i = 0; i < n; i++)
		if (span_us / (steps[i] * 1000000) < AUTO_ROWS)
			return steps[i] * 1000000;
	return steps[n - 1] * 1000000;
}

static void
label(int64_t us, int64_t bucket_us, char *buf, size_t len)
{
	if (bucket_us >= 86400 * 1000000LL)
		clock_date(us, buf, len);
	else
		clock_datetime(us, buf, len);
}

static void
bar(char ch, uint64_t n, uint64_t max, size_t room, int pad)
{
	size_t len = max ? (size_t)((n * room + max - 1) / max) : 0;

	for (size_t i = 0; i < len; i++)
		putchar(ch);
	for (size_t i = len; pad && i < room; i++)
		putchar(' ');
}

/* One bucket as a line of JSON, times in UTC as everywhere in JSON. */
static void
bucket_json(int64_t start_us, int64_t bucket_us, const struct bucket *b)
{
	char t[40];
	json_t *o = json_object();

	time_iso(start_us, t, sizeof(t));
	json_object_set_new(o, "start", json_string(t));
	json_object_set_new(o, "bucket_s", json_integer(bucket_us / 1000000));
	json_object_set_new(o, "icmp_errors", json_integer((json_int_t)b->errors));
	json_object_set_new(o, "resets", json_integer((json_int_t)b->resets));
	json_object_set_new(o, "silent", json_integer((json_int_t)b->silent));
	if (json_line_write(o, stdout) != 0)
		err(2, "stdout");
	json_decref(o);
}

int
timeline_print(const struct flowvec *fv, int64_t bucket_us, size_t width,
    int json)
{
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	struct bucket *b;
	uint64_t max = 0, tot_err = 0, tot_silent = 0, tot_rst = 0;

	if (fv->n == 0)
		return 0;
	for (size_t i = 0; i < fv->n; i++) {
		if (fv->v[i].first_us < lo)
			lo = fv->v[i].first_us;
		if (fv->v[i].last_us > hi)
			hi = fv->v[i].last_us;
	}
	if (bucket_us <= 0)
		bucket_us = auto_bucket(hi - lo);
	lo -= ((lo % bucket_us) + bucket_us) % bucket_us;
	int64_t rows = (hi - lo) / bucket_us + 1;
	if (rows > MAX_ROWS)
		return -1;
	if ((b = calloc((size_t)rows, sizeof(*b))) == NULL)
		err(2, "out of memory");

	for (size_t i = 0; i < fv->n; i++) {
		const struct flow_record *f = &fv->v[i];
		if (flow_went_silent(f))
			b[(f->first_us - lo) / bucket_us].silent++;
		/* a reset to the SYN: at the flow's end, when it came */
		if (flow_refused_by_reset(f))
			b[(f->last_us - lo) / bucket_us].resets++;
		/* spread an aggregate's count evenly over first..last */
		for (size_t j = 0; j < f->nerrors; j++) {
			const struct error_record *e = &f->errors[j];
			for (uint32_t k = 0; k < e->count; k++) {
				int64_t t = e->count == 1 ? e->first_us :
				    e->first_us + (e->last_us - e->first_us) *
				    (int64_t)k / (int64_t)(e->count - 1);
				if (t < lo || t > hi)
					t = t < lo ? lo : hi;
				b[(t - lo) / bucket_us].errors++;
			}
		}
	}
	for (int64_t r = 0; r < rows; r++) {
		if (b[r].errors + b[r].resets > max)
			max = b[r].errors + b[r].resets;
		if (b[r].silent > max)
			max = b[r].silent;
		tot_err += b[r].errors;
		tot_rst += b[r].resets;
		tot_silent += b[r].silent;
	}
	if (json) {
		for (int64_t r = 0; r < rows; r++)
			bucket_json(lo + r * bucket_us, bucket_us, &b[r]);
		free(b);
		return 0;
	}

	char lab[40];
	label(lo, bucket_us, lab, sizeof(lab));
	size_t lw = strlen(lab);
	size_t room = width > lw + 40 ? (width - lw - 30) / 2 : 20;
	char zone[16], th[32];
	clock_zone(lo, zone, sizeof(zone));
	snprintf(th, sizeof(th), "TIME (%s)", zone);
	printf("%-*s  %-*s  %s  (bucket %llds; # ICMP errors and resets, "
	    ". silent flows)\n", (int)lw, th, (int)(room + 7),
	    "ERRORS", "SILENT", (long long)(bucket_us / 1000000));
	for (int64_t r = 0; r < rows; r++) {
		label(lo + r * bucket_us, bucket_us, lab, sizeof(lab));
		printf("%s  %6llu ", lab,
		    (unsigned long long)(b[r].errors + b[r].resets));
		bar('#', b[r].errors + b[r].resets, max, room, 1);
		printf("  %6llu%s", (unsigned long long)b[r].silent,
		    b[r].silent ? " " : "");
		bar('.', b[r].silent, max, room, 0);
		putchar('\n');
	}
	printf("%llu ICMP errors, %llu resets, %llu silent flows\n",
	    (unsigned long long)tot_err, (unsigned long long)tot_rst,
	    (unsigned long long)tot_silent);
	free(b);
	return 0;
}
