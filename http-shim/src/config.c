/*-------------------------------------------------------------------------
 *
 * config.c
 *	  The shim's settings: one table (shim_settings) gives each setting's
 *	  environment variable, GUC, default, range and description, for the
 *	  standalone program and the background worker alike.  Here the table
 *	  sets the defaults, parses the environment (the original service's
 *	  names where it had one) and validates the result; the worker defines
 *	  its GUCs from the same rows (http-shim/worker/worker.c).  Every error is one line naming the setting, as the mode
 *	  that runs calls it, and the rule.
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

#define F(field) offsetof(ShimConfig, field)

static const char *const log_level_names[] = {"debug", "info", "warn", "error", NULL};

const ShimSetting shim_settings[] = {
	/* the database */
	{.env = "DB_URL", .type = SHIM_SETTING_STRING, .field = F(db_url), .text = "",
	.desc = "libpq connection string or URI of the database (empty: libpq's PG* variables); never a superuser"},
	{.guc = "user_activity.http_database", .type = SHIM_SETTING_STRING,
		.field = SHIM_SETTING_NO_FIELD, .text = "postgres",
	.desc = "Database the HTTP shim connects to (it has the extension)"},
	{.guc = "user_activity.http_user", .type = SHIM_SETTING_STRING,
		.field = SHIM_SETTING_NO_FIELD, .text = "user_activity_http",
		.desc = "Role the HTTP shim logs in as; never a superuser",
	.detail = "The extension's user_activity_http, a member of user_activity_writer, by default."},
	{.env = "DB_ROLE", .guc = "user_activity.http_role", .type = SHIM_SETTING_STRING,
		.field = F(db_role), .text = "",
	.desc = "Role the HTTP shim switches to after login (empty: none)"},
	{.env = "DB_POOL_SIZE", .guc = "user_activity.http_pool_size", .type = SHIM_SETTING_INT,
		.field = F(pool_size), .def = 0, .min = 1, .max = 1024, .zero = "threads + 2",
	.desc = "Database connections of the shim, at least its threads"},
	{.env = "DB_STATEMENT_TIMEOUT_MS", .guc = "user_activity.http_statement_timeout",
		.type = SHIM_SETTING_INT, .field = F(statement_timeout_ms),
		.def = 0, .min = 0, .max = INT_MAX, .unit = SHIM_UNIT_MS,
	.desc = "statement_timeout of the shim's connections (0: the server's)"},

	/* HTTP */
	{.env = "HTTP_PORT", .guc = "user_activity.http_port", .type = SHIM_SETTING_INT,
		.field = F(port), .def = 8080, .min = 1, .max = 65535, .zero = "no shim",
	.desc = "TCP port of the HTTP shim"},
	{.env = "HTTP_LISTEN_ADDRESS", .guc = "user_activity.http_listen_address",
		.type = SHIM_SETTING_STRING, .field = F(listen_address), .text = "127.0.0.1",
		.desc = "Address the HTTP shim listens on (\"*\": all IPv4 addresses)",
	.detail = "Loopback by default; beyond loopback every API route needs a key."},
	{.env = "HTTP_THREADS", .guc = "user_activity.http_threads", .type = SHIM_SETTING_INT,
		.field = F(threads), .def = 8, .min = 1, .max = 256,
	.desc = "HTTP worker threads of the shim"},
	{.env = "HTTP_MAX_EXPORTS", .guc = "user_activity.http_max_exports",
		.type = SHIM_SETTING_INT, .field = F(max_exports),
		.def = 0, .min = 1, .max = 1024, .zero = "half the pool",
		.desc = "Streaming exports the shim runs at once, at most its database connections",
	.detail = "Each export holds a database connection while its client reads; one over the limit is answered 429 at once."},
	{.env = "HTTP_BODY_LIMIT_BYTES", .guc = "user_activity.http_body_limit",
		.type = SHIM_SETTING_LONG, .field = F(body_limit),
		.def = 1024 * 1024, .min = 1024, .max = 1024L * 1024 * 1024, .unit = SHIM_UNIT_BYTES,
	.desc = "Largest request body the shim accepts"},
	{.env = "HTTP_IDLE_TIMEOUT_SECONDS", .guc = "user_activity.http_idle_timeout",
		.type = SHIM_SETTING_INT, .field = F(timeout),
		.def = 120, .min = 1, .max = 86400, .unit = SHIM_UNIT_S,
	.desc = "Seconds after which an idle HTTP connection is closed"},
	{.guc = "user_activity.http_drain_timeout", .type = SHIM_SETTING_INT,
		.field = SHIM_SETTING_NO_FIELD, .def = 5000, .min = 0, .max = 600000,
		.unit = SHIM_UNIT_MS,
	.desc = "How long a stopping shim waits for requests in flight"},
	{.env = "HTTP_GROUP_COMMIT", .guc = "user_activity.http_group_commit",
		.type = SHIM_SETTING_BOOL, .field = F(group_commit), .def = 1,
	.desc = "Whether concurrent single-event POSTs are committed together"},
	{.env = "HTTP_GROUP_MAX", .guc = "user_activity.http_group_max", .type = SHIM_SETTING_INT,
		.field = F(group_max), .def = 64, .min = 1, .max = 1000,
	.desc = "Most events the shim commits in one group transaction"},
	{.env = "SHIM_STATIC_DIR", .guc = "user_activity.http_static_dir",
		.type = SHIM_SETTING_STRING, .field = F(static_dir), .text = "",
	.desc = "Directory of the web page served at / (empty: none)"},
	{.env = "LOG_LEVEL", .guc = "user_activity.http_log_level", .type = SHIM_SETTING_ENUM,
		.field = F(log_level), .def = SHIM_LOG_INFO, .names = log_level_names,
	.desc = "Least level of the shim's JSON log lines"},

	/* CORS */
	{.env = "HTTP_CORS_ALLOWED_ORIGINS", .guc = "user_activity.http_cors_allowed_origins",
		.type = SHIM_SETTING_STRING, .field = F(cors_origins), .text = "",
	.desc = "CORS origins allowed, comma-separated (\"*\": any; empty: none)"},
	{.env = "HTTP_CORS_ALLOWED_METHODS", .guc = "user_activity.http_cors_allowed_methods",
		.type = SHIM_SETTING_STRING, .field = F(cors_methods), .text = "GET,POST,DELETE",
	.desc = "CORS methods allowed, comma-separated"},
	{.env = "HTTP_CORS_ALLOWED_HEADERS", .guc = "user_activity.http_cors_allowed_headers",
		.type = SHIM_SETTING_STRING, .field = F(cors_headers),
		.text = "Content-Type,Authorization",
	.desc = "CORS request headers allowed, comma-separated"},
	{.env = "HTTP_CORS_MAX_AGE_HOURS_CACHE", .guc = "user_activity.http_cors_max_age_hours",
		.type = SHIM_SETTING_INT, .field = F(cors_max_age_hours),
		.def = 12, .min = 0, .max = 24 * 365,
	.desc = "How long browsers may cache a CORS preflight, in hours"},
	{.env = "HTTP_CORS_ALLOW_CREDENTIALS", .guc = "user_activity.http_cors_allow_credentials",
		.type = SHIM_SETTING_BOOL, .field = F(cors_credentials), .def = 0,
	.desc = "Whether CORS requests may carry credentials (never with origin \"*\")"},

	/* access */
	{.env = "HTTP_ALLOW_UNAUTHENTICATED", .guc = "user_activity.http_allow_unauthenticated",
		.type = SHIM_SETTING_BOOL, .field = F(allow_unauthenticated), .def = 0,
		.desc = "Whether the API routes take requests without a key (loopback only)",
	.detail = "Off: every /api route needs a key of its scope; on, the shim refuses to listen beyond loopback."},

	/*
	 * Keys of the environment, merged with the database's.  The worker has
	 * none: its keys live in user_activity.api_keys, out of reach of those
	 * who may read the server's settings.
	 */
	{.env = "HTTP_API_KEY_WRITE", .type = SHIM_SETTING_STRING, .field = F(api_key_write),
	.text = "", .desc = "An API key of scope write"},
	{.env = "HTTP_API_KEY_READ", .type = SHIM_SETTING_STRING, .field = F(api_key_read),
	.text = "", .desc = "An API key of scope read"},
	{.env = "HTTP_API_KEY_ADMIN", .type = SHIM_SETTING_STRING, .field = F(api_key_admin),
	.text = "", .desc = "An API key of scope admin"},
};

