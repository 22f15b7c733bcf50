# nexodus-c: one flat Makefile for every program, library and test.
#
#   make            build every program into build/
#   make check      install what the tests need, build, run all tests
#   make asan       the same under ASan+UBSan (build/asan)
#   make fuzz       build the libFuzzer targets with clang and run each for FUZZ_SECONDS
#   make demo       install what the demo needs, build, run the demo
#   make bench      run the benchmarks under bench/
#   make install    install the programs, web UI and man pages under $(PREFIX)
#   make deb        the Debian packages into $(BUILD)/deb (from the committed tree)
#
# Quiet unless V=1.

PREFIX  ?= /usr/local
BUILD   ?= build
CC      ?= gcc
ifeq ($(origin CC),default)
CC      := gcc
endif

PKGS    := libsodium libcrypto libssl libb2 libmnl libnftables jansson libcurl libmicrohttpd gnutls sqlite3 libpq zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

OPT     ?= -O2 -g
CFLAGS  ?=
CFLAGS  += -std=gnu11 $(OPT) -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
           -Wformat=2 -Wno-format-nonliteral -fno-strict-aliasing -D_GNU_SOURCE \
           -Isrc -MMD -MP $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS += $(EXTRA_LDFLAGS)
LDLIBS  += $(PKG_LIBS) -lslirp -llwip -lpthread -lm
# The proxy's userspace stacks: libslirp's header needs nothing more (its
# pkg-config file wants glib's headers, which we do not use); lwIP's headers
# live in their own tree, given to src/proxy only and as system headers.
LWIP_CFLAGS := -isystem /usr/include/lwip

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Libraries: one folder each under src/. Programs: one folder each, whose
# main.c holds main(); their other files also form an archive so that unit
# tests can link a program's modules.
ALLDIRS  := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard src/*/*.c)))))
PROGRAMS := $(sort $(notdir $(patsubst %/main.c,%,$(wildcard src/*/main.c))))
# Libraries in link order: everything else, then wg, then common last.
LIBDIRS  := $(filter-out $(PROGRAMS) wg common,$(ALLDIRS)) wg common

define srcs_of
$(sort $(wildcard src/$(1)/*.c))
endef
define objs_of
$(patsubst src/%.c,$(BUILD)/obj/%.o,$(call srcs_of,$(1)))
endef

LIB_ARCHIVES := $(foreach l,$(LIBDIRS),$(BUILD)/lib$(l).a)
PROG_ARCHIVES := $(foreach p,$(PROGRAMS),$(BUILD)/lib$(p).a)
PROG_BINS := $(foreach p,$(PROGRAMS),$(BUILD)/$(p))

# Link order: program archives, then the libraries.
LINK_ARCHIVES = $(PROG_ARCHIVES) $(LIB_ARCHIVES)

UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
TOOL_SRCS  := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS  := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))
FUZZ_SRCS  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

.PHONY: all libs programs tests tools check asan asan-build fuzz fuzz-build fuzz-smoke demo bench install uninstall deb clean deps
.DEFAULT_GOAL := all

all: libs programs tools tests

libs: $(LIB_ARCHIVES)

programs: $(PROG_BINS)
tests: $(UNIT_BINS)
tools: $(TOOL_BINS)

$(BUILD)/obj/proxy/%.o: CFLAGS += $(LWIP_CFLAGS)
$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -Itests -c -o $@ $<

# lib<library>.a: every object of the folder.
$(foreach l,$(LIBDIRS),$(eval $(BUILD)/lib$(l).a: $(call objs_of,$(l))))

# lib<program>.a: every object of the program but main.o.
define prog_rules
$(BUILD)/lib$(1).a: $(filter-out %/main.o,$(call objs_of,$(1)))
$(BUILD)/$(1): $(BUILD)/obj/$(1)/main.o $(BUILD)/lib$(1).a $(LIB_ARCHIVES)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$< $(BUILD)/lib$(1).a $(LIB_ARCHIVES) $$(LDLIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call prog_rules,$(p))))

$(BUILD)/%.a:
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LINK_ARCHIVES)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LINK_ARCHIVES) $(LDLIBS) -lcmocka

$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(LINK_ARCHIVES)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LINK_ARCHIVES) $(LDLIBS)

# Fuzz targets: built by a nested make with clang and the sanitizers, so that
# every library object is instrumented too.
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(LINK_ARCHIVES)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LINK_ARCHIVES) $(LDLIBS)

fuzz-build:
	$(Q)$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang OPT="-O1 -g" \
	    EXTRA_CFLAGS="$(FUZZ_FLAGS)" EXTRA_LDFLAGS="-fsanitize=address,undefined" \
	    $(patsubst tests/fuzz/%.c,build/fuzz/fuzz/%,$(FUZZ_SRCS))

FUZZ_SECONDS ?= 60
fuzz: deps fuzz-build
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh build/fuzz/fuzz

asan-build:
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan CC=clang OPT="-O1 -g" \
	    EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" all

deps:
	$(Q)scripts/deps.sh

check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)BUILD=$(BUILD) FUZZ_BUILD=build/fuzz/fuzz tests/run.sh

asan: deps
	$(Q)$(MAKE) --no-print-directory asan-build
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)BUILD=build/asan FUZZ_BUILD=build/fuzz/fuzz ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) scripts/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)for b in bench/*.sh; do BUILD=$(BUILD) $$b || exit 1; done

install: programs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/nexodus/web
	install -m 0755 $(PROG_BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 src/nexapi/web/index.html src/nexapi/web/app.js src/nexapi/web/style.css \
	    $(DESTDIR)$(PREFIX)/share/nexodus/web/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 man/nexctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/nexd.8 man/nexapi.8 man/nexwg.8 $(DESTDIR)$(PREFIX)/share/man/man8/

# The Debian packages (nexodus-agent, nexodus-server) from the committed tree
# (git archive HEAD), into $(BUILD)/deb/.
deb:
	rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/src
	git archive HEAD | tar -x -C $(BUILD)/deb/src
	cd $(BUILD)/deb/src && dpkg-buildpackage -b -us -uc -j2 >../build.log 2>&1 || { tail -n 30 ../build.log; exit 1; }
	rm -rf $(BUILD)/deb/src
	ls $(BUILD)/deb/*.deb

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(PROG_BINS)))
	rm -f $(DESTDIR)$(PREFIX)/share/nexodus/web/index.html $(DESTDIR)$(PREFIX)/share/nexodus/web/app.js \
	    $(DESTDIR)$(PREFIX)/share/nexodus/web/style.css
	-rmdir $(DESTDIR)$(PREFIX)/share/nexodus/web $(DESTDIR)$(PREFIX)/share/nexodus 2>/dev/null
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/nexctl.1 $(DESTDIR)$(PREFIX)/share/man/man8/nexd.8 \
	    $(DESTDIR)$(PREFIX)/share/man/man8/nexapi.8 $(DESTDIR)$(PREFIX)/share/man/man8/nexwg.8

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
