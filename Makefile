# tandem: build, test, demo, benchmarks.
# Every target installs what it needs (Debian packages, npm packages) when missing.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DEFAULT_GOAL := all

# node-gyp must use the headers Debian's Node ships, never download them.
export npm_config_nodedir ?= /usr
export DEBIAN_FRONTEND := noninteractive

# Binary -> Debian package, for what the build, the lab and the tests run.
DEB_TOOLS := ip:iproute2 tc:iproute2 nft:nftables tshark:tshark tcpdump:tcpdump ping:iputils-ping \
             sysctl:procps g++:g++ cc:gcc make:make python3:python3 conntrack:conntrack \
             corosync:corosync corosync-quorumtool:corosync corosync-cfgtool:corosync
# libcpg-dev: the addon links Corosync's CPG (clusters of three and more members).
DEB_LIBS  := /usr/include/pcap.h:libpcap-dev /usr/include/corosync/cpg.h:libcpg-dev
# What only the tests run: the load balancer in front of Active/Active members, the browser of the status page test,
# curl and openssl (the management server's HTTPS, checked by clients that are not Node), gpg and gpgv (update
# bundles are signed and checked as the image's systemd-sysupdate checks them).
TEST_DEB_TOOLS := haproxy:haproxy chromium:chromium tmux:tmux rsyslogd:rsyslog curl:curl openssl:openssl gpg:gpg gpgv:gpgv

TS_SOURCES := $(shell find src test bench -name '*.ts' 2>/dev/null) tsconfig.json
ADDON := build/Release/tandem.node
# The GPIO/watchdog simulator tests preload (this kernel has neither device).
HW_SIM := dist/sim/hw-sim.so
TAP_LOG := .test-output.tap

.PHONY: all deps bench-deps build test format format-check demo demo-vm lab-down bench-heartbeat bench-hb-threads bench-flood bench-failover bench-sync bench-cluster bench-model bench-chaos bench-vm clean image bundle test-bundles test-vm overlay install

all: build

