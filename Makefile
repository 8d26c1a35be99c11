# Makefile for the user_activity extension, its HTTP shim and the project's
# two commands ("make run" and "make test").  The extension itself is built
# with PGXS.
#
# One current definition (pgvector's layout): extension/sql/parts holds the
# newest version of every object, once, one file per concern, and is
# assembled into that version's full install script, which CREATE EXTENSION
# runs.  The version is declared once, as default_version in
# user_activity.control.  Every change since 1.0 is also an upgrade script
# extension/sql/user_activity--A--B.sql holding only that change (released:
# never edited), and extension/sql/user_activity--1.0.sql is the install
# script of 1.0 as released, so that a database of any version updates, and
# CREATE EXTENSION ... VERSION of an older one still works.
# tests/schema/identity.sh proves that a fresh install and every chain of
# upgrades end with the same database.

EXTENSION = user_activity
EXTVERSION := $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big = user_activity
EXT_SRCS := $(sort $(wildcard extension/src/*.c))
OBJS = $(EXT_SRCS:.c=.o)

# The install script of the newest version is assembled from one file per
# concern (schema, ingest, search, partitions, counting, ...), in name order.
SQL_PARTS := $(sort $(wildcard extension/sql/parts/*.sql))
DATA_built = extension/$(EXTENSION)--$(EXTVERSION).sql
DATA = extension/sql/$(EXTENSION)--1.0.sql $(wildcard extension/sql/$(EXTENSION)--*--*.sql)

# pg_regress: every sql/*.sql is one self-contained topic.
REGRESS := $(sort $(notdir $(basename $(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --outputdir=. --dbname=contrib_regression
ISOLATION := $(sort $(notdir $(basename $(wildcard specs/*.spec))))
ISOLATION_OPTS = --dbname=isolation_regression

# The SQL module links nothing beyond the server: the HTTP stack lives in
# the worker's library, user_activity_http (http-shim/shim.mk).
PG_CPPFLAGS = -I$(srcdir)/extension/include

EXTRA_CLEAN = results output_iso regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The HTTP shim: the in-database worker's library and the standalone
# program.
-include http-shim/shim.mk

$(DATA_built): $(SQL_PARTS) $(EXTENSION).control
	@mkdir -p $(dir $@)
	{ printf '%s\n' '/* $(EXTENSION)--$(EXTVERSION).sql: assembled from extension/sql/parts, do not edit */' \
	    '' '\echo Use "CREATE EXTENSION $(EXTENSION)" to load this file. \quit' ''; \
	  for f in $(SQL_PARTS); do printf '\n-- %s\n' "$$f"; cat "$$f"; done; } > $@

# Packages (README, "Install"): "make deb" builds the Debian packages with
# dpkg-buildpackage (debian/, pg_buildext) in a copy of the tree under
# DEB_DIR, where the .deb files land; "make dist" the PGXN archive of HEAD,
# with META.json made from META.json.in and the control file's version.
DEB_DIR ?= build/deb
DIST_DIR ?= build

META.json: META.json.in $(EXTENSION).control
	sed 's/@EXTVERSION@/$(EXTVERSION)/g' $< >$@

.PHONY: deb dist
deb:
	rm -rf $(DEB_DIR)/src
	mkdir -p $(DEB_DIR)/src
	git ls-files -z --cached --others --exclude-standard | \
	  tar --null --ignore-failed-read -T - -cf - | tar -xf - -C $(DEB_DIR)/src
	# the page's locked dependencies, when installed, spare npm ci (links
	# where the file system allows)
	if [ -d frontend/node_modules ]; then \
	  cp -al frontend/node_modules $(DEB_DIR)/src/frontend/ 2>/dev/null || \
	  cp -a frontend/node_modules $(DEB_DIR)/src/frontend/; fi
	cd $(DEB_DIR)/src && dpkg-buildpackage -us -uc -b

dist: META.json
	mkdir -p $(DIST_DIR)
	git archive --format=zip --prefix=$(EXTENSION)-$(EXTVERSION)/ --add-file=META.json \
	  -o $(DIST_DIR)/$(EXTENSION)-$(EXTVERSION).zip HEAD

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
