/*-------------------------------------------------------------------------
 *
 * unit.h
 *	  The shim's unit tests: one TAP line per check (unit.c), and the
 *	  groups of checks that live in their own files.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SHIM_UNIT_H
#define SHIM_UNIT_H

#include <stdbool.h>

extern void Check(bool ok, const char *what);
/* the route of a request; id takes 32 bytes, allow 64 */
extern int	Route(const char *method, const char *path, char *id, char *allow);

/* unit_table.c */
extern void TestOpenapi(void);
extern void TestAllow(void);
extern void TestStatements(void);

#endif							/* SHIM_UNIT_H */
