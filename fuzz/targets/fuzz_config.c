/*-------------------------------------------------------------------------
 *
 * fuzz_config.c
 *	  libFuzzer target of the shim's configuration parsing: the input is
 *	  "NAME=value" lines standing for the environment.  Parsing and
 *	  validation must accept or refuse with one NUL-terminated line, and a
 *	  configuration they accept must validate again.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_VARS 32

static char *names[MAX_VARS];
static char *values[MAX_VARS];
static int	nvars;

static const char *
FuzzGetenv(const char *name)
{
	int			i;

	for (i = nvars - 1; i >= 0; i--)
		if (strcmp(names[i], name) == 0)
			return values[i];
	return NULL;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char	   *text = strndup((const char *) data, size);
	char	   *line,
			   *save = NULL;
	ShimConfig	cfg;
	char		err[256];
	int			i;

	nvars = 0;
	for (line = strtok_r(text, "\n", &save); line && nvars < MAX_VARS;
		 line = strtok_r(NULL, "\n", &save))
	{
		char	   *eq = strchr(line, '=');

		if (eq == NULL)
			continue;
		*eq = '\0';
		names[nvars] = line;
		values[nvars] = eq + 1;
		nvars++;
	}
	shim_config_defaults(&cfg);
	memset(err, 'x', sizeof(err));
	if (shim_config_from_env(&cfg, FuzzGetenv, err, sizeof(err)))
	{
		if (!shim_config_validate(&cfg, err, sizeof(err)))
			abort();
		if (cfg.port < 1 || cfg.port > 65535 || cfg.threads < 1 ||
			cfg.body_limit < 1024)
			abort();
	}
	else if (strnlen(err, sizeof(err)) >= sizeof(err) || err[0] == '\0')
		abort();
	shim_config_free(&cfg);
	for (i = 0; i < nvars; i++)
		names[i] = values[i] = NULL;
	free(text);
	return 0;
}
