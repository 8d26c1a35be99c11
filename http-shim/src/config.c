/*-------------------------------------------------------------------------
 *
 * config.c
 *	  The shim's settings: defaults, parsing from the environment (the
 *	  original service's names where it had one) and validation.  Every
 *	  error is one line naming the variable and the rule.
 *
 *	  In the background worker the same struct is filled from GUCs and then
 *	  validated here.
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

void
shim_config_set(char **field, const char *value)
{
	char	   *copy = strdup(value ? value : "");

	if (copy == NULL)
		abort();
	free(*field);
	*field = copy;
}

/* The database connections: DB_POOL_SIZE, else HTTP_THREADS + 2. */
int
shim_config_pool_size(const ShimConfig *cfg)
{
	return cfg->pool_size > 0 ? cfg->pool_size : cfg->threads + 2;
}

/*
 * How many streaming exports may run at once: HTTP_MAX_EXPORTS, else half
 * the pool (at least one).  An export holds its database connection for as
 * long as the client takes to read it, so without a bound enough of them
 * hold every connection and all other requests wait, then fail.
 */
int
shim_config_max_exports(const ShimConfig *cfg)
{
	int			half = shim_config_pool_size(cfg) / 2;

	if (cfg->max_exports > 0)
		return cfg->max_exports;
	return half > 0 ? half : 1;
}

void
shim_config_defaults(ShimConfig *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = SHIM_MODE_STANDALONE;
	shim_config_set(&cfg->db_url, "");
	shim_config_set(&cfg->db_role, "");
	shim_config_set(&cfg->listen_address, "127.0.0.1");
	cfg->port = 8080;
	cfg->threads = 8;
	cfg->pool_size = 0;			/* threads + 2 */
	cfg->body_limit = 1024 * 1024;
	cfg->timeout = 120;
	cfg->statement_timeout_ms = 0;
	cfg->group_commit = true;
	cfg->group_max = 64;
	shim_config_set(&cfg->cors_origins, "");
	shim_config_set(&cfg->cors_methods, "GET,POST,DELETE");
	shim_config_set(&cfg->cors_headers, "Content-Type,Authorization");
	cfg->cors_max_age_hours = 12;
	cfg->cors_credentials = false;
	cfg->allow_unauthenticated = false;
	shim_config_set(&cfg->api_key_write, "");
	shim_config_set(&cfg->api_key_read, "");
	shim_config_set(&cfg->api_key_admin, "");
	shim_config_set(&cfg->static_dir, "");
	cfg->log_level = SHIM_LOG_INFO;
}

void
shim_config_free(ShimConfig *cfg)
{
	free(cfg->db_url);
	free(cfg->db_role);
	free(cfg->listen_address);
	free(cfg->cors_origins);
	free(cfg->cors_methods);
	free(cfg->cors_headers);
	free(cfg->api_key_write);
	free(cfg->api_key_read);
	free(cfg->api_key_admin);
	free(cfg->static_dir);
	memset(cfg, 0, sizeof(*cfg));
}

/* Parses a whole decimal integer in [min, max]; false on anything else. */
static bool
ParseInt(const char *name, const char *s, long min, long max, long *out,
		 char *err, size_t errlen)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
	{
		snprintf(err, errlen,
				 "invalid %s \"%s\": must be an integer from %ld to %ld",
				 name, s, min, max);
		return false;
	}
	*out = v;
	return true;
}

static bool
ParseBool(const char *name, const char *s, bool *out, char *err, size_t errlen)
{
	if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0 ||
		strcasecmp(s, "yes") == 0 || strcasecmp(s, "on") == 0)
		*out = true;
	else if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0 ||
			 strcasecmp(s, "no") == 0 || strcasecmp(s, "off") == 0)
		*out = false;
	else
	{
		snprintf(err, errlen, "invalid %s \"%s\": must be true or false",
				 name, s);
		return false;
	}
	return true;
}

static bool
ParseLogLevel(const char *s, int *out, char *err, size_t errlen)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	int			i;

	for (i = 0; i < 4; i++)
	{
		if (strcasecmp(s, names[i]) == 0)
		{
			*out = i;
			return true;
		}
	}
	snprintf(err, errlen,
			 "invalid LOG_LEVEL \"%s\": must be one of debug, info, warn, error",
			 s);
	return false;
}

/*
 * shim_config_from_env reads every setting the environment (through get)
 * sets, on top of the defaults already in cfg, then validates the result.
 */