## Debian packages: installed only when a tool or header is missing.
define install_missing
	@missing=""; \
	for pair in $(1); do bin=$${pair%%:*}; pkg=$${pair##*:}; \
	  [ -x /usr/sbin/$$bin ] || [ -x /usr/bin/$$bin ] || [ -x /sbin/$$bin ] || [ -x /bin/$$bin ] || missing="$$missing $$pkg"; done; \
	for pair in $(2); do f=$${pair%%:*}; pkg=$${pair##*:}; [ -e $$f ] || missing="$$missing $$pkg"; done; \
	missing=$$(echo $$missing | tr ' ' '\n' | sort -u | tr '\n' ' '); \
	if [ -n "$${missing// /}" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps: .deps-ok
.deps-ok: Makefile
	$(call install_missing,$(DEB_TOOLS),$(DEB_LIBS))
	@touch $@

.test-deps-ok: Makefile
	$(call install_missing,$(TEST_DEB_TOOLS),)
	@touch $@

node_modules/.package-lock.json: package-lock.json .deps-ok
	npm ci --no-audit --no-fund
	@touch $@

$(ADDON): $(wildcard native/*.c native/*.h native/uapi/linux/*.h) binding.gyp node_modules/.package-lock.json
	npm run --silent build:native

dist/.built: $(TS_SOURCES) node_modules/.package-lock.json
	npx tsc -p .
	@touch $@

# The simulator too: board `sim` and docs/bypass.md drive the relays through it, not only the tests.
build: $(ADDON) dist/.built $(HW_SIM)

$(HW_SIM): test/sim/hw-sim.c native/uapi/linux/gpio.h
	@mkdir -p $(dir $@)
	cc -shared -fPIC -std=gnu11 -Wall -Wextra -Werror -O2 -I native/uapi -o $@ $< -ldl

FORMATTED := 'src/**/*.ts' 'test/**/*.ts' 'bench/**/*.ts'

## Rewrites the TypeScript in the house format (.prettierrc: 160 columns); make test checks it first.
format: node_modules/.package-lock.json
	npx prettier --log-level warn --write $(FORMATTED)

format-check: node_modules/.package-lock.json
	@npx prettier --log-level warn --check $(FORMATTED) || { echo "not in the house format: run make format"; exit 1; }

## The tests: every layer, the lab tests in namespaces (root needed). Ends with "N passed, N failed".
test: build $(HW_SIM) .test-deps-ok format-check
	@npx ava --tap 2>&1 | tee $(TAP_LOG); status=$${PIPESTATUS[0]}; \
	pass=$$(grep -Ec '^ok [0-9]+' $(TAP_LOG) || true); fail=$$(grep -Ec '^not ok [0-9]+' $(TAP_LOG) || true); \
	skip=$$(grep -Ec '^ok [0-9]+ .*# SKIP' $(TAP_LOG) || true); \
	ip netns list 2>/dev/null | grep -E '^tdm[0-9a-f]{5}-' && { echo "lab namespaces left behind"; status=1; }; \
	echo "$$((pass - skip)) passed, $$fail failed, $$skip skipped"; exit $$status

## The bootable appliance image (docs/appliance-image.md): image/tandem-VERSION-x86_64.img, built by mkosi from
## src/image/appliance/ (an unchanged input reuses the last image). The overlay tarball, for a builder's own OS:
## make overlay (image/tandem-VERSION-ARCH.tar.gz), or make install DESTDIR=...
BOARD ?= generic-x86
IMAGE_BOARD ?= qemu-x86
# mkosi 25 from Debian 13 (Debian 12 has 14), unpacked into .tools/ (node-gyp owns build/): nothing of the host changes. Its
# own tools (systemd-repart, mkfs, ukify ...) come from the tools tree it builds from Debian 13.
MKOSI_DIR := .tools/mkosi
MKOSI := /usr/bin/python3 -B $(abspath $(MKOSI_DIR))/mkosi.py
TRIXIE := deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
$(MKOSI_DIR)/mkosi.py:
	@rm -rf $(MKOSI_DIR) && mkdir -p $(MKOSI_DIR)/apt/lists/partial $(MKOSI_DIR)/apt/archives/partial
	@echo "$(TRIXIE)" > $(MKOSI_DIR)/apt/sources.list
	@apt=(-o Dir::Etc::sourcelist=$(abspath $(MKOSI_DIR))/apt/sources.list -o Dir::Etc::sourceparts=- \
	  -o Dir::State::Lists=$(abspath $(MKOSI_DIR))/apt/lists -o Dir::Cache::Archives=$(abspath $(MKOSI_DIR))/apt/archives \
	  -o Dir::Cache=$(abspath $(MKOSI_DIR))/apt -o APT::Sandbox::User=root); \
	  apt-get "$${apt[@]}" update -qq && cd $(MKOSI_DIR) && apt-get "$${apt[@]}" download mkosi >/dev/null
	@dpkg-deb -x $(MKOSI_DIR)/mkosi_*.deb $(MKOSI_DIR)/root
	@printf 'import sys\nsys.path.insert(0, "%s/root/usr/lib/python3/dist-packages")\nfrom mkosi.__main__ import main\nmain()\n' "$(abspath $(MKOSI_DIR))" > $@
	@/usr/bin/python3 -B $@ --version
image: build $(MKOSI_DIR)/mkosi.py
	@which bwrap gpg >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends bubblewrap uidmap gpg >/dev/null; }
	node dist/src/image/build-appliance.js --out image --board $(IMAGE_BOARD) --mkosi "$(MKOSI)"

## A signed update bundle of the same build (docs/appliance-image.md): image/tandem-VERSION-BOARD.bundle. The update key
## is made at the first build (image/signing-key/) unless SIGNING_KEY=DIR names a GnuPG home with the builder's key.
bundle: image
	node dist/src/image/bundle.js --out image --board $(IMAGE_BOARD) --mkosi "$(MKOSI)"

## The VM tests' bundles (test/vm/firmware.test.ts): this build as firmware VERSION.1, and as VERSION.2 whose tandemd
## cannot start; each reused while its inputs are unchanged.
test-bundles: image
	@v=$$(node -p "require('./dist/src/runtime/version.js').VERSION.text"); \
	node dist/src/image/bundle.js --out image/test --board $(IMAGE_BOARD) --mkosi "$(MKOSI)" --version $$v.1 && \
	node dist/src/image/bundle.js --out image/test --board $(IMAGE_BOARD) --mkosi "$(MKOSI)" --version $$v.2 --extra-tree test/vm/broken-tandemd

## The tests that boot the image under QEMU (test/vm/), after building what they boot. make test runs them too when
## the image and the bundles were built, and counts them as skipped (with the reason) when not.
test-vm: test-bundles $(HW_SIM)
	@npx ava --tap dist/test/vm/*.test.js 2>&1 | tee .test-vm.tap; exit $${PIPESTATUS[0]}

overlay: build
	node dist/src/image/build-image.js --out image --board $(BOARD)

install: build
	@test -n "$(DESTDIR)" || { echo "make install needs DESTDIR=/path/to/the/image/root"; exit 2; }
	node dist/src/image/build-image.js --destdir $(DESTDIR) --board $(BOARD)

## The main job: a two-node lab with heartbeats on every interface, then teardown.
demo: build
	bin/tandem lab demo

## The same failover between two appliances booted from the image under QEMU (docs/appliance-image.md, "The VM lab").
demo-vm: image
	@test -x /usr/bin/qemu-system-x86_64 -a -e /usr/share/OVMF/OVMF_CODE_4M.fd || { apt-get update -qq && apt-get install -y -qq --no-install-recommends qemu-system-x86 ovmf qemu-utils >/dev/null; }
	bin/tandem lab demo --vm

lab-down: build
	bin/tandem lab down --all

bench-heartbeat: build bench-deps
	node dist/bench/heartbeat.js

## Where a tandemd worker's heartbeat CPU goes, thread by thread (CPU and wakeups), at the default cycle.
bench-hb-threads: build
	node dist/bench/hb-threads.js --seconds 10

## Forged heartbeats flooding every heartbeat segment at once (FLOOD_RATE a second a segment) at the default timers:
## false failovers, and per node and interface what was accepted, rejected (by reason), superseded and dropped.
bench-flood: build
	node dist/bench/flood.js --seconds $${FLOOD_SECONDS:-60} --rate $${FLOOD_RATE:-50000}

## The peers the benchmarks run side by side with tandem.
bench-deps:
	@missing=""; for pair in keepalived:keepalived stress-ng:stress-ng conntrackd:conntrackd chromium:chromium; do bin=$${pair%%:*}; pkg=$${pair##*:}; \
	  [ -x /usr/sbin/$$bin ] || [ -x /usr/bin/$$bin ] || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

## Client-visible outage, tandem vs keepalived (10 failures per fault); then false failovers under each load
## (stress-ng at nice 0 and -20, headless Chromium, conntrack bursts), FALSE_FAILOVER_SECONDS a rung.
bench-failover: build bench-deps
	node dist/bench/failover.js --runs 10
	node dist/bench/failover.js --false-failover-seconds $${FALSE_FAILOVER_SECONDS:-600}

## Full-table transfer, live updates and TCP survival: tandem vs conntrackd (FTFW) over the same sync link.
## The booted appliance's figures (issue 31, item 6): sizes, power-on to heartbeats and in sync, an update of both.
bench-vm: test-bundles
	node dist/bench/vm.js --runs $${VM_RUNS:-3}

bench-sync: build bench-deps
	node dist/bench/sync.js

## The pair model's longer search (issue 30): random fault sequences over two real cores, and the reverted fixes caught.
bench-model: build
	node dist/bench/model-check.js --runs $${MODEL_RUNS:-5000} --length $${MODEL_LENGTH:-30}

## Random fault sequences on the real pair with 20 TCP connections of each family (issue 30), tandem then keepalived+conntrackd
## on the same draws: CHAOS_SECONDS a run, CHAOS_RUNS seeds.
bench-chaos: build bench-deps
	node dist/bench/chaos.js --seconds $${CHAOS_SECONDS:-600} --runs $${CHAOS_RUNS:-2}

## A cluster on Corosync: ordered updates across five members and a new member's state transfer, tandem vs bare CPG.
bench-cluster: build
	node dist/bench/cluster.js

clean:
	rm -rf build dist image .deps-ok .test-deps-ok $(TAP_LOG)
