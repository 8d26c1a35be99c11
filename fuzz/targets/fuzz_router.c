/*-------------------------------------------------------------------------
 *
 * fuzz_router.c
 *	  libFuzzer target of the shim's routing: any method and path, with
 *	  id and Allow buffers of every size, must give a route that matches,
 *	  405 with a NUL-terminated Allow list, or 404, and never touch memory
 *	  outside the buffers.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "router.h"

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char *const methods[] = {
		"GET", "POST", "DELETE", "HEAD", "OPTIONS", "PUT", "PATCH", ""
	};
	const char *method;
	char	   *path;
	char	   *id;
	char	   *allow;
	size_t		idlen,
				allowlen;
	int			r;

	if (size < 3)
		return 0;
	method = methods[data[0] % 8];
	idlen = data[1] % 40;
	allowlen = 1 + data[2] % 80;
	path = strndup((const char *) data + 3, size - 3);
	/* exact-size heap buffers, so that ASan sees any overrun */
	id = malloc(idlen ? idlen : 1);
	allow = malloc(allowlen);
	r = shim_route_match(method, path, idlen ? id : NULL, idlen, allow,
						 allowlen);
	if (r >= 0)
	{
		if (r >= shim_route_count)
			abort();
		if (idlen && strstr(shim_routes[r].path, "{id}") &&
			strnlen(id, idlen) >= idlen)
			abort();
	}
	else if (r == SHIM_MATCH_METHOD)
	{
		if (strnlen(allow, allowlen) >= allowlen)
			abort();
	}
	else if (r != SHIM_MATCH_NONE)
		abort();
	(void) shim_route_label(r);
	(void) shim_route_label(shim_route_for_path(path));
	free(allow);
	free(id);
	free(path);
	return 0;
}