bool
shim_config_from_env(ShimConfig *cfg, ShimGetenv get, char *err, size_t errlen)
{
	static const struct
	{
		const char *name;
		size_t		offset;
	}			strings[] =
	{
		{"DB_URL", offsetof(ShimConfig, db_url)},
		{"DB_ROLE", offsetof(ShimConfig, db_role)},
		{"HTTP_LISTEN_ADDRESS", offsetof(ShimConfig, listen_address)},
		{"HTTP_CORS_ALLOWED_ORIGINS", offsetof(ShimConfig, cors_origins)},
		{"HTTP_CORS_ALLOWED_METHODS", offsetof(ShimConfig, cors_methods)},
		{"HTTP_CORS_ALLOWED_HEADERS", offsetof(ShimConfig, cors_headers)},
		{"HTTP_API_KEY_WRITE", offsetof(ShimConfig, api_key_write)},
		{"HTTP_API_KEY_READ", offsetof(ShimConfig, api_key_read)},
		{"HTTP_API_KEY_ADMIN", offsetof(ShimConfig, api_key_admin)},
		{"SHIM_STATIC_DIR", offsetof(ShimConfig, static_dir)},
	};
	static const struct
	{
		const char *name;
		size_t		offset;
		long		min;
		long		max;
		bool		is_long;
	}			ints[] =
	{
		{"HTTP_PORT", offsetof(ShimConfig, port), 1, 65535, false},
		{"HTTP_THREADS", offsetof(ShimConfig, threads), 1, 256, false},
		{"DB_POOL_SIZE", offsetof(ShimConfig, pool_size), 1, 1024, false},
		{"HTTP_MAX_EXPORTS", offsetof(ShimConfig, max_exports), 1, 1024, false},
		{"HTTP_BODY_LIMIT_BYTES", offsetof(ShimConfig, body_limit), 1024,
		1024L * 1024 * 1024, true},
		{"HTTP_IDLE_TIMEOUT_SECONDS", offsetof(ShimConfig, timeout), 1, 86400,
		false},
		{"DB_STATEMENT_TIMEOUT_MS", offsetof(ShimConfig, statement_timeout_ms),
		0, INT_MAX, false},
		{"HTTP_GROUP_MAX", offsetof(ShimConfig, group_max), 1, 1000, false},
		{"HTTP_CORS_MAX_AGE_HOURS_CACHE",
		offsetof(ShimConfig, cors_max_age_hours), 0, 24 * 365, false},
	};
	size_t		i;
	const char *v;

	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
	{
		v = get(strings[i].name);
		if (v != NULL)
			shim_config_set((char **) ((char *) cfg + strings[i].offset), v);
	}
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
	{
		long		n;

		v = get(ints[i].name);
		if (v == NULL)
			continue;
		if (!ParseInt(ints[i].name, v, ints[i].min, ints[i].max, &n,
					  err, errlen))
			return false;
		if (ints[i].is_long)
			*(long *) ((char *) cfg + ints[i].offset) = n;
		else
			*(int *) ((char *) cfg + ints[i].offset) = (int) n;
	}
	v = get("HTTP_CORS_ALLOW_CREDENTIALS");
	if (v != NULL && !ParseBool("HTTP_CORS_ALLOW_CREDENTIALS", v,
								&cfg->cors_credentials, err, errlen))
		return false;
	v = get("HTTP_ALLOW_UNAUTHENTICATED");
	if (v != NULL && !ParseBool("HTTP_ALLOW_UNAUTHENTICATED", v,
								&cfg->allow_unauthenticated, err, errlen))
		return false;
	v = get("HTTP_GROUP_COMMIT");
	if (v != NULL && !ParseBool("HTTP_GROUP_COMMIT", v, &cfg->group_commit,
								err, errlen))
		return false;
	v = get("LOG_LEVEL");
	if (v != NULL && !ParseLogLevel(v, &cfg->log_level, err, errlen))
		return false;
	return shim_config_validate(cfg, err, errlen);
}

