# Makefile for the user_activity extension, its HTTP shim and the project's
# two commands ("make run" and "make test").  The extension itself is built
# with PGXS.  Versions are declared once each: extension/sql/parts assembles
# the base version BASEVERSION (1.0), every later change is an upgrade script
# extension/sql/user_activity--A--B.sql, and user_activity.control's
# default_version names the newest, so CREATE EXTENSION installs the base
# and applies the upgrades: fresh installs and upgrades run the same code.

EXTENSION = user_activity
BASEVERSION = 1.0

MODULE_big = user_activity
EXT_SRCS := $(sort $(wildcard extension/src/*.c))
OBJS = $(EXT_SRCS:.c=.o)

# The install script of the base version is assembled from one file per
# concern (schema, ingest, search, counting, ...), in name order.
SQL_PARTS := $(sort $(wildcard extension/sql/parts/*.sql))
DATA_built = extension/$(EXTENSION)--$(BASEVERSION).sql
DATA = $(wildcard extension/sql/$(EXTENSION)--*--*.sql)

# pg_regress: every sql/*.sql is one self-contained topic.
REGRESS := $(sort $(notdir $(basename $(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --outputdir=. --dbname=contrib_regression
ISOLATION := $(sort $(notdir $(basename $(wildcard specs/*.spec))))
ISOLATION_OPTS = --dbname=isolation_regression

PG_CPPFLAGS = -I$(srcdir)/extension/include -I$(shell $(PG_CONFIG) --includedir)
SHLIB_LINK = -lmicrohttpd -ljansson -lcrypto -lpthread
SHLIB_LINK_INTERNAL = -L$(shell $(PG_CONFIG) --libdir) -lpq

EXTRA_CLEAN = results output_iso regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The HTTP shim adds its objects to the module (for the in-database worker)
# and builds the standalone program.
-include http-shim/shim.mk

$(DATA_built): $(SQL_PARTS) $(EXTENSION).control
	@mkdir -p $(dir $@)
	{ printf '%s\n' '/* $(EXTENSION)--$(BASEVERSION).sql: assembled from extension/sql/parts, do not edit */' \
	    '' '\echo Use "CREATE EXTENSION $(EXTENSION)" to load this file. \quit' ''; \
	  for f in $(SQL_PARTS); do printf '\n-- %s\n' "$$f"; cat "$$f"; done; } > $@

.PHONY: deps run test bench soak fuzz
deps:
	scripts/deps.sh

run: deps
	scripts/run.sh

test: deps
	tests/run-all.sh

bench: deps
	tests/bench/run.sh

# Robustness (README): 60 s of wrk at 256 connections; libFuzzer, long.
soak: deps
	tests/soak/run.sh

fuzz: deps
	fuzz/fuzz.sh
