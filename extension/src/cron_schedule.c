/*-------------------------------------------------------------------------
 *
 * cron_schedule.c
 *	  The next run and the expected interval of a pg_cron schedule, for the
 *	  counting status.
 *
 * This exists because pg_cron 1.4 exposes no next-run function.  pg_cron
 * itself validates a schedule when cron.schedule() is called; this file
 * only reads schedules pg_cron took, and reads them as pg_cron 1.4 does
 * (parse_cron_entry() in pg_cron's src/entry.c, Vixie cron's reader): five
 * fields, minute hour day-of-month month day-of-week, each a list of "*",
 * numbers and ranges with an optional "/step" (none on a single number),
 * month and day names of three letters in any case, 7 as Sunday; @yearly,
 * @annually, @monthly, @weekly, @daily, @midnight, @hourly and @reboot;
 * leading blank and comment lines, and whatever follows the fifth field,
 * ignored.  A job runs on a day when its month matches and, if either day
 * field starts with "*", both day fields match, else either.  The regress
 * test counting_status holds this reader to pg_cron's cron.schedule() over
 * a table of schedules.  What later pg_cron versions accept beyond that
 * ("N seconds", "$") is not read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "user_activity.h"

/* A schedule as pg_cron holds it: one flag per value of each field. */
typedef struct CronSchedule
{
	bool		minute[60];
	bool		hour[24];
	bool		dom[32];		/* 1 to 31 */
	bool		month[13];		/* 1 to 12 */
	bool		dow[8];			/* 0 to 7, 0 and 7 being Sunday */
	bool		either_day;		/* neither day field starts with '*' */
	bool		reboot;
} CronSchedule;

/* the text read, as pg_cron's buffer gives it: '\0' once at the end, then EOF */
typedef struct CronText
{
	const char *s;
	int			len;
	int			pos;
} CronText;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
"jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri",
"sat", NULL};

PG_FUNCTION_INFO_V1(user_activity_counting_cron_runs);

static int
NextChar(CronText *t)
{
	if (t->pos < t->len)
		return (unsigned char) t->s[t->pos++];
	if (t->pos++ == t->len)
		return '\0';
	return EOF;
}

/* ReadNumber reads a number or a name, as pg_cron's get_number. */
static int
ReadNumber(CronText *t, int ch, int low, const char *const *names, int *num)
{
	char		word[1000];
	int			len = 0;
	bool		digits = true;

	while (ch != EOF && isalnum(ch))
	{
		if (len + 1 >= (int) sizeof(word))
			return EOF;
		word[len++] = ch;
		digits = digits && isdigit(ch);
		ch = NextChar(t);
	}
	word[len] = '\0';
	if (len == 0)
		return EOF;
	for (int i = 0; names != NULL && names[i] != NULL; i++)
		if (pg_strcasecmp(names[i], word) == 0)
		{
			*num = i + low;
			return ch;
		}
	if (!digits)
		return EOF;
	*num = (int) strtol(word, NULL, 10);	/* atoi(), as pg_cron */
	return ch;
}

/* ReadRange reads "*", "n" or "n-m", then "/step" but after a single n. */
static int
ReadRange(CronText *t, int ch, bool *bits, int low, int high,
		  const char *const *names)
{
	int			from,
				to,
				step = 1;

	if (ch == '*')
	{
		from = low;
		to = high;
		if ((ch = NextChar(t)) == EOF)
			return EOF;
	}
	else
	{
		if ((ch = ReadNumber(t, ch, low, names, &from)) == EOF)
			return EOF;
		if (ch != '-')
		{
			if (ch == '/' || from < low || from > high)
				return EOF;
			bits[from] = true;
			return ch;
		}
		if ((ch = ReadNumber(t, NextChar(t), low, names, &to)) == EOF)
			return EOF;
	}
	if (ch == '/')
	{
		ch = ReadNumber(t, NextChar(t), 0, NULL, &step);
		if (ch == EOF || step <= 0)
			return EOF;
	}
	if (from < low || from > high || to < low || to > high)
		return EOF;
	for (int i = from; i <= to; i += step)
		bits[i] = true;
	return ch;
}

/* ReadField reads a comma-separated list, then skips to the next field. */
static int
ReadField(CronText *t, int ch, bool *bits, int low, int high,
		  const char *const *names)
{
	for (;;)
	{
		ch = ReadRange(t, ch, bits, low, high, names);
		if (ch != ',')
			break;
		ch = NextChar(t);
	}
	while (ch != '\t' && ch != ' ' && ch != '\n' && ch != EOF && ch != '\0')
		ch = NextChar(t);
	while (ch == '\t' || ch == ' ')
		ch = NextChar(t);
	return ch;
}

