/*-------------------------------------------------------------------------
 *
 * auth.h
 *	  API keys (auth.c): the scopes a route may need, and the keys, kept
 *	  fresh by a thread of their own from the database.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SHIM_AUTH_H
#define SHIM_AUTH_H

#include "db.h"

/* The key scope a route needs (router.c). */
typedef enum ShimAuth
{
	SHIM_AUTH_NONE,
	SHIM_AUTH_READ,
	SHIM_AUTH_WRITE,
	SHIM_AUTH_ADMIN
} ShimAuth;

/* What a request's key opens, or why it opens nothing. */
typedef enum ShimAuthResult
{
	SHIM_AUTH_OK,
	SHIM_AUTH_MISSING,			/* no Authorization header */
	SHIM_AUTH_MALFORMED,		/* not "Bearer <token>" */
	SHIM_AUTH_UNKNOWN,			/* no such key */
	SHIM_AUTH_REVOKED,
	SHIM_AUTH_EXPIRED,
	SHIM_AUTH_SCOPE,			/* a key of another scope */
	SHIM_AUTH_NRESULTS
} ShimAuthResult;

typedef struct ShimKeys ShimKeys;

extern ShimKeys *shim_keys_create(const ShimConfig *cfg);

/*
 * shim_keys_connect opens the key connection, LISTENs and reads the keys,
 * on the caller's thread; shim_start calls it once before the key thread
 * exists, which then owns the connection.  False (err filled) when the
 * database cannot be reached or the role is a superuser (*superuser).
 */
extern bool shim_keys_connect(ShimKeys *k, ShimDbError *err, bool *superuser);
extern bool shim_keys_start(ShimKeys *k);
extern void shim_keys_reload(ShimKeys *k);
extern void shim_keys_destroy(ShimKeys *k);
extern ShimAuthResult shim_keys_check(ShimKeys *k, const char *hdr,
									  ShimAuth level);
#endif							/* SHIM_AUTH_H */
