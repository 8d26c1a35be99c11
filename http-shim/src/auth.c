/*-------------------------------------------------------------------------
 *
 * auth.c
 *	  API keys: which bearer token may call which route.
 *
 *	  The keys live in the database, in user_activity.api_keys, as the
 *	  SHA-256 of each secret only; the standalone shim adds the keys of its
 *	  environment (HTTP_API_KEY_READ, _WRITE, _ADMIN), hashed at start.  A
 *	  request's token is hashed and compared with every cached hash in
 *	  constant time, so neither the position of a match nor how much of a
 *	  guess was right shows in the response time.
 *
 *	  The cache follows the table within a second: a dedicated connection
 *	  LISTENs on user_activity_api_keys, which every change of the table
 *	  notifies, and reads user_activity.api_key_hashes() again on each
 *	  notification, on every (re)connect and on shim_keys_reload (SIGHUP).
 *	  Expiry is checked against the clock at each request.
 *
 *	  Who owns what: the key thread alone uses the key connection (before
 *	  it starts, shim_keys_connect, called by shim_start, does).  The key
 *	  set is immutable once published; "lock" guards only the pointer to it:
 *	  the key thread swaps in a new set under the write lock and frees the
 *	  old one after, and HTTP threads compare under the read lock, so no
 *	  HTTP thread ever waits on the database.  "stop" and "reload" are
 *	  atomics set by other threads, which then write a byte to the wake pipe.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "auth.h"

#define SHIM_KEY_HASH_LEN	32
#define SHIM_KEY_MAX_TOKEN	512
#define SHIM_KEY_CHANNEL	"user_activity_api_keys"

typedef struct ShimKey
{
	unsigned char hash[SHIM_KEY_HASH_LEN];
	ShimAuth	scope;
	double		expires;		/* Unix time; 0: never */
	bool		revoked;
} ShimKey;

typedef struct ShimKeySet
{
	int			n;
	ShimKey		keys[];
} ShimKeySet;

struct ShimKeys
{
	EVP_MD	   *sha256;			/* fetched once: a fetch per hash takes a lock */
	pthread_rwlock_t lock;		/* guards the pointer "set" only */
	ShimKeySet *set;
	ShimKey		env[3];			/* the environment's keys; fixed at create */
	int			nenv;
	char	   *db_url;
	char	   *role;
	PGconn	   *conn;			/* the key thread's (shim_keys_connect's) */
	bool		warned_missing; /* said once that api_key_hashes() is absent */
	bool		warned_down;	/* said once that the database is away */
	pthread_t	thread;
	bool		started;
	int			wake[2];		/* a byte in it: look at stop and reload */
	int			stop;			/* atomic */
	int			reload;			/* atomic */
};

/* Hashes a secret as PostgreSQL's sha256(secret::bytea) does. */
static bool
Sha256(const ShimKeys *k, const char *s, size_t n, unsigned char *out)
{
	unsigned int len = 0;

	return EVP_Digest(s, n, out, &len, k->sha256, NULL) == 1 &&
		len == SHIM_KEY_HASH_LEN;
}

/* True when a key of scope may call a route of level. */
static bool
ScopeCovers(ShimAuth scope, ShimAuth level)
{
	return scope == SHIM_AUTH_ADMIN || scope == level;
}

static ShimAuth
ScopeFromName(const char *s)
{
	if (strcmp(s, "read") == 0)
		return SHIM_AUTH_READ;
	if (strcmp(s, "write") == 0)
		return SHIM_AUTH_WRITE;
	if (strcmp(s, "admin") == 0)
		return SHIM_AUTH_ADMIN;
	return SHIM_AUTH_NONE;
}

/*
 * Publish makes db (n keys, may be NULL) plus the environment's keys the
 * current set, and frees the set it replaces.
 */
