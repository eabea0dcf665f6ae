# xlb — one entry point: make [all|test|check|format|demo|bench|deps|clean]
#
# Out-of-tree build in build/. Quiet by default; V=1 shows commands.
# Every target that compiles first runs `deps`, which installs the Debian
# packages that are missing (as root) and does nothing when all are there.

.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:
MAKEFLAGS += --no-builtin-rules

BUILD    ?= build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
# Where linux-libc-dev keeps asm/ (needed by the uapi headers under
# --target=bpf). Recursive on purpose: it is evaluated when a BPF object is
# compiled, after `deps` has installed gcc, not when make reads this file.
MULTIARCH = $(shell $(CC) -print-multiarch 2>/dev/null)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS   ?= -O2 -g
# Test builds only: XLB_DEFS=-DXLB_TEST_CT_LAYOUT gives struct xlb_ct
# another layout (the upgrade variant below).
XLB_DEFS ?=
XCFLAGS  := $(CFLAGS) $(XLB_DEFS) -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	    -Wno-missing-field-initializers -D_GNU_SOURCE \
	    -I. -Iinclude -Iuser -I$(BUILD) -MMD -MP
LDLIBS   := -lxdp -lbpf -lelf -lz -lyaml -lcjson -lcurl -lmicrohttpd -lcrypto -lm -lpthread
BPF_CFLAGS = $(XLB_DEFS) -O2 -g --target=bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	    -Iinclude -Ibpf -I/usr/include/$(MULTIARCH) -MD -MP
# BPF code reads kernel uapi and libbpf headers only: a libc header makes
# the object depend on headers a plain machine lacks (gnu/stubs-32.h). The
# -MD dependency list names every header read; any under /usr/include
# outside linux/, asm/, asm-generic/ and bpf/ fails the build.
BPF_COMPILE = $(CLANG) $(BPF_CFLAGS) -c $< -o $@ && \
	{ libc=$$(tr ' \\' '\n\n' < $(@:.o=.d) | grep -E '^/usr/include/[^:]*$$' | \
		grep -vE '^/usr/include/([^/]+-linux-gnu/)?(linux|asm|asm-generic|bpf)/' | sort -u); \
	  [ -z "$$libc" ] || { echo "$<: BPF code must not include libc headers:" $$libc >&2; rm -f $@; exit 1; }; }

# Debian 12 packages, by who needs them. A fresh machine needs only git and
# make before `make`; everything else comes from here (scripts/deps.sh, run
# as root, installs what is missing and does nothing when all is there).
#   build:      compilers, headers and libraries (libssl-dev: sha256 for
#               the L2 owner ranking)
#   test, demo: iproute2 (ip, tc, ss), procps (sysctl, ps), python3 (test
#               API server, clients), python3-yaml (manifest checks),
#               openssl + curl + ca-certificates (TLS to the test API server),
#               nftables (test_snat_load's flooding host drops its SYN-ACKs),
#               iptables (CNI-style masquerade rules beside xlb),
#               bird2 (test_bgp's routers and nodes, the BIRD sidecar's
#               config check), xdp-tools (xdp-loader: test_xdp_share's
#               other libxdp program beside xlb)
#   check:      clang-format (make format / check-format, .clang-format)
#   bench only: the kube-proxy baselines (iptables and nftables above),
#               the generator's offload settings (ethtool) and the
#               connection benchmark's server and client (nginx-light, wrk)
DEB_PKGS := make gcc libc6-dev clang libbpf-dev libxdp-dev libelf-dev \
	    zlib1g-dev bpftool libcjson-dev libyaml-dev libcurl4-openssl-dev \
	    libmicrohttpd-dev libssl-dev \
	    iproute2 procps python3 python3-yaml python3-prometheus-client openssl curl ca-certificates \
	    iptables nftables bird2 clang-format xdp-tools
BENCH_PKGS := ethtool nginx-light wrk
DEPS_STAMP := $(BUILD)/.deps-ok

