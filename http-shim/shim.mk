# http-shim/shim.mk: the HTTP shim's part of the build, included by the root
# Makefile after PGXS.
#
# The shim's core (everything in src/ but main.c) is linked twice: into the
# extension's module, where extension/src/worker.c runs it as a background
# worker, and into the standalone program http-shim/user-activity-shim.
# The core never includes postgres.h; it only needs libpq, libmicrohttpd,
# jansson and OpenSSL's libcrypto (SHA-256 of the API keys).

SHIM_DIR := http-shim
SHIM_CORE_SRCS := $(filter-out $(SHIM_DIR)/src/main.c,$(sort $(wildcard $(SHIM_DIR)/src/*.c)))
SHIM_CORE_OBJS := $(SHIM_CORE_SRCS:.c=.o)
SHIM_BIN := $(SHIM_DIR)/user-activity-shim
SHIM_UNIT := $(SHIM_DIR)/tests/unit
SHIM_LIBS := -L$(shell $(PG_CONFIG) --libdir) -lpq -lmicrohttpd -ljansson -lcrypto -lpthread

# PGXS fixed its link rule's prerequisites when it was included; add ours.
OBJS += $(SHIM_CORE_OBJS)
$(shlib): $(SHIM_CORE_OBJS)
ifeq ($(with_llvm), yes)
all: $(SHIM_CORE_OBJS:.o=.bc)
endif

$(SHIM_CORE_OBJS) $(SHIM_CORE_OBJS:.o=.bc) $(SHIM_DIR)/src/main.o \
$(SHIM_DIR)/tests/unit.o $(SHIM_DIR)/tests/const_eq_bench.o \
extension/src/worker.o extension/src/worker.bc: \
	override CPPFLAGS += -I$(SHIM_DIR)/include -I$(SHIM_DIR)/src

$(SHIM_CORE_OBJS) $(SHIM_DIR)/src/main.o $(SHIM_DIR)/tests/unit.o \
$(SHIM_DIR)/tests/const_eq_bench.o: \
	$(SHIM_DIR)/include/shim.h $(wildcard $(SHIM_DIR)/src/*.h)
extension/src/worker.o: $(SHIM_DIR)/include/shim.h

all: $(SHIM_BIN)

$(SHIM_BIN): $(SHIM_CORE_OBJS) $(SHIM_DIR)/src/main.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(SHIM_LIBS)

# Unit tests of routing, configuration, SQLSTATE mapping and metrics.
$(SHIM_UNIT): $(SHIM_DIR)/tests/unit.o $(SHIM_CORE_OBJS)
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

EXTRA_CLEAN += $(SHIM_BIN) $(SHIM_UNIT) $(SHIM_DIR)/src/main.o $(SHIM_DIR)/tests/unit.o \
	$(SHIM_CONST_EQ_BENCH) $(SHIM_DIR)/tests/const_eq_bench.o
