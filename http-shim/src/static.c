/*-------------------------------------------------------------------------
 *
 * static.c
 *	  Serves the page's built files from the static directory at "/".  A
 *	  path without a file behind it gets index.html, so that the page's
 *	  client-side routes survive a reload.  Paths are resolved with
 *	  realpath and must stay inside the directory.
 *
 *-------------------------------------------------------------------------
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers.h"

static const struct
{
	const char *ext;
	const char *type;
}			content_types[] =
{
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".json", "application/json"},
	{".map", "application/json"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".jpg", "image/jpeg"},
	{".jpeg", "image/jpeg"},
	{".gif", "image/gif"},
	{".ico", "image/x-icon"},
	{".webp", "image/webp"},
	{".woff", "font/woff"},
	{".woff2", "font/woff2"},
	{".txt", "text/plain; charset=utf-8"},
	{".webmanifest", "application/manifest+json"},
};

static const char *
ContentType(const char *path)
{
	const char *dot = strrchr(path, '.');
	size_t		i;

	if (dot && !strchr(dot, '/'))
		for (i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++)
			if (strcmp(dot, content_types[i].ext) == 0)
				return content_types[i].type;
	return "application/octet-stream";
}

/* Opens root/rel if it is a regular file inside root; -1 otherwise. */
static int
OpenInside(const char *root, const char *rel, char *resolved, struct stat *st)
{
	char		joined[PATH_MAX];
	size_t		rlen = strlen(root);
	int			fd;

	if (snprintf(joined, sizeof(joined), "%s/%s", root, rel) >= (int) sizeof(joined))
		return -1;
	if (realpath(joined, resolved) == NULL)
		return -1;
	if (strncmp(resolved, root, rlen) != 0 ||
		(resolved[rlen] != '/' && resolved[rlen] != '\0'))
		return -1;
	fd = open(resolved, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode))
	{
		close(fd);
		return -1;
	}
	return fd;
}

enum MHD_Result
shim_h_static(ShimRequest *req)
{
	char		root[PATH_MAX];
	char		resolved[PATH_MAX];
	const char *rel = req->path;
	struct stat st;
	int			fd = -1;
	struct MHD_Response *resp;
	const char *last;

	if (realpath(req->shim->cfg.static_dir, root) == NULL)
		return shim_problem(req, 404, NULL, "not found",
							"The page is not installed.", NULL, NULL);
	while (*rel == '/')
		rel++;
	/* no "..", no hidden files */
	if (strstr(req->path, "/.") == NULL)
		fd = OpenInside(root, *rel ? rel : "index.html", resolved, &st);
	if (fd < 0 && strstr(req->path, "/.") == NULL)
	{
		/* a client-side route (no extension in its last segment) */
		last = strrchr(req->path, '/');
		if (last == NULL || strchr(last, '.') == NULL)
			fd = OpenInside(root, "index.html", resolved, &st);
	}
	if (fd < 0)
		return shim_problem(req, 404, NULL, "not found",
							"No file of the page has this path.", NULL, NULL);
	resp = MHD_create_response_from_fd((uint64_t) st.st_size, fd);
	if (resp == NULL)
	{
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
							ContentType(resolved));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_X_CONTENT_TYPE_OPTIONS,
							"nosniff");
	if (strstr(resolved, "/assets/"))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
								"public, max-age=31536000, immutable");
	else
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
								"no-cache");
	return shim_reply_response(req, 200, resp);
}
