# hostlat: build, run, test.  `make help` lists the targets.
.DELETE_ON_ERROR:
.SUFFIXES:

VERSION    := 0.1.0
BUILD      ?= build
CC         ?= gcc
CLANG      ?= clang
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/')
CONFIG     ?= config/hostlat.yaml

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN      := -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers
CFLAGS    ?= -O2 -g
BASEFLAGS := -std=c11 -D_GNU_SOURCE -DHOSTLAT_VERSION='"$(VERSION)"' $(WARN) -I$(BUILD) -Iagent/core -Iagent/lib -Iagent/probes -Iagent/cmd -Ibpf -Iexporters
LDLIBS    := -lbpf -lelf -lz -lyaml -lcjson -lcurl -lssl -lcrypto -lm -ldl -lpthread
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
# Kept: as intermediates make would delete them and rebuild everything next time.
.SECONDARY: $(BPF_OBJS) $(SKELS)

# Everything but the programs' main files goes into one library.
AGENT_DIRS := agent/core agent/lib agent/probes agent/cmd
LIB_SRCS  := $(filter-out agent/core/main.c agent/cmd/exphist.c,$(wildcard $(addsuffix /*.c,$(AGENT_DIRS)))) $(wildcard exporters/*.c)
AGENT_HDRS = $(wildcard $(addsuffix /*.h,$(AGENT_DIRS)))
LIB_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS)) $(BUILD)/obj/default_config.o
ASAN_OBJS := $(patsubst %.c,$(BUILD)/asan/%.o,$(LIB_SRCS)) $(BUILD)/asan/default_config.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps run test test-under-load test-kernels test-deps unit clean format format-check help readme
all: $(BUILD)/hostlat $(BUILD)/exphist

help:
	@echo "make            build $(BUILD)/hostlat and $(BUILD)/exphist"
	@echo "make deps       install missing Debian build dependencies (root)"
	@echo "make run        build and run the agent on $(CONFIG) (root)"
	@echo "make test       install test dependencies, build, run every test (root)"
	@echo "make test-under-load  the whole suite RUNS=3 times with every CPU kept busy (root)"
	@echo "make test-kernels  only the kernel matrix: host, Debian 6.1 and 6.12 under QEMU (root)"
	@echo "make bench      run the benchmarks in bench/ (root; see bench/README.md); BENCH=NAME: one"
	@echo "make fuzz       run every libFuzzer target for FUZZ_TIME seconds (tests/fuzz/README.md)"
	@echo "make format     clang-format the C sources in place"
	@echo "make readme     regenerate the config reference and the kernel table in README.md"
	@echo "make install    install the agent, plugin, config and systemd unit (PREFIX=$(PREFIX), DESTDIR=)"
	@echo "make container-test  build the image with podman and run it as the DaemonSet does (root)"
	@echo "make clean      remove $(BUILD)/"
	@echo "V=1             show full commands"

deps:
	$(Q)tools/deps.sh build

test-deps:
	$(Q)tools/deps.sh test

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(BUILD)/hostlat --config $(CONFIG)

test: deps test-deps
	$(Q)$(MAKE) --no-print-directory all asan unit fuzzers
	$(Q)tests/run.sh

# The suite RUNS times (default 3) with a busy loop pinned on every CPU
# (tests/under-load.sh): proof that no test depends on an idle machine.
RUNS ?= 3
test-under-load: deps test-deps
	$(Q)$(MAKE) --no-print-directory all asan unit fuzzers
	$(Q)tests/under-load.sh $(RUNS)

# The kernel matrix alone (tests/kernels/): the host's kernel and Debian's
# 6.1 and 6.12, fetched from Debian's archive and booted under QEMU.
test-kernels: deps test-deps
	$(Q)$(MAKE) --no-print-directory all asan
	$(Q)tests/run.sh kernel-

# Benchmarks (root): every executable bench/*.sh (lib.sh is sourced by the
# others), in order; see bench/README.md. BENCH=NAME runs only bench/NAME.sh.
.PHONY: bench bench-tools
bench: deps
	$(Q)tools/deps.sh bench
	$(Q)$(MAKE) --no-print-directory all bench-tools
	$(Q)set -e; for b in $(if $(BENCH),bench/$(BENCH).sh,bench/*.sh); do [ -x $$b ] || continue; echo "== $$b"; BUILD=$(BUILD) $$b; done

# What the benches run besides the agent: empty programs on hostlat's hooks
# (floor), the group-by scale driver (scale, linked with the agent's code),
# a duration program rebuilt part by part (parts).
bench-tools: $(BUILD)/bench/floor $(BUILD)/bench/floor.bpf.o $(BUILD)/bench/scale $(BUILD)/bench/parts

$(BUILD)/bench/parts.bpf.o: bench/parts.bpf.c $(BUILD)/vmlinux.h $(wildcard bpf/*.h)
	$(Q)mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I$(BUILD) -Ibpf -c $< -o $@
	$(Q)llvm-strip -g $@ 2>/dev/null || true

$(BUILD)/bench/parts.skel.h: $(BUILD)/bench/parts.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name parts_bpf > $@

$(BUILD)/bench/parts: bench/parts.c $(BUILD)/bench/parts.skel.h $(LIB_OBJS)
	$(Q)mkdir -p $(@D)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(BASEFLAGS) $(CFLAGS) $< $(LIB_OBJS) -o $@ $(LDLIBS)

$(BUILD)/bench/scale: bench/scale.c $(LIB_OBJS)
	$(Q)mkdir -p $(@D)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(BASEFLAGS) $(CFLAGS) $< $(LIB_OBJS) -o $@ $(LDLIBS)

$(BUILD)/bench/floor.bpf.o: bench/floor.bpf.c $(BUILD)/vmlinux.h
	$(Q)mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I$(BUILD) -c $< -o $@

$(BUILD)/bench/floor: bench/floor.c
	$(Q)mkdir -p $(@D)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(BASEFLAGS) $(CFLAGS) $< -o $@ -lbpf -lelf -lz

# libFuzzer targets (tests/fuzz/fuzz_*.c, see tests/fuzz/README.md), built
# with clang against the agent's code; `make fuzz` runs each for FUZZ_TIME
# seconds from its corpus (tests/fuzz/corpus/NAME/), new inputs go to
# $(BUILD)/fuzz/corpus/NAME, crashes to $(BUILD)/fuzz/crash-NAME-*.
FUZZ_TIME ?= 60
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS)) $(BUILD)/fuzz/obj/default_config.o
FUZZFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

.PHONY: fuzz fuzzers
.SECONDARY: $(FUZZ_OBJS)
fuzzers: $(FUZZERS)

fuzz: $(FUZZERS)
	$(Q)set -e; for f in $(FUZZERS); do n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus/$$n; \
		echo "== $$n: $(FUZZ_TIME) s"; \
		$$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/crash-$$n- \
			$$( [ -f tests/fuzz/$$n.dict ] && echo -dict=tests/fuzz/$$n.dict ) \
			$(BUILD)/fuzz/corpus/$$n tests/fuzz/corpus/$$n; done

$(BUILD)/fuzz/obj/%.o: %.c $(SKELS) $(AGENT_HDRS) $(wildcard bpf/*.h exporters/*.h)
	$(Q)mkdir -p $(@D)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(BASEFLAGS) $(FUZZFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/obj/default_config.o: $(BUILD)/default_config.c
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BASEFLAGS) $(FUZZFLAGS) -c $< -o $@

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS)
	$(Q)mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(BASEFLAGS) $(FUZZFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJS) -o $@ $(LDLIBS)


# ---- BPF -------------------------------------------------------------------
$(BUILD)/vmlinux.h:
	$(Q)mkdir -p $(@D)
	$(Q)test -r /sys/kernel/btf/vmlinux || { echo "error: /sys/kernel/btf/vmlinux is missing: hostlat needs a kernel built with CONFIG_DEBUG_INFO_BTF=y to build and to run" >&2; exit 1; }
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h $(wildcard bpf/*.h)
	$(Q)mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf $(BPF_CPU) -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I$(BUILD) -Ibpf -c $< -o $@
	$(Q)llvm-strip -g $@ 2>/dev/null || true

# The XDP responder's token bucket needs compare-and-swap (BPF ISA v3, Linux 5.12+).
$(BUILD)/bpf/xdp_responder.bpf.o: BPF_CPU := -mcpu=v3

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# ---- user space --------------------------------------------------------------
$(BUILD)/default_config.c: $(CONFIG) tools/embed.sh
	$(Q)mkdir -p $(@D)
	$(Q)tools/embed.sh hl_default_config $< > $@

$(BUILD)/obj/default_config.o: $(BUILD)/default_config.c
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(BASEFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/asan/default_config.o: $(BUILD)/default_config.c
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(BASEFLAGS) $(CFLAGS) $(SANFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.c $(SKELS) $(AGENT_HDRS) $(wildcard bpf/*.h exporters/*.h)
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASEFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/asan/%.o: %.c $(SKELS) $(AGENT_HDRS) $(wildcard bpf/*.h exporters/*.h)
	$(Q)mkdir -p $(@D)
	$(call msg,CC-ASAN,$@)
	$(Q)$(CC) $(BASEFLAGS) $(CFLAGS) $(SANFLAGS) -c $< -o $@

$(BUILD)/hostlat: $(BUILD)/obj/agent/core/main.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -rdynamic $^ -o $@ $(LDLIBS)

$(BUILD)/exphist: $(BUILD)/obj/agent/cmd/exphist.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# Sanitizer builds used by the tests.
.PHONY: asan
asan: $(BUILD)/asan/hostlat $(BUILD)/asan/exphist

$(BUILD)/asan/hostlat: $(BUILD)/asan/agent/core/main.o $(ASAN_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -rdynamic $^ -o $@ $(LDLIBS)

$(BUILD)/asan/exphist: $(BUILD)/asan/agent/cmd/exphist.o $(ASAN_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $^ -o $@ $(LDLIBS)

unit: $(UNIT_BINS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(ASAN_OBJS)
	$(Q)mkdir -p $(@D)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(BASEFLAGS) $(CFLAGS) $(SANFLAGS) -Itests/unit $< $(ASAN_OBJS) -o $@ $(LDLIBS)

# ---- housekeeping --------------------------------------------------------------
C_SOURCES = $(wildcard $(addsuffix /*.[ch],$(AGENT_DIRS)) exporters/*.[ch] bpf/*.[ch] tests/unit/*.[ch])

format:
	$(Q)clang-format -i $(C_SOURCES)

readme: $(BUILD)/hostlat
	$(Q)tools/readme-reference.sh $(BUILD)/hostlat
	$(Q)BUILD=$(BUILD) tools/readme-kernels.sh

format-check:
	$(Q)clang-format --dry-run --Werror $(C_SOURCES)

clean:
	$(Q)rm -rf $(BUILD)

# ---- plugins ------------------------------------------------------------------
# Exporter modules (`type: plugin`, docs/plugins.md): each is built from its
# own sources and exporters/hostlat_exporter.h only, never from agent code.
PLUGIN_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Iexporters -fPIC -fvisibility=hidden
PLUGINS       := $(BUILD)/plugins/hostlat_csv.so
TEST_PLUGINS  := $(BUILD)/tests/bad_abi.so $(BUILD)/tests/no_symbol.so $(BUILD)/tests/block.so

all: $(PLUGINS)
unit: $(PLUGINS) $(TEST_PLUGINS)

$(BUILD)/plugins/hostlat_csv.so: exporters/plugins/csv.c exporters/hostlat_exporter.h
	$(Q)mkdir -p $(@D)
	$(call msg,PLUGIN,$@)
	$(Q)$(CC) $(PLUGIN_CFLAGS) $(CFLAGS) -shared $< -o $@ -lm

$(TEST_PLUGINS): $(BUILD)/tests/%.so: tests/plugins/%.c exporters/hostlat_exporter.h
	$(Q)mkdir -p $(@D)
	$(call msg,PLUGIN,$@)
	$(Q)$(CC) $(PLUGIN_CFLAGS) $(CFLAGS) -shared $< -o $@

C_SOURCES += $(wildcard exporters/plugins/*.c tests/plugins/*.c)
# ---- end plugins ----------------------------------------------------------------

C_SOURCES += $(wildcard bench/*.c tests/fuzz/*.c)

# ---- install and deployment ------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=...]: the agent, the example
# plugin, the default config (an existing one is kept) and the systemd unit
# docker/hostlat.service with the paths of this PREFIX. docker/ has the
# container image and the Kubernetes manifests (README.md, Deployment).
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR    ?= $(LIBDIR)/systemd/system

.PHONY: install uninstall container-test
install: all
	$(call msg,INSTALL,$(DESTDIR)$(BINDIR)/hostlat)
	$(Q)install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/hostlat \
		$(DESTDIR)$(SYSCONFDIR)/hostlat $(DESTDIR)$(UNITDIR)
	$(Q)install -m 0755 $(BUILD)/hostlat $(DESTDIR)$(BINDIR)/hostlat
	$(Q)install -m 0644 $(BUILD)/plugins/hostlat_csv.so $(DESTDIR)$(LIBDIR)/hostlat/hostlat_csv.so
	$(Q)if [ -e $(DESTDIR)$(SYSCONFDIR)/hostlat/hostlat.yaml ]; then \
		echo "  keeping $(DESTDIR)$(SYSCONFDIR)/hostlat/hostlat.yaml"; \
	else install -m 0644 $(CONFIG) $(DESTDIR)$(SYSCONFDIR)/hostlat/hostlat.yaml; fi
	$(Q)sed -e 's|/usr/local/bin/hostlat|$(BINDIR)/hostlat|g' \
		-e 's|/usr/local/etc/hostlat/|$(SYSCONFDIR)/hostlat/|g' docker/hostlat.service \
		>$(DESTDIR)$(UNITDIR)/hostlat.service.tmp
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/hostlat.service.tmp
	$(Q)mv $(DESTDIR)$(UNITDIR)/hostlat.service.tmp $(DESTDIR)$(UNITDIR)/hostlat.service

uninstall:
	$(Q)rm -f $(DESTDIR)$(BINDIR)/hostlat $(DESTDIR)$(LIBDIR)/hostlat/hostlat_csv.so \
		$(DESTDIR)$(UNITDIR)/hostlat.service
	$(Q)rmdir $(DESTDIR)$(LIBDIR)/hostlat 2>/dev/null || true
	@echo "  kept $(DESTDIR)$(SYSCONFDIR)/hostlat/hostlat.yaml and /var/lib/hostlat"

# The image built with podman and run as docker/daemonset.yaml says (also
# part of `make test` when podman is usable).
container-test: test-deps
	$(Q)BUILD=$(BUILD) tests/run.sh 95-container