const int	shim_num_settings = sizeof(shim_settings) / sizeof(shim_settings[0]);

void
shim_config_set(char **field, const char *value)
{
	char	   *copy = strdup(value ? value : "");

	if (copy == NULL)
		abort();
	free(*field);
	*field = copy;
}

/* The setting whose environment variable or GUC is name, or NULL. */
const ShimSetting *
shim_setting_by_name(const char *name)
{
	int			i;

	for (i = 0; i < shim_num_settings; i++)
	{
		const ShimSetting *s = &shim_settings[i];

		if ((s->env && strcmp(s->env, name) == 0) ||
			(s->guc && strcmp(s->guc, name) == 0))
			return s;
	}
	return NULL;
}

/* The setting that fills a field, which has one. */
static const ShimSetting *
SettingOf(size_t field)
{
	int			i;

	for (i = 0; i < shim_num_settings; i++)
		if (shim_settings[i].field == field)
			return &shim_settings[i];
	abort();
}

/* The name of the setting filling field, as the running mode calls it. */
static const char *
SettingName(const ShimConfig *cfg, size_t field)
{
	const ShimSetting *s = SettingOf(field);

	if (cfg->mode == SHIM_MODE_WORKER && s->guc)
		return s->guc;
	return s->env ? s->env : s->guc;
}

