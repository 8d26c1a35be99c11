/*-------------------------------------------------------------------------
 *
 * fuzz_text.c
 *	  libFuzzer target of the shim's text helpers, checked against
 *	  independent implementations: JSON string escaping (jansson must parse
 *	  the result, and get the input back when it is UTF-8), UTF-8
 *	  validation (jansson must agree), percent-encoding (libmicrohttpd's
 *	  decoder must get the input back), the constant-time compare (strcmp
 *	  must agree), problem documents (always valid JSON) and the SQLSTATE
 *	  table (always a 4xx or 5xx).
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "reply.h"

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char	   *s = strndup((const char *) data, size);
	size_t		len = strlen(s);
	bool		valid = shim_utf8_valid(s, len);
	ShimBuf		b;
	json_t	   *doc;
	json_t	   *probe;
	char	   *copy;
	size_t		half = len / 2;
	int			status;

	/* UTF-8 validation agrees with jansson's */
	probe = json_stringn(s, len);
	if ((probe != NULL) != valid)
		abort();
	json_decref(probe);
	if (shim_utf8_valid((const char *) data, size) &&
		memchr(data, 0, size) != NULL)
		abort();

	/* a JSON string literal jansson parses back to the input */
	shim_buf_init(&b);
	shim_buf_puts(&b, "[");
	shim_buf_json_string(&b, s);
	shim_buf_puts(&b, "]");
	doc = json_loads(b.data, JSON_ALLOW_NUL, NULL);
	if (doc == NULL)
		abort();
	if (valid && strcmp(json_string_value(json_array_get(doc, 0)), s) != 0)
		abort();
	json_decref(doc);
	shim_buf_free(&b);

	/* percent-encoding round-trips through libmicrohttpd's decoder */
	shim_buf_init(&b);
	shim_buf_urlencode(&b, s);
	shim_buf_append(&b, "", 0);
	copy = strdup(b.data);
	if (strspn(copy, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%") != strlen(copy))
		abort();
	MHD_http_unescape(copy);
	if (strcmp(copy, s) != 0)
		abort();
	free(copy);
	shim_buf_free(&b);

	/* the constant-time compare is a compare */
	if (shim_const_eq(s, s + half) != (strcmp(s, s + half) == 0))
		abort();
	if (!shim_const_eq(s, s))
		abort();

	/* problem documents are JSON whatever their fields hold */
	shim_buf_init(&b);
	shim_problem_json(&b, 400, s + half, s, s + len / 3, s, s + half, s);
	doc = json_loads(b.data, 0, NULL);
	if (doc == NULL)
		abort();
	json_decref(doc);
	shim_buf_free(&b);

	status = shim_status_for_sqlstate(s, size > 0 && (data[0] & 1), SHIM_Q_RECORD_EVENTS);
	if (status < 400 || status > 599)
		abort();
	free(s);
	return 0;
}
