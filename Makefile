# SPDX-License-Identifier: GPL-2.0-only
#
# Out-of-tree build of vhost-vfio.  Everything a newcomer needs:
#
#   make            build the modules against the running (or KVER) kernel
#   make check      install deps, build, lint, run the VM test suite
#   make check T=hostile_test:mmap_bad_arguments   one test (or T=SCRIPT.sh)
#   make demo       install deps, build, boot the host VM and show an mdev at work
#
# HOST=debian13 (on the command line) builds, demonstrates and benchmarks for
# the second host generation instead: Debian 13's kernel 6.12 with its gcc 14,
# in its root, on a copy of the tree in .vm-out/build-debian13
# (scripts/vm/host-build.sh, scripts/vm/debian13-root.sh).  `make check`
# covers both hosts whatever HOST says.
#
# See README.md for what each target installs.

# Debian 12's own kernel by default, even with 6.12 headers beside it.
KVER   ?= $(shell $(CURDIR)/scripts/kver.sh 2>/dev/null)
KDIR   ?= /lib/modules/$(KVER)/build
W      ?= 1
WERROR ?= 0
LINUX_SRC ?= /usr/src/linux-source-6.1
# Only from the command line (or VV_HOST): a shell may export HOST itself.
ifneq ($(origin HOST),command line)
HOST := $(or $(VV_HOST),debian12)
endif

# The symbols Kconfig would give an in-tree build.
KCONFIG_OPTS := CONFIG_VHOST_VFIO=m CONFIG_VHOST_VFIO_VIRTIO_PCI=m
KBUILD_OPTS  := -C $(KDIR) M=$(CURDIR) W=$(W) VHOST_VFIO_WERROR=$(WERROR) $(KCONFIG_OPTS)

SOURCES = $(shell find drivers include -name '*.[ch]' ! -name '*.mod.c' \
		  ! -path '*/compat/*' 2>/dev/null) \
	  $(shell find selftests tools -name '*.[ch]' 2>/dev/null)
COMPAT_SOURCES = $(shell find drivers -path '*/compat/*' -name '*.h')

.PHONY: all modules clean install sparse checkpatch lint selftests deps check demo bench dkms-install

all: modules

ifneq ($(HOST),debian12)
# Another host generation: the same targets in its root (its compiler, its
# kernel's headers) on the copy of the tree that its VM loads them from.
modules sparse selftests clean:
	scripts/vm/host-build.sh $(HOST) W=$(W) WERROR=$(WERROR) $@
else
modules:
	$(MAKE) $(KBUILD_OPTS) modules

# Sparse at C=2 re-checks every file; any line it prints is a finding, and
# so is a build that fails.
sparse:
	@$(MAKE) -s $(KBUILD_OPTS) C=2 modules > .sparse.log 2>&1; rc=$$?; \
		grep -v -e 'Skipping BTF generation' .sparse.log; \
		if [ $$rc != 0 ] || grep -q -E 'warning|error' .sparse.log; then \
			rm -f .sparse.log; exit 1; fi; \
		rm -f .sparse.log

checkpatch:
	@test -f $(LINUX_SRC)/scripts/checkpatch.pl || \
		{ echo "checkpatch.pl missing: run 'make deps' first" >&2; exit 1; }
	perl $(LINUX_SRC)/scripts/checkpatch.pl --no-tree --strict --terse \
		--show-types -f $(SOURCES)
	@# The compat layer compares kernel versions by design; nothing else may.
	perl $(LINUX_SRC)/scripts/checkpatch.pl --no-tree --strict --terse \
		--show-types --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON \
		-f $(COMPAT_SOURCES)

lint: sparse checkpatch

# Distribution headers carry no signing key: sign for Secure Boot with your
# own enrolled key (Documentation/admin-guide.rst) or let DKMS do it.
install: modules
	$(MAKE) $(KBUILD_OPTS) INSTALL_MOD_DIR=extra CONFIG_MODULE_SIG_ALL= modules_install
	depmod -a $(KVER)

selftests:
	$(MAKE) -C selftests/vhost-vfio LINUX_SRC=$(LINUX_SRC)

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C selftests/vhost-vfio clean
	rm -rf .vm-out
endif

dkms-install:
	scripts/dkms.sh install

deps:
	scripts/install-deps.sh

# T=SCRIPT.sh or T=BINARY:CASE: that one test in its own host VM
# (scripts/run-one.sh), on HOST.
check: deps
ifneq ($(T),)
	HOST=$(HOST) scripts/run-one.sh $(T)
else
	scripts/check.sh
endif

demo: deps
	VV_HOST=$(HOST) scripts/demo.sh

bench: deps
	VV_HOST=$(HOST) scripts/bench.sh
