/*-------------------------------------------------------------------------
 *
 * fuzz_extension.c
 *	  libFuzzer target of the extension's validation, through the real
 *	  server: validation is backend C (Jsonb, ereport) and cannot run
 *	  outside a backend, so each input is sent over libpq, as the shim's
 *	  role, to one of the functions that take client JSON, in a transaction
 *	  that is rolled back.  The first byte picks the function; the rest is
 *	  the JSON text.  Every error must carry a client-error SQLSTATE
 *	  (classes 22, 23, 42, 54): XX000 (an error without errcode), any other
 *	  class, or a lost connection (a crashed backend) is a crash here.
 *
 *	  FUZZ_DB_URL names the database (with the extension installed).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

static PGconn *conn;

static const char *const calls[] = {
	"SELECT user_activity.record_event($1::pg_catalog.jsonb)::pg_catalog.text",
	"SELECT user_activity.record_events($1::pg_catalog.jsonb)::pg_catalog.text",
	"SELECT body, next_cursor FROM user_activity.search_events($1::pg_catalog.jsonb)",
	"SELECT user_activity.export_events($1::pg_catalog.jsonb, 'ndjson')",
	"SELECT user_activity.export_events($1::pg_catalog.jsonb, 'csv')",
	"SELECT user_activity.user_counts_json($1::pg_catalog.jsonb)",
	"SELECT user_activity.top_users_json($1::pg_catalog.jsonb)",
};
#define NCALLS (sizeof(calls) / sizeof(calls[0]))

static void
Exec(const char *sql)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "fuzz_extension: %s: %s", sql, PQerrorMessage(conn));
		abort();
	}
	PQclear(res);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *url = getenv("FUZZ_DB_URL");
	int			i;

	(void) argc;
	(void) argv;
	conn = PQconnectdb(url ? url : "");
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "fuzz_extension: %s", PQerrorMessage(conn));
		exit(1);
	}
	Exec("SET ROLE user_activity_writer");
	for (i = 0; i < (int) NCALLS; i++)
	{
		char		name[16];
		PGresult   *res;

		snprintf(name, sizeof(name), "f%d", i);
		res = PQprepare(conn, name, calls[i], 1, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			fprintf(stderr, "fuzz_extension: prepare %s: %s", calls[i],
					PQerrorMessage(conn));
			exit(1);
		}
		PQclear(res);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char		name[16];
	char	   *text;
	const char *params[1];
	PGresult   *res;
	const char *state;

	if (size < 1)
		return 0;
	snprintf(name, sizeof(name), "f%d", (int) (data[0] % NCALLS));
	text = strndup((const char *) data + 1, size - 1);
	params[0] = text;
	Exec("BEGIN");
	res = PQexecPrepared(conn, name, 1, params, NULL, NULL, 0);
	switch (PQresultStatus(res))
	{
		case PGRES_TUPLES_OK:
		case PGRES_COMMAND_OK:
			break;
		default:
			state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			if (PQstatus(conn) != CONNECTION_OK || state == NULL ||
				!(strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
				  strncmp(state, "42", 2) == 0 || strncmp(state, "54", 2) == 0) ||
				strcmp(state, "42501") == 0 || strcmp(state, "42883") == 0)
			{
				fprintf(stderr, "fuzz_extension: %s failed with %s: %s",
						calls[data[0] % NCALLS], state ? state : "(none)",
						PQerrorMessage(conn));
				abort();
			}
	}
	PQclear(res);
	Exec("ROLLBACK");
	free(text);
	return 0;
}