/* ReadSchedule reads a schedule as pg_cron 1.4; false where it would refuse. */
static bool
ReadSchedule(const char *text, CronSchedule *c)
{
	CronText	t = {text, strlen(text), 0};
	int			ch;
	bool		dom_star,
				dow_star;

	memset(c, 0, sizeof(*c));
	if (t.len >= 1000)
		return false;

	/* blank lines and comment lines first */
	for (;;)
	{
		int			start = t.pos;

		ch = NextChar(&t);
		while (ch == ' ' || ch == '\t')
			ch = NextChar(&t);
		if (ch == EOF)
			return false;
		if (ch != '\n' && ch != '#')
		{
			t.pos = start;
			while (t.s[t.pos] == ' ' || t.s[t.pos] == '\t')
				t.pos++;
			break;
		}
		while (ch != '\n' && ch != EOF)
			ch = NextChar(&t);
		if (ch == EOF)
			return false;
	}
	ch = NextChar(&t);

	if (ch == '@')
	{
		static const char *const specials[] = {"yearly", "annually", "monthly",
		"weekly", "daily", "midnight", "hourly", NULL};
		static const char *const as[] = {"0 0 1 1 *", "0 0 1 1 *", "0 0 1 * *",
		"0 0 * * 0", "0 0 * * *", "0 0 * * *", "0 * * * *"};
		int			len = strcspn(t.s + t.pos, " \t\n");

		if ((len == 6 && strncmp(t.s + t.pos, "reboot", 6) == 0) ||
			(len == 7 && strncmp(t.s + t.pos, "restart", 7) == 0))
		{
			c->reboot = true;
			return true;
		}
		for (int i = 0; specials[i] != NULL; i++)
			if (len == strlen(specials[i]) &&
				strncmp(t.s + t.pos, specials[i], len) == 0)
				return ReadSchedule(as[i], c);
		return false;
	}

	if ((ch = ReadField(&t, ch, c->minute, 0, 59, NULL)) == EOF)
		return false;
	if ((ch = ReadField(&t, ch, c->hour, 0, 23, NULL)) == EOF)
		return false;
	dom_star = ch == '*';
	if ((ch = ReadField(&t, ch, c->dom, 1, 31, NULL)) == EOF)
		return false;
	if ((ch = ReadField(&t, ch, c->month, 1, 12, month_names)) == EOF)
		return false;
	dow_star = ch == '*';
	if ((ch = ReadField(&t, ch, c->dow, 0, 7, dow_names)) == EOF)
		return false;
	c->dow[0] = c->dow[7] = c->dow[0] || c->dow[7];
	c->either_day = !dom_star && !dow_star;
	return true;
}

/* RunsOn says whether the schedule runs on a day, given as a Julian day. */
static bool
RunsOn(const CronSchedule *c, int jd)
{
	int			y,
				m,
				d;
	bool		dom,
				dow;

	j2date(jd, &y, &m, &d);
	dom = c->dom[d];
	dow = c->dow[j2day(jd)];
	return c->month[m] && (c->either_day ? dom || dow : dom && dow);
}

/*
 * DayTimes fills times with the minutes after midnight at which the
 * schedule runs on a day it runs, in order, and returns how many.
 */
static int
DayTimes(const CronSchedule *c, int *times)
{
	int			n = 0;

	for (int h = 0; h < 24; h++)
		for (int m = 0; m < 60; m++)
			if (c->hour[h] && c->minute[m])
				times[n++] = h * 60 + m;
	return n;
}

/*
 * user_activity_counting_cron_runs(schedule, after, timezone) returns
 * whether pg_cron accepts the schedule, its first run after a time (reading
 * the schedule in that time zone), and the longest time between two
 * consecutive runs in seconds.  Both are null when the schedule never runs
 * or has no next run to tell (@reboot); the interval is null too when it
 * runs on fewer than two days of four years (29 February).  Never an error
 * for a schedule: the status must always answer.
 */
Datum
user_activity_counting_cron_runs(PG_FUNCTION_ARGS)
{
	char	   *schedule = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz after = PG_GETARG_TIMESTAMPTZ(1);
	text	   *zone = PG_GETARG_TEXT_PP(2);
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false, true, true};
	CronSchedule c;
	int			times[24 * 60];
	int			ntimes;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	values[0] = BoolGetDatum(ReadSchedule(schedule, &c));
	ntimes = DatumGetBool(values[0]) && !c.reboot ? DayTimes(&c, times) : 0;

	/* the next run: the first run minute after the minute "after" is in */
	if (ntimes > 0 && !TIMESTAMP_NOT_FINITE(after))
	{
		Timestamp	local = DatumGetTimestamp(DirectFunctionCall2(timestamptz_zone,
																  PointerGetDatum(zone),
																  TimestampTzGetDatum(after)));
		int64		day = local / USECS_PER_DAY;
		int			minute;

		if (local < day * USECS_PER_DAY)
			day--;
		minute = (local - day * USECS_PER_DAY) / USECS_PER_MINUTE;
		for (int i = 0; i <= 4 * 366 && nulls[1]; i++)
		{
			int			jd = POSTGRES_EPOCH_JDATE + day + i;

			if (!RunsOn(&c, jd))
				continue;
			for (int k = 0; k < ntimes; k++)
				if (i > 0 || times[k] > minute)
				{
					Timestamp	run = (day + i) * USECS_PER_DAY +
						times[k] * USECS_PER_MINUTE;

					values[1] = DirectFunctionCall2(timestamp_zone,
													PointerGetDatum(zone),
													TimestampGetDatum(run));
					nulls[1] = false;
					break;
				}
		}
	}

	/*
	 * The interval: the longest gap within a day that runs, or from one such
	 * day's last run to the next one's first, over four calendar years from
	 * 2024 (a leap year among them), where every month and weekday pattern
	 * shows its longest gap.
	 */
	if (ntimes > 0)
	{
		int			first = date2j(2024, 1, 1);
		int			last_day = -1;
		int			gap = 0;

		for (int k = 1; k < ntimes; k++)
			gap = Max(gap, times[k] - times[k - 1]);
		for (int jd = first; jd <= first + 4 * 365; jd++)
		{
			if (!RunsOn(&c, jd))
				continue;
			if (last_day >= 0)
			{
				gap = Max(gap, (jd - last_day) * 1440 - times[ntimes - 1] + times[0]);
				nulls[2] = false;
			}
			last_day = jd;
		}
		values[2] = Int32GetDatum(gap * 60);
	}

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc),
													  values, nulls)));
}
