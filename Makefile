# p2ptcp: a plain Makefile.
#
#   make                      build the engine library and the programs
#   make test                 build and run every test (unit, packet scripts,
#                             simulation, sans-IO check, namespace tests as root)
#   make SANITIZE=address,undefined test
#   make fuzz                 build the libFuzzer targets (clang) and run each
#                             for FUZZ_SECONDS
#   make bench                run the benchmark
#   make install              honours PREFIX, DESTDIR, BINDIR, SBINDIR, LIBDIR,
#                             INCLUDEDIR, PKGCONFIGDIR, MANDIR
#   V=1                       show the commands

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system

# The one version, from the public header; the soname carries its major.
VERSION := $(shell sed -n 's/^\#define PTCP_VERSION_STR "\(.*\)"/\1/p' include/p2ptcp/version.h)
SOVERSION := $(firstword $(subst ., ,$(VERSION)))

CC ?= cc
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
BASE_CFLAGS := -std=c11 $(WARN) -MMD -MP -fPIC -Iinclude -Icore/engine -Icore/proto -Icore/sys -Icore/net -Icore/secure -Icore/rdv -Icore/node -Itests/lib
ifneq ($(SANITIZE),)
BASE_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
BUILD ?= build/san
else
BUILD ?= build/default
endif

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 20
FUZZ_BUILD := build/fuzz

ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @printf '  %-7s %s\n'
endif