/*
 * shim_setting_store puts a value into the field of setting s: text for a
 * string, value for the others.  Settings without a field are left alone.
 */
void
shim_setting_store(ShimConfig *cfg, const ShimSetting *s, long value,
				   const char *text)
{
	char	   *p;

	if (s->field == SHIM_SETTING_NO_FIELD)
		return;
	p = (char *) cfg + s->field;
	switch (s->type)
	{
		case SHIM_SETTING_STRING:
			shim_config_set((char **) p, text);
			break;
		case SHIM_SETTING_INT:
		case SHIM_SETTING_ENUM:
			*(int *) p = (int) value;
			break;
		case SHIM_SETTING_LONG:
			*(long *) p = value;
			break;
		case SHIM_SETTING_BOOL:
			*(bool *) p = value != 0;
			break;
	}
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

/* shim_config_defaults gives every field its setting's default. */
void
shim_config_defaults(ShimConfig *cfg)
{
	int			i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = SHIM_MODE_STANDALONE;
	for (i = 0; i < shim_num_settings; i++)
		shim_setting_store(cfg, &shim_settings[i], shim_settings[i].def,
						   shim_settings[i].text);
}

void
shim_config_free(ShimConfig *cfg)
{
	int			i;

	for (i = 0; i < shim_num_settings; i++)
	{
		const ShimSetting *s = &shim_settings[i];

		if (s->type == SHIM_SETTING_STRING && s->field != SHIM_SETTING_NO_FIELD)
			free(*(char **) ((char *) cfg + s->field));
	}
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
ParseBool(const char *name, const char *s, long *out, char *err, size_t errlen)
{
	if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0 ||
		strcasecmp(s, "yes") == 0 || strcasecmp(s, "on") == 0)
		*out = 1;
	else if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0 ||
			 strcasecmp(s, "no") == 0 || strcasecmp(s, "off") == 0)
		*out = 0;
	else
	{
		snprintf(err, errlen, "invalid %s \"%s\": must be true or false",
				 name, s);
		return false;
	}
	return true;
}

static bool
ParseEnum(const char *name, const char *const *names, const char *s,
		  long *out, char *err, size_t errlen)
{
	size_t		len;
	int			i;

	for (i = 0; names[i]; i++)
	{
		if (strcasecmp(s, names[i]) == 0)
		{
			*out = i;
			return true;
		}
	}
	len = (size_t) snprintf(err, errlen, "invalid %s \"%s\": must be one of",
							name, s);
	for (i = 0; names[i] && len < errlen; i++)
		len += (size_t) snprintf(err + len, errlen - len, "%s %s",
								 i > 0 ? "," : "", names[i]);
	return false;
}

/*
 * shim_config_from_env reads every setting the environment (through get)
 * sets, on top of the defaults already in cfg, then validates the result.
 */