BPF_OBJ  := $(BUILD)/xlb.bpf.o
SKEL     := $(BUILD)/xlb.skel.h
# xlb's XDP entry (tail-calls xlb_xdp; what libxdp's dispatcher holds)
ENTRY_SKEL := $(BUILD)/xlb_entry.skel.h
# Every .c under user/ (any depth) but the mains, and lib/.
rwildcard = $(foreach d,$(wildcard $(1:=/*)),$(call rwildcard,$d,$2) $(filter $(subst *,%,$2),$d))
LIB_SRCS := $(filter-out user/main_%.c,$(call rwildcard,user,*.c)) $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libxlb.a

XTEST_OBJ := $(BUILD)/selftests/lib/xtest.o
TEST_SRCS := $(wildcard selftests/unit/test_*.c selftests/bpf/test_*.c)
TEST_BINS := $(patsubst selftests/%.c,$(BUILD)/selftests/%,$(TEST_SRCS))
# xlbctl: one binary from every file of tools/xlbctl/.
XLBCTL_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/xlbctl/*.c))
TOOL_BINS := $(BUILD)/xlbctl
E2E_BPF_OBJS := $(patsubst selftests/e2e/%.bpf.c,$(BUILD)/selftests/e2e/%.bpf.o,$(wildcard selftests/e2e/*.bpf.c))
MAIN_SRCS := $(wildcard user/main_*.c)
MAIN_BINS := $(patsubst user/main_%.c,$(BUILD)/%,$(MAIN_SRCS))

.PHONY: all deps test demo bench clean
all: $(DEPS_STAMP) $(SKEL) $(ENTRY_SKEL) $(LIB) $(MAIN_BINS) $(TOOL_BINS) $(TEST_BINS) $(E2E_BPF_OBJS)

deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	$(Q)scripts/deps.sh $(DEB_PKGS)
	$(Q)mkdir -p $(@D) && touch $@

BENCH_DEPS_STAMP := $(BUILD)/.deps-bench-ok
$(BENCH_DEPS_STAMP): Makefile
	$(Q)scripts/deps.sh $(BENCH_PKGS)
	$(Q)mkdir -p $(@D) && touch $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPF_COMPILE)

# BPF helpers of the end-to-end tests, compiled like the product's.
$(BUILD)/selftests/e2e/%.bpf.o: selftests/e2e/%.bpf.c | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPF_COMPILE)

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/%.o: %.c $(SKEL) | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(XCFLAGS) -c $< -o $@

# Pin names of this build's map layouts, for lib/maps.c: readers of the
# pins then need no BPF skeleton (lib/gen/xlb_pins.c says how).
PINS_GEN := $(BUILD)/lib/gen/xlb_pins
$(PINS_GEN): $(BUILD)/lib/gen/xlb_pins.o $(BUILD)/user/maplayout.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) $^ -lbpf -lelf -lz -o $@
$(BUILD)/xlb_pins.h: $(PINS_GEN)
	$(call msg,GEN,$@)
	$(Q)$(PINS_GEN) > $@
$(BUILD)/lib/maps.o: $(BUILD)/xlb_pins.h
$(BUILD)/user/attach.o: $(ENTRY_SKEL)

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

PKT_OBJ := $(BUILD)/selftests/lib/pkt.o
$(BUILD)/selftests/bpf/%: $(BUILD)/selftests/bpf/%.o $(PKT_OBJ) $(XTEST_OBJ) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/selftests/%: $(BUILD)/selftests/%.o $(XTEST_OBJ) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/xlbctl: $(XLBCTL_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/%: $(BUILD)/user/main_%.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) $^ $(LDLIBS) -o $@

# The same tree built with another conntrack layout, in its own build dir:
# test_restart_load.sh upgrades to it and back under load.
UPGRADE_BUILD := $(BUILD)/ct-layout
.PHONY: upgrade-variant
upgrade-variant: all
	$(Q)$(MAKE) --no-print-directory BUILD=$(UPGRADE_BUILD) \
		XLB_DEFS=-DXLB_TEST_CT_LAYOUT $(UPGRADE_BUILD)/xlb-agent $(UPGRADE_BUILD)/xlbctl

test: all upgrade-variant
	$(Q)selftests/run.sh $(BUILD)

demo: all
	$(Q)scripts/demo.sh $(BUILD)

# Static checks of the tree; each check adds itself as a prerequisite.
.PHONY: check format check-format
check: check-format

# The C sources in kernel style (.clang-format). Found when the target
# runs, so files added or moved later are covered too.
FORMAT_SRCS = $(shell find bpf include user lib tools selftests bench \
		-name '*.[ch]' 2>/dev/null | sort)
format: | $(DEPS_STAMP)
	$(Q)clang-format -i $(FORMAT_SRCS)

check-format: | $(DEPS_STAMP)
	$(Q)clang-format --dry-run -Werror $(FORMAT_SRCS)

# One map writer: only user/sync/write.c writes maps (the script says what
# counts as a write and the bounded exceptions).
.PHONY: check-writers
check: check-writers
check-writers:
	$(Q)scripts/check-writers.sh

bench: all $(BENCH_DEPS_STAMP)
	$(Q)bench/run.sh $(BUILD)

include bench/bench.mk

clean:
	$(Q)rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
