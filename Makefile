# SPDX-License-Identifier: GPL-2.0
#
# carp for Linux. The two commands:
#   make demo    set up everything, build, boot a VM and run the demo
#   make check   set up everything, build, run every test (last line:
#                "N passed, N failed")
# Finer targets: setup, kernel, module, tools (carpctl), deb, bench, stress, mutants, host-test,
# lint, vm-test [T=name], clean. KVARIANT=base|debug|debian picks the kernel (check: debug
# plus a slice on debian, demo: debian, others: base); debian is Debian's own kernel as shipped.

SHELL := /bin/bash
KVARIANT ?= base
export KVARIANT

.PHONY: all demo check setup kernel module tools host-test lint vm-test bench stress mutants deb deb-test clean

all: module tools

setup:
	@scripts/setup.sh

kernel: setup
	@scripts/build-kernel.sh $(KVARIANT) >/dev/null

module: kernel
	@scripts/build-module.sh $(KVARIANT)

tools: setup
	@scripts/build-tools.sh

host-test: setup
	@scripts/check.sh host

lint: kernel
	@scripts/check.sh lint

vm-test: module
	@scripts/check.sh vm $(T)

bench: module tools
	@scripts/bench.sh

# Debian packages and a local apt repository (scripts/build-deb.sh).
deb: setup
	@scripts/build-deb.sh

# The packages on Debian 12 machines booted from their own disks: install,
# reboot, failover, upgrade, purge (scripts/deb-test.sh).
deb-test: setup
	@scripts/deb-test.sh

# The hardening tests in full on the debug kernel (make check runs a slice).
stress:
	@scripts/setup.sh
	@KVARIANT=debug scripts/stress.sh

# Mutation testing: cargo-mutants on the host core, the curated glue
# mutants each against its VM test (debug kernel; about an hour).
mutants:
	@scripts/setup.sh
	@KVARIANT=debug scripts/mutants.sh $(or $(M),all) $(T)

# The demo boots Debian's own kernel unless KVARIANT is given: no kernel
# build on a fresh machine.
demo:
	@scripts/setup.sh
	@KVARIANT=$(if $(filter file,$(origin KVARIANT)),debian,$(KVARIANT)) scripts/demo.sh

check:
	@KVARIANT=$${KVARIANT_CHECK:-debug} scripts/check.sh all

clean:
	@scripts/build-module.sh clean
	rm -rf tools/target
