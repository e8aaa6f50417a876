# lbd — build, test, benchmark.  `make demo` and `make test` are the README's quick start.
ARCH        := $(shell uname -m)
CLANG       ?= clang
SWIFT       ?= swift
SWIFT_FLAGS ?=
BPF_CFLAGS  := -O2 -g -target bpf -Wall -Wextra -Werror -I/usr/include/$(ARCH)-linux-gnu -Ibpf
BPF_HEADERS := $(wildcard bpf/*.h bpf/lib/*.h)
BPF_PROGS   := balancer decap bench
BPF_OBJS    := $(BPF_PROGS:%=bpf/build/%.bpf.o)
EMBEDDED    := Sources/CBPFObjects/objects.c

# Debian packages the build and the tests need; installed when missing.
DEB_PACKAGES := clang libbpf-dev libelf-dev zlib1g-dev bpftool iproute2 pkg-config ethtool curl systemd python3

PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR    ?= /etc/systemd/system
DESTDIR    ?=

.PHONY: all deps bpf swift test demo install bench-maglev bench-datapath bench-control bench-health clean

all: swift

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  if [ "$$p" = clang ]; then command -v $(CLANG) >/dev/null && continue; fi; \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

bpf: $(BPF_OBJS)

bpf/build/%.bpf.o: bpf/%.bpf.c $(BPF_HEADERS) | deps
	@mkdir -p bpf/build
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(EMBEDDED): $(BPF_OBJS) scripts/embed-objects.sh
	scripts/embed-objects.sh $@ $(foreach p,$(BPF_PROGS),$(p)=bpf/build/$(p).bpf.o)

swift: $(EMBEDDED) | deps
	$(SWIFT) build $(SWIFT_FLAGS)

# The suites are XCTest; without swift-testing the run closes on XCTest's own totals.
test: $(EMBEDDED) | deps
	$(SWIFT) build --build-tests $(SWIFT_FLAGS)
	$(SWIFT) test --skip-build --disable-swift-testing $(SWIFT_FLAGS)

demo: $(EMBEDDED) | deps
	$(SWIFT) build -c release $(SWIFT_FLAGS) --product lbd-demo
	@$$($(SWIFT) build -c release $(SWIFT_FLAGS) --show-bin-path)/lbd-demo

bench-maglev: $(EMBEDDED) | deps
	$(SWIFT) run -c release $(SWIFT_FLAGS) maglev-bench

# Pinned to one CPU: test-run measures on the CPU it runs on, and migrations add noise.
bench-datapath: $(EMBEDDED) | deps
	$(SWIFT) build -c release $(SWIFT_FLAGS) --product datapath-bench
	@taskset -c $$(($$(nproc) - 1)) $$($(SWIFT) build -c release $(SWIFT_FLAGS) --show-bin-path)/datapath-bench

# The real lbd in its own network namespace (root): edit and apply latencies, RSS.
bench-control: $(EMBEDDED) | deps
	$(SWIFT) build -c release $(SWIFT_FLAGS) --product lbd
	$(SWIFT) build -c release $(SWIFT_FLAGS) --product control-bench
	@$$($(SWIFT) build -c release $(SWIFT_FLAGS) --show-bin-path)/control-bench

# The real lbd checking HTTP backends in a namespace (root): failover times, and CPU and
# memory with 2,000 backends checked every second for 5 minutes.
bench-health: $(EMBEDDED) | deps
	$(SWIFT) build -c release $(SWIFT_FLAGS) --product lbd
	$(SWIFT) build -c release $(SWIFT_FLAGS) --product health-bench
	@$$($(SWIFT) build -c release $(SWIFT_FLAGS) --show-bin-path)/health-bench

# lbd, lbctl, the unit (pointing at PREFIX), shell completions, and the example
# configuration — which never overwrites one the operator already has.
install: $(EMBEDDED) | deps
	$(SWIFT) build -c release $(SWIFT_FLAGS) --product lbd
	$(SWIFT) build -c release $(SWIFT_FLAGS) --product lbctl
	@set -e; bin=$$($(SWIFT) build -c release $(SWIFT_FLAGS) --show-bin-path); \
	install -D -m 0755 $$bin/lbd $(DESTDIR)$(PREFIX)/bin/lbd; \
	install -D -m 0755 $$bin/lbctl $(DESTDIR)$(PREFIX)/bin/lbctl; \
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	    $(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d; \
	$$bin/lbctl --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/lbctl; \
	$$bin/lbctl --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_lbctl; \
	$$bin/lbctl --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/lbctl.fish; \
	install -d $(DESTDIR)$(UNITDIR); \
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|g; s|/etc/lbd/|$(SYSCONFDIR)/lbd/|g' systemd/lbd.service > $(DESTDIR)$(UNITDIR)/lbd.service; \
	chmod 0644 $(DESTDIR)$(UNITDIR)/lbd.service; \
	if [ -e $(DESTDIR)$(SYSCONFDIR)/lbd/lbd.yaml ]; then echo "kept $(DESTDIR)$(SYSCONFDIR)/lbd/lbd.yaml"; \
	else install -D -m 0644 config/lbd.yaml $(DESTDIR)$(SYSCONFDIR)/lbd/lbd.yaml; fi
	@echo "installed under $(DESTDIR)$(PREFIX); create the API group once: groupadd --system lbd"

clean:
	rm -rf bpf/build $(EMBEDDED) .build
