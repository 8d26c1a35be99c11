# http-shim/shim.mk: the HTTP shim's part of the build, included by the root
# Makefile after PGXS.
#
# The shim's core (everything in src/ but main.c) is linked twice: with
# worker/worker.c into the library user_activity_http, which runs it in the
# database as a background worker when preloaded, and with main.c into the
# standalone program http-shim/user-activity-shim.  The core never includes
# postgres.h; it only needs libpq, libmicrohttpd, jansson and OpenSSL's
# libcrypto (SHA-256 of the API keys).  The SQL module user_activity links
# none of them.

SHIM_DIR := http-shim
SHIM_CORE_SRCS := $(filter-out $(SHIM_DIR)/src/main.c,$(sort $(wildcard $(SHIM_DIR)/src/*.c)))
SHIM_CORE_OBJS := $(SHIM_CORE_SRCS:.c=.o)
SHIM_WORKER_OBJ := $(SHIM_DIR)/worker/worker.o
SHIM_BIN := $(SHIM_DIR)/user-activity-shim
SHIM_UNIT := $(SHIM_DIR)/tests/unit
SHIM_UNIT_OBJS := $(SHIM_DIR)/tests/unit.o $(SHIM_DIR)/tests/unit_table.o
SHIM_LIBS := -L$(shell $(PG_CONFIG) --libdir) -lpq -lmicrohttpd -ljansson -lcrypto -lpthread
HTTP_SHLIB := user_activity_http$(DLSUFFIX)

$(SHIM_CORE_OBJS) $(SHIM_DIR)/src/main.o $(SHIM_WORKER_OBJ) \
$(SHIM_UNIT_OBJS) $(SHIM_DIR)/tests/const_eq_bench.o: \
	override CPPFLAGS += -I$(SHIM_DIR)/include -I$(SHIM_DIR)/src \
		-I$(shell $(PG_CONFIG) --includedir)

$(SHIM_CORE_OBJS) $(SHIM_DIR)/src/main.o $(SHIM_UNIT_OBJS) \
$(SHIM_DIR)/tests/const_eq_bench.o: \
	$(SHIM_DIR)/include/shim.h $(wildcard $(SHIM_DIR)/src/*.h)
$(SHIM_UNIT_OBJS): $(SHIM_DIR)/tests/unit.h
$(SHIM_WORKER_OBJ): $(SHIM_DIR)/include/shim.h

all: $(HTTP_SHLIB) $(SHIM_BIN)

# The worker's library, linked as PGXS links a module.
$(HTTP_SHLIB): $(SHIM_WORKER_OBJ) $(SHIM_CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LDFLAGS_SL) -shared -o $@ $(SHIM_LIBS)

.PHONY: install-http uninstall-http
install: install-http
install-http: $(HTTP_SHLIB)
	$(MKDIR_P) '$(DESTDIR)$(pkglibdir)'
	$(INSTALL_SHLIB) $(HTTP_SHLIB) '$(DESTDIR)$(pkglibdir)/$(HTTP_SHLIB)'
uninstall: uninstall-http
uninstall-http:
	rm -f '$(DESTDIR)$(pkglibdir)/$(HTTP_SHLIB)'

$(SHIM_BIN): $(SHIM_CORE_OBJS) $(SHIM_DIR)/src/main.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(SHIM_LIBS)

# Unit tests of routing, configuration, SQLSTATE mapping and metrics.
$(SHIM_UNIT): $(SHIM_UNIT_OBJS) $(SHIM_CORE_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(SHIM_LIBS)

.PHONY: shim-unit
shim-unit: $(SHIM_UNIT)
	$(SHIM_UNIT)

# Timing of the API key comparison against strcmp (a report, no assertion).
SHIM_CONST_EQ_BENCH := $(SHIM_DIR)/tests/const_eq_bench
$(SHIM_CONST_EQ_BENCH): $(SHIM_DIR)/tests/const_eq_bench.o $(SHIM_CORE_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(SHIM_LIBS)

.PHONY: shim-const-eq-bench
shim-const-eq-bench: $(SHIM_CONST_EQ_BENCH)
	$(SHIM_CONST_EQ_BENCH)

EXTRA_CLEAN += $(SHIM_BIN) $(SHIM_UNIT) $(HTTP_SHLIB) $(SHIM_CORE_OBJS) \
	$(SHIM_WORKER_OBJ) $(SHIM_DIR)/src/main.o $(SHIM_UNIT_OBJS) \
	$(SHIM_CONST_EQ_BENCH) $(SHIM_DIR)/tests/const_eq_bench.o