static void
Publish(ShimKeys *k, const ShimKey *db, int n)
{
	ShimKeySet *set = malloc(sizeof(ShimKeySet) +
							 sizeof(ShimKey) * (size_t) (n + k->nenv));
	ShimKeySet *old;

	if (set == NULL)
	{
		shim_log(SHIM_LOG_ERROR, "api keys: out of memory; keeping the previous keys");
		return;
	}
	set->n = n + k->nenv;
	if (k->nenv)
		memcpy(set->keys, k->env, sizeof(ShimKey) * k->nenv);
	if (n)
		memcpy(set->keys + k->nenv, db, sizeof(ShimKey) * n);
	pthread_rwlock_wrlock(&k->lock);
	old = k->set;
	k->set = set;
	pthread_rwlock_unlock(&k->lock);
	free(old);
}

static int
HexValue(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses bytea's hex output ("\x" and 64 digits) into a hash. */
static bool
ParseHash(const char *s, unsigned char *out)
{
	int			i;

	if (strlen(s) != 2 + 2 * SHIM_KEY_HASH_LEN || s[0] != '\\' || s[1] != 'x')
		return false;
	for (i = 0; i < SHIM_KEY_HASH_LEN; i++)
	{
		int			hi = HexValue(s[2 + 2 * i]);
		int			lo = HexValue(s[3 + 2 * i]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char) (hi << 4 | lo);
	}
	return true;
}

/*
 * Load reads every key of the database (revoked and expired ones too, so
 * that a refusal can say why) and publishes them.  A database without
 * api_key_hashes() (the extension before 1.4) has none: said once.  False
 * when the connection failed.
 */
static bool
Load(ShimKeys *k)
{
	PGresult   *res;
	ShimKey    *keys;
	int			i,
				n = 0;
	const char *state;

	res = PQexec(k->conn,
				 "SELECT scope, key_hash, "
				 "pg_catalog.date_part('epoch', expires_at), "
				 "revoked_at IS NOT NULL "
				 "FROM user_activity.api_key_hashes()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (PQstatus(k->conn) != CONNECTION_OK || state == NULL ||
			strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
		{
			PQclear(res);
			return false;
		}
		if (!k->warned_missing)
			shim_log(SHIM_LOG_WARN,
					 "api keys: cannot read user_activity.api_key_hashes() (%s): only the environment's keys are taken; update the extension to 1.4",
					 state);
		k->warned_missing = true;
		PQclear(res);
		Publish(k, NULL, 0);
		return true;
	}
	k->warned_missing = false;
	keys = calloc(PQntuples(res) + 1, sizeof(ShimKey));
	if (keys == NULL)
	{
		PQclear(res);
		shim_log(SHIM_LOG_ERROR, "api keys: out of memory; keeping the previous keys");
		return true;
	}
	for (i = 0; i < PQntuples(res); i++)
	{
		ShimKey    *key = &keys[n];

		key->scope = ScopeFromName(PQgetvalue(res, i, 0));
		if (key->scope == SHIM_AUTH_NONE ||
			!ParseHash(PQgetvalue(res, i, 1), key->hash))
			continue;
		key->expires = PQgetisnull(res, i, 2) ? 0 :
			strtod(PQgetvalue(res, i, 2), NULL);
		key->revoked = PQgetvalue(res, i, 3)[0] == 't';
		n++;
	}
	PQclear(res);
	Publish(k, keys, n);
	free(keys);
	shim_log(SHIM_LOG_DEBUG, "api keys: %d from the database, %d from the environment",
			 n, k->nenv);
	return true;
}

static void
Disconnect(ShimKeys *k)
{
	if (k->conn)
		PQfinish(k->conn);
	k->conn = NULL;
}

/* shim_keys_connect is declared in auth.h: see there. */
bool
shim_keys_connect(ShimKeys *k, ShimDbError *err, bool *superuser)
{
	PGresult   *res;

	Disconnect(k);
	k->conn = shim_db_open(k->db_url, k->role, "user_activity_shim_keys", 0,
						   err, superuser);
	if (k->conn == NULL)
		return false;
	res = PQexec(k->conn, "LISTEN " SHIM_KEY_CHANNEL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		shim_db_connection_error(err, PQresultErrorMessage(res));
		PQclear(res);
		Disconnect(k);
		return false;
	}
	PQclear(res);
	if (!Load(k))
	{
		shim_db_connection_error(err, PQerrorMessage(k->conn));
		Disconnect(k);
		return false;
	}
	return true;
}

/* Waits for a byte in the wake pipe (or the key connection) up to ms. */
static void
Wait(ShimKeys *k, int ms)
{
	struct pollfd p[2];
	int			n = 0;
	char		buf[64];

	p[n].fd = k->wake[0];
	p[n].events = POLLIN;
	p[n++].revents = 0;
	if (k->conn)
	{
		p[n].fd = PQsocket(k->conn);
		p[n].events = POLLIN;
		p[n++].revents = 0;
	}
	if (poll(p, n, ms) > 0 && (p[0].revents & POLLIN))
		while (read(k->wake[0], buf, sizeof(buf)) > 0)
			;
}

/*
 * The key thread: keeps the key connection, reloads on each notification
 * and on request, reconnects (waiting up to 5 s between tries) when the
 * database went away.  Until it is back, the keys last read stay in force.
 */
static void *
KeyThread(void *arg)
{
	ShimKeys   *k = arg;
	int			backoff_ms = 1000;

	while (!__atomic_load_n(&k->stop, __ATOMIC_SEQ_CST))
	{
		bool		reload = false;
		PGnotify   *note;

		if (k->conn == NULL)
		{
			ShimDbError err;
			bool		superuser = false;

			if (!shim_keys_connect(k, &err, &superuser))
			{
				if (!k->warned_down)
					shim_log(superuser ? SHIM_LOG_ERROR : SHIM_LOG_WARN,
							 "api keys: cannot read the keys from the database, trying again: %s",
							 err.detail);
				k->warned_down = true;
				Wait(k, backoff_ms);
				backoff_ms = backoff_ms < 2500 ? backoff_ms * 2 : 5000;
				continue;
			}
			if (k->warned_down)
				shim_log(SHIM_LOG_INFO, "api keys: read from the database again");
			k->warned_down = false;
			backoff_ms = 1000;
			__atomic_store_n(&k->reload, 0, __ATOMIC_SEQ_CST);
		}

		Wait(k, 10000);
		if (__atomic_load_n(&k->stop, __ATOMIC_SEQ_CST))
			break;
		if (!PQconsumeInput(k->conn))
		{
			Disconnect(k);
			continue;
		}
		while ((note = PQnotifies(k->conn)) != NULL)
		{
			reload = true;
			PQfreemem(note);
		}
		if (__atomic_exchange_n(&k->reload, 0, __ATOMIC_SEQ_CST))
			reload = true;
		if (reload && !Load(k))
			Disconnect(k);
	}
	Disconnect(k);
	return NULL;
}

/*
 * shim_keys_create hashes the environment's keys and publishes them; the
 * database's come with shim_keys_connect.
 */
ShimKeys *
shim_keys_create(const ShimConfig *cfg)
{
	ShimKeys   *k = calloc(1, sizeof(ShimKeys));
	pthread_rwlockattr_t attr;
	const struct
	{
		const char *secret;
		ShimAuth	scope;
	}			env[3] = {
		{cfg->api_key_read, SHIM_AUTH_READ},
		{cfg->api_key_write, SHIM_AUTH_WRITE},
		{cfg->api_key_admin, SHIM_AUTH_ADMIN},
	};
	int			i;

	if (k == NULL)
		return NULL;
	k->wake[0] = k->wake[1] = -1;
	k->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	/* a steady stream of readers must not keep a new key set out */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
								  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&k->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	for (i = 0; i < 3; i++)
	{
		if (env[i].secret == NULL || env[i].secret[0] == '\0')
			continue;
		if (k->sha256 == NULL ||
			!Sha256(k, env[i].secret, strlen(env[i].secret), k->env[k->nenv].hash))
			continue;
		k->env[k->nenv].scope = env[i].scope;
		k->nenv++;
	}
	k->db_url = strdup(cfg->db_url);
	k->role = strdup(cfg->db_role);
	if (k->sha256 == NULL || pipe2(k->wake, O_NONBLOCK | O_CLOEXEC) != 0 ||
		k->db_url == NULL || k->role == NULL)
	{
		shim_keys_destroy(k);
		return NULL;
	}
	Publish(k, NULL, 0);
	return k;
}

/* Starts the key thread, which takes over the key connection if any. */
bool
shim_keys_start(ShimKeys *k)
{
	if (pthread_create(&k->thread, NULL, KeyThread, k) != 0)
		return false;
	k->started = true;
	return true;
}

static void
Wake(ShimKeys *k)
{
	char		c = 0;

	if (k->wake[1] >= 0)
		(void) !write(k->wake[1], &c, 1);
}

/* shim_keys_reload is declared in auth.h: see there. */
void
shim_keys_reload(ShimKeys *k)
{
	__atomic_store_n(&k->reload, 1, __ATOMIC_SEQ_CST);
	Wake(k);
}

void
shim_keys_destroy(ShimKeys *k)
{
	if (k == NULL)
		return;
	if (k->started)
	{
		__atomic_store_n(&k->stop, 1, __ATOMIC_SEQ_CST);
		Wake(k);
		pthread_join(k->thread, NULL);
	}
	Disconnect(k);
	if (k->wake[0] >= 0)
		close(k->wake[0]);
	if (k->wake[1] >= 0)
		close(k->wake[1]);
	free(k->set);
	EVP_MD_free(k->sha256);
	free(k->db_url);
	free(k->role);
	pthread_rwlock_destroy(&k->lock);
	free(k);
}

/*
 * Token finds the token of "Bearer <token>" (the scheme in any case, as
 * RFC 9110 says, then spaces): visible ASCII, at most SHIM_KEY_MAX_TOKEN
 * bytes.  NULL when the header is anything else.
 */
static const char *
Token(const char *hdr, size_t *len)
{
	const char *p;
	size_t		n;

	if (strncasecmp(hdr, "Bearer ", 7) != 0)
		return NULL;
	hdr += 7;
	while (*hdr == ' ')
		hdr++;
	for (p = hdr; *p > 0x20 && *p < 0x7f; p++)
		;
	n = p - hdr;
	if (*p != '\0' || n == 0 || n > SHIM_KEY_MAX_TOKEN)
		return NULL;
	*len = n;
	return hdr;
}

/*
 * shim_keys_check decides whether the Authorization header hdr (NULL when
 * absent) opens a route of level.  Every cached hash is compared, each in
 * constant time, and only what the keys' own flags say (never where the
 * token matched) picks the outcome.
 */
ShimAuthResult
shim_keys_check(ShimKeys *k, const char *hdr, ShimAuth level)
{
	const char *token;
	size_t		len = 0;
	unsigned char hash[SHIM_KEY_HASH_LEN];
	struct timespec ts;
	double		now;
	unsigned	found = 0,
				ok = 0,
				revoked = 0,
				expired = 0;
	const ShimKeySet *set;
	int			i;

	if (level == SHIM_AUTH_NONE)
		return SHIM_AUTH_OK;
	if (hdr == NULL)
		return SHIM_AUTH_MISSING;
	token = Token(hdr, &len);
	if (token == NULL || !Sha256(k, token, len, hash))
		return SHIM_AUTH_MALFORMED;
	clock_gettime(CLOCK_REALTIME, &ts);
	now = ts.tv_sec + ts.tv_nsec / 1e9;

	pthread_rwlock_rdlock(&k->lock);
	set = k->set;
	for (i = 0; set && i < set->n; i++)
	{
		const ShimKey *key = &set->keys[i];
		unsigned	eq = shim_const_eq_bytes(hash, key->hash, SHIM_KEY_HASH_LEN);
		unsigned	gone = key->expires > 0 && key->expires <= now;

		found |= eq;
		ok |= eq & !key->revoked & !gone & ScopeCovers(key->scope, level);
		revoked |= eq & key->revoked;
		expired |= eq & !key->revoked & gone;
	}
	pthread_rwlock_unlock(&k->lock);

	if (ok)
		return SHIM_AUTH_OK;
	if (!found)
		return SHIM_AUTH_UNKNOWN;
	if (revoked)
		return SHIM_AUTH_REVOKED;
	if (expired)
		return SHIM_AUTH_EXPIRED;
	return SHIM_AUTH_SCOPE;
}