# --- the sans-IO engine -------------------------------------------------
ENGINE_SRC := $(sort $(wildcard core/engine/*.c))
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/%.o)
ENGINE_LIB := $(BUILD)/libptcp-engine.a

# --- around the engine, one folder per concern: protocol codecs (sans-IO),
# the host (clock, random, log), raw I/O and firewall, the secure channel,
# the rendezvous client, the event loop ------------------------------------
DRIVER_DIRS := core/proto core/sys core/net core/secure core/rdv core/node
DRIVER_SRC := $(sort $(foreach d,$(DRIVER_DIRS),$(wildcard $(d)/*.c)))
DRIVER_OBJ := $(DRIVER_SRC:%.c=$(BUILD)/%.o)
DRIVER_PKGS := libevent libsodium libcares libnftables libpcap
PKG_CFLAGS = $(shell pkg-config --cflags $(DRIVER_PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(DRIVER_PKGS) 2>/dev/null)

# --- libp2ptcp: all of the above, static and shared ------------------------------
LIB_A := $(BUILD)/libp2ptcp.a
LIB_SONAME := libp2ptcp.so.$(SOVERSION)
LIB_SO := $(BUILD)/libp2ptcp.so.$(VERSION)
LIB_MAP := core/libp2ptcp.map

# --- programs -----------------------------------------------------------------
CLI_SRC := $(sort $(wildcard cli/*.c))
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
RDV_SRC := $(sort $(wildcard rendezvous/*.c))
RDV_OBJ := $(RDV_SRC:%.c=$(BUILD)/%.o)
# rendezvousd alone talks to Redis (--redis): hiredis is not libp2ptcp's
RDV_PKGS := hiredis
RDV_PKG_LIBS = $(shell pkg-config --libs $(RDV_PKGS) 2>/dev/null)
$(RDV_OBJ): PKG_CFLAGS += $(shell pkg-config --cflags $(RDV_PKGS) 2>/dev/null)
PROGRAMS := $(if $(CLI_SRC),$(BUILD)/p2ptcp) $(if $(RDV_SRC),$(BUILD)/rendezvousd)
EXAMPLE_SRC := $(sort $(wildcard examples/*.c))
EXAMPLE_BIN := $(EXAMPLE_SRC:%.c=$(BUILD)/%)

# --- tests --------------------------------------------------------------------
TESTLIB_SRC := $(sort $(wildcard tests/lib/*.c))
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c) $(wildcard tests/engine/test_*.c) $(wildcard tests/sim/test_*.c))
UNIT_BIN := $(UNIT_SRC:%.c=$(BUILD)/%)
DRIVER_TEST_SRC := $(sort $(wildcard tests/drivers/test_*.c))
DRIVER_TEST_BIN := $(DRIVER_TEST_SRC:%.c=$(BUILD)/%)
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
# code the test tools share (not linked into the unit tests)
TOOLLIB_SRC := $(sort $(wildcard tests/tools/lib/*.c))
TOOLLIB_OBJ := $(TOOLLIB_SRC:%.c=$(BUILD)/%.o)
TOOL_BIN := $(TOOL_SRC:%.c=$(BUILD)/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)

all: $(ENGINE_LIB) $(LIB_A) $(LIB_SO) $(PROGRAMS) $(EXAMPLE_BIN)

# Objects are rebuilt when the compiler or its flags change (-fPIC for the
# shared library, say): the stamp holds them, rewritten only when they differ.
FLAGS_STAMP := $(BUILD)/.cflags
FLAGS_NOW := $(CC) $(BASE_CFLAGS) $(CFLAGS)
$(shell mkdir -p $(BUILD) && (echo '$(FLAGS_NOW)' | cmp -s - $(FLAGS_STAMP) || echo '$(FLAGS_NOW)' >$(FLAGS_STAMP)))

$(BUILD)/core/engine/%.o: core/engine/%.c $(FLAGS_STAMP)
	$(quiet) CC $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_CFLAGS) $(CFLAGS) -c -o $@ $<

# drivers, programs and tests: Linux APIs, the libraries' flags
COMPILE = $(CC) $(BASE_CFLAGS) -D_GNU_SOURCE $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	$(quiet) CC $@
	@mkdir -p $(@D)
	$(Q)$(COMPILE)

# a static pattern: the tools' pattern below must not take these
$(TOOLLIB_OBJ): $(BUILD)/%.o: %.c $(FLAGS_STAMP)
	$(quiet) CC $@
	@mkdir -p $(@D)
	$(Q)$(COMPILE)

$(ENGINE_LIB): $(ENGINE_OBJ)
	$(quiet) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB_A): $(ENGINE_OBJ) $(DRIVER_OBJ)
	$(quiet) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

# Exports only the public API (the version script); the programs link the
# static library, which also has the internals they use.
$(LIB_SO): $(ENGINE_OBJ) $(DRIVER_OBJ) $(LIB_MAP)
	$(quiet) LD $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(LIB_SONAME) -Wl,--version-script=$(LIB_MAP) \
		-Wl,--no-undefined -o $@ $(ENGINE_OBJ) $(DRIVER_OBJ) $(PKG_LIBS)
	$(Q)ln -sf $(notdir $@) $(BUILD)/$(LIB_SONAME) && ln -sf $(LIB_SONAME) $(BUILD)/libp2ptcp.so

$(BUILD)/p2ptcp: $(CLI_OBJ) $(LIB_A)
	$(quiet) LD $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/rendezvousd: $(RDV_OBJ) $(LIB_A)
	$(quiet) LD $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(RDV_PKG_LIBS)

# The examples see only the public header, as an outside program would.
$(BUILD)/examples/%: examples/%.c include/p2ptcp/p2ptcp.h $(LIB_A)
	$(quiet) CC $@
	@mkdir -p $(@D)
	$(Q)$(CC) -std=c11 $(WARN) -D_GNU_SOURCE -Iinclude $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_A) $(PKG_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TESTLIB_OBJ) $(ENGINE_LIB)
	$(quiet) LD $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

$(BUILD)/tests/drivers/%: $(BUILD)/tests/drivers/%.o $(TESTLIB_OBJ) $(LIB_A)
	$(quiet) LD $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(TOOLLIB_OBJ) $(LIB_A)
	$(quiet) LD $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The lab's delay helper (tests/tools/nfqdelay.c) also needs libnetfilter_queue.
NFQ_LIBS = $(shell pkg-config --libs libnetfilter_queue 2>/dev/null || echo -lnetfilter_queue -lnfnetlink)

$(BUILD)/tests/tools/nfqdelay: $(BUILD)/tests/tools/nfqdelay.o
	$(quiet) LD $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(NFQ_LIBS)

# The engine must stay sans-IO: its objects may call nothing but these
# libc functions (no sockets, clocks, stdio, malloc or random sources).
SANS_IO_ALLOWED := memcpy memmove memset memcmp bcmp __stack_chk_fail

check-sans-io: $(ENGINE_OBJ)
	$(quiet) CHECK sans-io
	$(Q)CC="$(CC)" tests/check-sans-io.sh "$(SANS_IO_ALLOWED)" $(ENGINE_OBJ) $(filter $(BUILD)/core/proto/%,$(DRIVER_OBJ))

test-build: all $(UNIT_BIN) $(DRIVER_TEST_BIN) $(TOOL_BIN)

# Installs missing Debian packages (as root; see tests/setup-deps.sh).
deps:
	$(Q)tests/setup-deps.sh

test: test-build
	$(Q)BUILD=$(BUILD) SANS_IO_ALLOWED="$(SANS_IO_ALLOWED)" tests/run.sh

# --- fuzzing (clang + libFuzzer) ---------------------------------------------
FUZZ_FLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Icore/engine -Icore/proto -Itests/lib

$(FUZZ_BUILD)/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(ENGINE_SRC) $(wildcard core/proto/*.c) $(TESTLIB_SRC)
	$(quiet) FUZZCC $@
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(ENGINE_SRC) $(wildcard core/proto/*.c) $(TESTLIB_SRC)

# Fuzzers of a driver get their own rule (it overrides the pattern above):
# the secure channel also needs core/secure/channel.c and libsodium.
FUZZ_CHANNEL_SRC := core/secure/channel.c
FUZZ_SODIUM = $(shell pkg-config --cflags --libs libsodium 2>/dev/null || echo -lsodium)

$(FUZZ_BUILD)/fuzz_channel: tests/fuzz/fuzz_channel.c $(FUZZ_CHANNEL_SRC) core/secure/channel.h $(ENGINE_SRC) $(TESTLIB_SRC)
	$(quiet) FUZZCC $@
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -Icore/secure -o $@ $< $(FUZZ_CHANNEL_SRC) $(ENGINE_SRC) $(TESTLIB_SRC) $(FUZZ_SODIUM)

# The messages between rendezvousd instances: rendezvous/clustermsg.c.
$(FUZZ_BUILD)/fuzz_clustermsg: tests/fuzz/fuzz_clustermsg.c rendezvous/clustermsg.c rendezvous/clustermsg.h $(ENGINE_SRC) $(wildcard core/proto/*.c) $(TESTLIB_SRC)
	$(quiet) FUZZCC $@
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -Irendezvous -o $@ $< rendezvous/clustermsg.c $(ENGINE_SRC) $(wildcard core/proto/*.c) $(TESTLIB_SRC)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_BIN)

bench: all $(TOOL_BIN)
	$(Q)BUILD=$(BUILD) tests/bench/run.sh

demo: all $(TOOL_BIN)
	$(Q)BUILD=$(BUILD) tests/netns/demo.sh

# --- install -----------------------------------------------------------------
MAN1 := $(wildcard docs/man/*.1)
MAN8 := $(wildcard docs/man/*.8)

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/p2ptcp $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIB_SO)) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libp2ptcp.so
	install -m 0644 include/p2ptcp/p2ptcp.h include/p2ptcp/version.h $(DESTDIR)$(INCLUDEDIR)/p2ptcp/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' p2ptcp.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/p2ptcp.pc
	install -d $(DESTDIR)$(BINDIR)
	$(if $(filter %/p2ptcp,$(PROGRAMS)),install -m 0755 $(BUILD)/p2ptcp $(DESTDIR)$(BINDIR)/p2ptcp)
	$(if $(filter %/rendezvousd,$(PROGRAMS)),install -d $(DESTDIR)$(SBINDIR) && install -m 0755 $(BUILD)/rendezvousd $(DESTDIR)$(SBINDIR)/rendezvousd)
	$(if $(MAN1),install -d $(DESTDIR)$(MANDIR)/man1 && install -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/)
	$(if $(MAN8),install -d $(DESTDIR)$(MANDIR)/man8 && install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/)
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	# The units name the programs where this install puts them.
	for u in $(wildcard rendezvous/*.service cli/*.service); do \
		sed -e 's|/usr/local/sbin/|$(SBINDIR)/|g' -e 's|/usr/local/bin/|$(BINDIR)/|g' "$$u" \
			>"$(DESTDIR)$(SYSTEMDUNITDIR)/$$(basename "$$u")" && \
		chmod 0644 "$(DESTDIR)$(SYSTEMDUNITDIR)/$$(basename "$$u")" || exit 1; \
	done

clean:
	rm -rf build

# Keep object files of test programs (otherwise make deletes them as intermediates).
.SECONDARY:

.PHONY: all deps test test-build check-sans-io fuzz fuzz-build bench demo install clean

-include $(shell find build -name '*.d' 2>/dev/null)