bool
shim_config_from_env(ShimConfig *cfg, ShimGetenv get, char *err, size_t errlen)
{
	int			i;

	for (i = 0; i < shim_num_settings; i++)
	{
		const ShimSetting *s = &shim_settings[i];
		const char *v;
		long		n = 0;
		bool		ok = true;

		if (s->env == NULL || (v = get(s->env)) == NULL)
			continue;
		switch (s->type)
		{
			case SHIM_SETTING_STRING:
				break;
			case SHIM_SETTING_INT:
			case SHIM_SETTING_LONG:
				ok = ParseInt(s->env, v, s->min, s->max, &n, err, errlen);
				break;
			case SHIM_SETTING_BOOL:
				ok = ParseBool(s->env, v, &n, err, errlen);
				break;
			case SHIM_SETTING_ENUM:
				ok = ParseEnum(s->env, s->names, v, &n, err, errlen);
				break;
		}
		if (!ok)
			return false;
		shim_setting_store(cfg, s, n, v);
	}
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

/*
 * CheckRanges holds every integer field to its setting's range; 0 passes
 * where it stands for a default derived from other settings.
 */
static bool
CheckRanges(const ShimConfig *cfg, char *err, size_t errlen)
{
	int			i;

	for (i = 0; i < shim_num_settings; i++)
	{
		const ShimSetting *s = &shim_settings[i];
		const char *p;
		long		v;

		if (s->field == SHIM_SETTING_NO_FIELD ||
			(s->type != SHIM_SETTING_INT && s->type != SHIM_SETTING_LONG))
			continue;
		p = (const char *) cfg + s->field;
		v = s->type == SHIM_SETTING_LONG ? *(const long *) p : *(const int *) p;
		if (v >= s->min && v <= s->max)
			continue;
		if (v == 0 && s->zero != NULL && s->def == 0)
			continue;
		snprintf(err, errlen, "invalid %s %ld: must be from %ld to %ld",
				 SettingName(cfg, s->field), v, s->min, s->max);
		return false;
	}
	return true;
}

bool
shim_config_validate(const ShimConfig *cfg, char *err, size_t errlen)
{
	const char *p;

	if (!CheckRanges(cfg, err, errlen))
		return false;
	if (cfg->pool_size != 0 && cfg->pool_size < cfg->threads)
	{
		snprintf(err, errlen,
				 "invalid %s %d: must be at least %s (%d)",
				 SettingName(cfg, F(pool_size)), cfg->pool_size,
				 SettingName(cfg, F(threads)), cfg->threads);
		return false;
	}
	if (cfg->max_exports > shim_config_pool_size(cfg))
	{
		snprintf(err, errlen,
				 "invalid %s %d: must be from 1 to the database connections (%d)",
				 SettingName(cfg, F(max_exports)), cfg->max_exports,
				 shim_config_pool_size(cfg));
		return false;
	}
	if (cfg->cors_credentials && ListHasWildcard(cfg->cors_origins))
	{
		snprintf(err, errlen,
				 "invalid %s: credentials cannot be allowed with %s \"*\"; list the origins",
				 SettingName(cfg, F(cors_credentials)),
				 SettingName(cfg, F(cors_origins)));
		return false;
	}
	if (!CheckTokenList(SettingName(cfg, F(cors_methods)), cfg->cors_methods,
						err, errlen) ||
		!CheckTokenList(SettingName(cfg, F(cors_headers)), cfg->cors_headers,
						err, errlen))
		return false;
	for (p = cfg->cors_origins; *p; p++)
	{
		if (*p == '\r' || *p == '\n' || *p == '"')
		{
			snprintf(err, errlen,
					 "invalid %s: must be \"*\" or a comma-separated list of origins",
					 SettingName(cfg, F(cors_origins)));
			return false;
		}
	}
	if (cfg->listen_address[0] == '\0')
	{
		snprintf(err, errlen,
				 "invalid %s \"\": must be \"*\" or an IP address",
				 SettingName(cfg, F(listen_address)));
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
				 SettingName(cfg, F(allow_unauthenticated)),
				 worker ? "create API keys with user_activity.create_api_key() instead" :
				 "set API keys instead");
		return false;
	}
	return true;
}
