/*-------------------------------------------------------------------------
 *
 * shim.h
 *	  Public interface of the HTTP shim: its configuration and the calls
 *	  that start and stop it.  Used by the standalone program (main.c) and
 *	  by the worker's library, user_activity_http (http-shim/worker/worker.c).
 *
 *	  Nothing here depends on PostgreSQL's server headers: the shim runs in
 *	  threads and must never call backend functions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SHIM_H
#define SHIM_H

#include <stdbool.h>
#include <stddef.h>

#define SHIM_VERSION "1.0.0"

/* Where the shim runs: decides the build_info label and the log stream. */
typedef enum ShimMode
{
	SHIM_MODE_STANDALONE,
	SHIM_MODE_WORKER
} ShimMode;

/*
 * ShimConfig holds every setting.  Strings are owned by the struct (freed by
 * shim_config_free); an empty string means "not set".
 */
typedef struct ShimConfig
{
	ShimMode	mode;
	char	   *db_url;			/* libpq connection string or URI; "" = PG* env */
	char	   *db_role;		/* SET ROLE after connecting, "" = none */
	char	   *listen_address; /* "*" or an IPv4/IPv6 address; loopback */
	int			port;			/* HTTP port, 1..65535 */
	int			threads;		/* MHD worker threads */
	int			pool_size;		/* database connections (>= threads) */
	int			max_exports;	/* streaming exports at once, 0 = half the pool */
	long		body_limit;		/* request body cap in bytes */
	int			timeout;		/* idle connection timeout, seconds */
	int			statement_timeout_ms;	/* 0 = server default */
	bool		group_commit;	/* write concurrent single events together */
	int			group_max;		/* most events in one group transaction */
	char	   *cors_origins;	/* comma-separated, "*" = any, "" = none */
	char	   *cors_methods;
	char	   *cors_headers;
	int			cors_max_age_hours;
	bool		cors_credentials;
	bool		allow_unauthenticated;	/* API routes take no key (loopback) */
	char	   *api_key_write;	/* standalone: a key from the environment */
	char	   *api_key_read;	/* (merged with the database's keys; "" = */
	char	   *api_key_admin;	/* none) */
	char	   *static_dir;		/* "" = no page */
	int			log_level;		/* 0 debug, 1 info, 2 warn, 3 error */
} ShimConfig;

/* Looks up one setting by its environment name; NULL when unset. */
typedef const char *(*ShimGetenv) (const char *name);

/*
 * ShimSetting describes one setting, once, for both ways of running the
 * shim: the standalone program reads it from its environment variable
 * (env), the background worker from its GUC (guc).  A setting of one mode
 * only has NULL for the other's name; the worker's connection settings
 * (database and user) have no field in ShimConfig either, as the worker
 * turns them into db_url itself.
 *
 * Integers set explicitly must lie in [min, max].  Where zero is set (its
 * text says what 0 means) the GUC also takes 0 and defaults to it; for the
 * port that runs no worker, for the pool and the exports it stands for the
 * value derived from the others, which is also the standalone's default
 * when the variable is unset.
 */
typedef enum ShimSettingType
{
	SHIM_SETTING_STRING,
	SHIM_SETTING_INT,
	SHIM_SETTING_LONG,			/* a long field, in the range of an int */
	SHIM_SETTING_BOOL,
	SHIM_SETTING_ENUM			/* an int field indexing names */
} ShimSettingType;

typedef enum ShimSettingUnit
{
	SHIM_UNIT_NONE,
	SHIM_UNIT_BYTES,
	SHIM_UNIT_S,
	SHIM_UNIT_MS
} ShimSettingUnit;

#define SHIM_SETTING_NO_FIELD ((size_t) -1)

typedef struct ShimSetting
{
	const char *env;			/* environment variable, NULL: worker only */
	const char *guc;			/* GUC, NULL: standalone only */
	ShimSettingType type;
	size_t		field;			/* offset in ShimConfig, or NO_FIELD */
	const char *text;			/* default of a string */
	long		def;			/* default of the others (bool: 0 or 1) */
	long		min;			/* range of an integer */
	long		max;
	const char *zero;			/* integers: what 0 means, or NULL */
	ShimSettingUnit unit;
	const char *const *names;	/* enum: the values' names, NULL-ended */
	const char *desc;			/* one line, no final period */
	const char *detail;			/* more, or NULL */
} ShimSetting;

extern const ShimSetting shim_settings[];
extern const int shim_num_settings;

/* config.c */
extern const ShimSetting *shim_setting_by_name(const char *name);
extern void shim_setting_store(ShimConfig *cfg, const ShimSetting *s,
							   long value, const char *text);
extern bool shim_address_is_loopback(const char *address);
extern void shim_config_defaults(ShimConfig *cfg);
extern bool shim_config_from_env(ShimConfig *cfg, ShimGetenv get,
								 char *err, size_t errlen);
extern bool shim_config_validate(const ShimConfig *cfg, char *err,
								 size_t errlen);
extern void shim_config_set(char **field, const char *value);
extern void shim_config_free(ShimConfig *cfg);
extern int	shim_config_pool_size(const ShimConfig *cfg);
extern int	shim_config_max_exports(const ShimConfig *cfg);

/* server.c */
typedef struct Shim Shim;

/* Why shim_start failed: the caller decides whether trying again helps. */
typedef enum ShimStartError
{
	SHIM_START_CONFIG,			/* a setting is wrong: it will not pass */
	SHIM_START_BIND,			/* the address or port cannot be taken */
	SHIM_START_SUPERUSER,		/* the database role is a superuser */
	SHIM_START_RESOURCES		/* threads or memory */
} ShimStartError;

/*
 * shim_start starts the HTTP daemon and its threads (which inherit the
 * caller's signal mask: block signals first).  It takes the listening
 * socket before it opens any database connection, so a port already taken
 * costs the database nothing.  Returns NULL and fills err (and *why, when
 * not NULL) on failure.  shim_stop stops accepting, drains the requests in
 * flight for up to drain_ms and frees everything.  shim_reload_keys has
 * the API keys read again from the database soon, without waiting; any
 * thread may call it.
 */
extern Shim *shim_start(const ShimConfig *cfg, ShimStartError *why,
						char *err, size_t errlen);
extern void shim_stop(Shim *shim, int drain_ms);
extern void shim_reload_keys(Shim *shim);

#endif							/* SHIM_H */