/* True when the comma-separated list contains "*". */
static bool
ListHasWildcard(const char *list)
{
	const char *p = list;

	while (*p)
	{
		size_t		n;

		while (*p == ' ' || *p == ',')
			p++;
		n = strcspn(p, ",");
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n == 1 && *p == '*')
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

/* A token list: letters, digits and "-", separated by commas. */
static bool
CheckTokenList(const char *name, const char *list, char *err, size_t errlen)
{
	const char *p;

	for (p = list; *p; p++)
	{
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			  (*p >= '0' && *p <= '9') || *p == '-' || *p == ',' ||
			  *p == ' ' || *p == '*'))
		{
			snprintf(err, errlen,
					 "invalid %s \"%s\": must be a comma-separated list of names",
					 name, list);
			return false;
		}
	}
	return true;
}

/*
 * shim_address_is_loopback tells whether a listen address reaches this host
 * only: 127.0.0.0/8, ::1 or an IPv4-mapped loopback address.  "*" and any
 * other address do not.
 */
bool
shim_address_is_loopback(const char *address)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, address, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, address, &a6) == 1)
	{
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff};

		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return true;
		return memcmp(a6.s6_addr, mapped, 12) == 0 && a6.s6_addr[12] == 127;
	}
	return false;
}

bool
shim_config_validate(const ShimConfig *cfg, char *err, size_t errlen)
{
	const char *p;

	if (cfg->port < 1 || cfg->port > 65535)
	{
		snprintf(err, errlen, "invalid HTTP_PORT %d: must be from 1 to 65535",
				 cfg->port);
		return false;
	}
	if (cfg->threads < 1 || cfg->threads > 256)
	{
		snprintf(err, errlen,
				 "invalid HTTP_THREADS %d: must be from 1 to 256", cfg->threads);
		return false;
	}
	if (cfg->pool_size != 0 && cfg->pool_size < cfg->threads)
	{
		snprintf(err, errlen,
				 "invalid DB_POOL_SIZE %d: must be at least HTTP_THREADS (%d)",
				 cfg->pool_size, cfg->threads);
		return false;
	}
	if (cfg->max_exports < 0 || cfg->max_exports > shim_config_pool_size(cfg))
	{
		snprintf(err, errlen,
				 "invalid HTTP_MAX_EXPORTS %d: must be from 1 to the database connections (%d)",
				 cfg->max_exports, shim_config_pool_size(cfg));
		return false;
	}
	if (cfg->group_max < 1 || cfg->group_max > 1000)
	{
		snprintf(err, errlen,
				 "invalid HTTP_GROUP_MAX %d: must be from 1 to 1000",
				 cfg->group_max);
		return false;
	}
	if (cfg->body_limit < 1024)
	{
		snprintf(err, errlen,
				 "invalid HTTP_BODY_LIMIT_BYTES %ld: must be at least 1024",
				 cfg->body_limit);
		return false;
	}
	if (cfg->cors_credentials && ListHasWildcard(cfg->cors_origins))
	{
		snprintf(err, errlen,
				 "invalid HTTP_CORS_ALLOW_CREDENTIALS: credentials cannot be allowed with HTTP_CORS_ALLOWED_ORIGINS \"*\"; list the origins");
		return false;
	}
	if (!CheckTokenList("HTTP_CORS_ALLOWED_METHODS", cfg->cors_methods,
						err, errlen) ||
		!CheckTokenList("HTTP_CORS_ALLOWED_HEADERS", cfg->cors_headers,
						err, errlen))
		return false;
	for (p = cfg->cors_origins; *p; p++)
	{
		if (*p == '\r' || *p == '\n' || *p == '"')
		{
			snprintf(err, errlen,
					 "invalid HTTP_CORS_ALLOWED_ORIGINS: must be \"*\" or a comma-separated list of origins");
			return false;
		}
	}
	if (cfg->listen_address[0] == '\0')
	{
		snprintf(err, errlen,
				 "invalid HTTP_LISTEN_ADDRESS \"\": must be \"*\" or an IP address");
		return false;
	}

	/*
	 * Unauthenticated access is a convenience of a single machine: anyone
	 * who reaches the port could otherwise read, write and erase events.
	 */
	if (cfg->allow_unauthenticated &&
		!shim_address_is_loopback(cfg->listen_address))
	{
		bool		worker = cfg->mode == SHIM_MODE_WORKER;

		snprintf(err, errlen,
				 "refusing to listen on %s with %s=on: unauthenticated access is for loopback only; %s",
				 cfg->listen_address,
				 worker ? "user_activity.http_allow_unauthenticated" :
				 "HTTP_ALLOW_UNAUTHENTICATED",
				 worker ? "create API keys with user_activity.create_api_key() instead" :
				 "set API keys instead");
		return false;
	}
	return true;
}
