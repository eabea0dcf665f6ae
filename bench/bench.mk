# Benchmark binaries and BPF objects (included from the top Makefile).
# `make bench` builds these, then runs bench/run.sh.

BENCH_BPF_SRCS := $(wildcard bench/*.bpf.c)
BENCH_BPF_OBJS := $(BENCH_BPF_SRCS:bench/%.bpf.c=$(BUILD)/bench/%.bpf.o)
BENCH_C_SRCS   := $(filter-out %.bpf.c,$(wildcard bench/*.c))
BENCH_BINS     := $(BENCH_C_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: bench-bins
bench-bins: $(BENCH_BPF_OBJS) $(BENCH_BINS)
bench: bench-bins

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPF_COMPILE)

# pktbench reuses the packet builder of the BPF packet tests.
$(BUILD)/bench/pktbench: $(BUILD)/bench/pktbench.o $(PKT_OBJ) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) $^ $(LDLIBS) -o $@
