/*
 * Times for people: the table, --explain, --summary, --timeline and
 * --stats show them in the local zone (TZ, as date(1) and tcpdump do), or
 * in UTC with --utc, and always name the zone. JSON and CSV stay in UTC
 * (common/text.h's time_iso): they are for programs.
 */
#ifndef UDPFLOWS_CLOCK_H
#define UDPFLOWS_CLOCK_H

#include <stddef.h>
#include <stdint.h>

void clock_use_utc(int);
/* "2026-11-21 22:44:06" */
void clock_datetime(int64_t us, char *buf, size_t len);
/* "2026-11-21" */
void clock_date(int64_t us, char *buf, size_t len);
/* "22:44:06" */
void clock_hms(int64_t us, char *buf, size_t len);
/* "11-21 22:44:06" */
void clock_short(int64_t us, char *buf, size_t len);
/* The zone's name at time us: "UTC", "EST", "CET". */
void clock_zone(int64_t us, char *buf, size_t len);
/* Whether two times fall on one calendar day of the zone. */
int clock_same_day(int64_t a_us, int64_t b_us);

#endif
