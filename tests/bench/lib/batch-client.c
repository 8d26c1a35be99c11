/*
 * batch-client.c: send JSON batches to record_events() the way the HTTP
 * shim does (one connection, the batch as a bound text parameter, the
 * whole result read back), one batch per line of FILE, each its own
 * transaction.  Prints the milliseconds taken and the events stored.
 *
 *   batch-client CONNINFO FILE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <libpq-fe.h>

int
main(int argc, char **argv)
{
	PGconn	   *conn;
	FILE	   *f;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		len;
	struct timeval t0,
				t1;
	long		stored = 0;
	/* the shim's statement */
	const char *sql = "SELECT user_activity.record_events($1::pg_catalog.jsonb)::pg_catalog.text";

	if (argc != 3)
	{
		fprintf(stderr, "usage: batch-client CONNINFO FILE\n");
		return 2;
	}
	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "batch-client: %s", PQerrorMessage(conn));
		return 1;
	}
	f = fopen(argv[2], "r");
	if (f == NULL)
	{
		perror(argv[2]);
		return 1;
	}
	gettimeofday(&t0, NULL);
	while ((len = getline(&line, &cap, f)) > 0)
	{
		const char *params[1];
		PGresult   *res;

		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		params[0] = line;
		res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			fprintf(stderr, "batch-client: %s", PQerrorMessage(conn));
			return 1;
		}
		{
			const char *p = strstr(PQgetvalue(res, 0, 0), "\"stored\": ");

			if (p)
				stored += atol(p + 10);
		}
		PQclear(res);
	}
	gettimeofday(&t1, NULL);
	printf("%ld %ld\n",
		   (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000,
		   stored);
	PQfinish(conn);
	return 0;
}
