# xlb — one entry point: make [all|test|demo|bench|deps|clean]
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
#               config check)
#   bench only: the kube-proxy baselines (iptables and nftables above),
#               the generator's offload settings (ethtool) and the
#               connection benchmark's server and client (nginx-light, wrk)
DEB_PKGS := make gcc libc6-dev clang libbpf-dev libxdp-dev libelf-dev \
	    zlib1g-dev bpftool libcjson-dev libyaml-dev libcurl4-openssl-dev \
	    libmicrohttpd-dev libssl-dev \
	    iproute2 procps python3 python3-yaml python3-prometheus-client openssl curl ca-certificates \
	    iptables nftables bird2
BENCH_PKGS := ethtool nginx-light wrk
DEPS_STAMP := $(BUILD)/.deps-ok

BPF_OBJ  := $(BUILD)/xlb.bpf.o
SKEL     := $(BUILD)/xlb.skel.h
LIB_SRCS := $(filter-out user/main_%.c,$(shell find user -name '*.c' | sort))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libxlb.a

XTEST_OBJ := $(BUILD)/selftests/xtest.o
TEST_SRCS := $(wildcard selftests/unit/test_*.c selftests/bpf/test_*.c)
TEST_BINS := $(patsubst selftests/%.c,$(BUILD)/selftests/%,$(TEST_SRCS))
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_BINS := $(patsubst tools/%.c,$(BUILD)/%,$(TOOL_SRCS))
E2E_BPF_OBJS := $(patsubst selftests/e2e/%.bpf.c,$(BUILD)/selftests/e2e/%.bpf.o,$(wildcard selftests/e2e/*.bpf.c))
MAIN_SRCS := $(wildcard user/main_*.c)
MAIN_BINS := $(patsubst user/main_%.c,$(BUILD)/%,$(MAIN_SRCS))

.PHONY: all deps test demo bench clean
all: $(DEPS_STAMP) $(SKEL) $(LIB) $(MAIN_BINS) $(TOOL_BINS) $(TEST_BINS) $(E2E_BPF_OBJS)

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

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

PKT_OBJ := $(BUILD)/selftests/bpf/pkt.o
$(BUILD)/selftests/bpf/%: $(BUILD)/selftests/bpf/%.o $(PKT_OBJ) $(XTEST_OBJ) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/selftests/%: $(BUILD)/selftests/%.o $(XTEST_OBJ) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/%: $(BUILD)/tools/%.o $(LIB)
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

bench: all $(BENCH_DEPS_STAMP)
	$(Q)bench/run.sh $(BUILD)

include bench/bench.mk

clean:
	$(Q)rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
