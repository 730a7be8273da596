# SPDX-License-Identifier: MIT
#
# make install / make uninstall, included by the top-level Makefile.
#
#   PREFIX=/usr/local  BINDIR LIBDIR INCLUDEDIR DATADIR MANDIR  where files go
#   DESTDIR=           staging root (packages); no ldconfig, no DKMS then
#   DKMS=dkms          DKMS=no installs the module's sources only
#   DKMS_KERNELS=      kernels to build kbdus for; default: the running one
#                      and every installed kernel with headers
#
# The module goes through DKMS: its sources to /usr/src/kbdus-<version>
# (where DKMS looks, whatever PREFIX is), then dkms add, build, install, so
# that kernel upgrades rebuild it.  libbdus loads it on first use.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
BASH_COMPLETION_DIR ?= $(DATADIR)/bash-completion/completions
ZSH_COMPLETION_DIR ?= $(DATADIR)/zsh/vendor-completions
FISH_COMPLETION_DIR ?= $(DATADIR)/fish/vendor_completions.d
DKMS ?= dkms
DKMS_SRCDIR := /usr/src/kbdus-$(BDUS_VERSION)
DKMS_KERNELS ?= $(sort $(shell uname -r) \
	$(notdir $(patsubst %/build,%,$(wildcard /lib/modules/*/build))))

INSTALL ?= install
LDCONFIG ?= ldconfig

LIB_REAL := libbdus.so.$(BDUS_VERSION)
DRIVERS := bdus-ram bdus-loop bdus-zero bdus-aio-ram bdus-aloop bdus-zoned
PROGRAMS := bdus $(DRIVERS)
# One page per public function, as liburing does: links to bdus(3).
MAN3_LINKS := bdus_run bdus_rerun bdus_run_ext bdus_rerun_ext \
	bdus_get_dev_id_from_path bdus_flush_dev bdus_destroy_dev \
	bdus_destroy_dev_ext bdus_wait_dev_destroyed bdus_get_dev_info \
	bdus_get_next_dev_id \
	bdus_get_error_message bdus_get_libbdus_version bdus_get_kbdus_version
# Passthrough's functions: links to bdus-passthrough(3).
MAN3_PASSTHROUGH_LINKS := bdus_register_backing bdus_unregister_backing
# The asynchronous API's functions: links to bdus-aio(3).
MAN3_AIO_LINKS := bdus_aio_create bdus_aio_destroy bdus_aio_get_fd \
	bdus_aio_create_dev bdus_aio_attach_dev bdus_aio_share_dev \
	bdus_aio_get_dev_id \
	bdus_aio_get_dev_path bdus_aio_get_dev_attrs bdus_aio_get_dev_ext_attrs \
	bdus_aio_close_dev bdus_aio_process bdus_aio_get_events \
	bdus_aio_complete bdus_aio_release bdus_aio_handle_cqe

.PHONY: install install-lib install-cmd install-docs install-module
.PHONY: uninstall uninstall-module

install: install-lib install-cmd install-docs install-module

# Built with the install paths' run path; `make all` first, as root may
# not own (or may not want to write) the build tree.
install-lib:
	@test -e $(BUILD)/lib/$(LIB_REAL) || \
		{ echo "make install: run 'make all' first" >&2; exit 1; }
	$(INSTALL) -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	$(INSTALL) -m 644 $(BUILD)/lib/$(LIB_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf $(LIB_REAL) $(DESTDIR)$(LIBDIR)/$(BDUS_SONAME)
	ln -sf $(BDUS_SONAME) $(DESTDIR)$(LIBDIR)/libbdus.so
	$(INSTALL) -m 644 $(BUILD)/lib/libbdus.a $(DESTDIR)$(LIBDIR)/
	$(INSTALL) -m 644 $(TOP)/libbdus/include/bdus.h \
		$(TOP)/libbdus/include/bdus-ext.h \
		$(TOP)/libbdus/include/bdus-aio.h \
		$(TOP)/libbdus/include/bdus-passthrough.h $(DESTDIR)$(INCLUDEDIR)/
	$(INSTALL) -m 644 $(TOP)/kbdus/include/uapi/linux/kbdus.h \
		$(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(BDUS_VERSION)|' $(TOP)/libbdus/bdus.pc.in \
		>$(DESTDIR)$(LIBDIR)/pkgconfig/bdus.pc
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/bdus.pc
	$(if $(DESTDIR),,$(LDCONFIG))

install-cmd:
	$(INSTALL) -d $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 755 $(PROGRAMS:%=$(BUILD)/bin/%) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -d $(DESTDIR)$(BASH_COMPLETION_DIR) \
		$(DESTDIR)$(ZSH_COMPLETION_DIR) $(DESTDIR)$(FISH_COMPLETION_DIR)
	$(INSTALL) -m 644 $(TOP)/cmd/completions/bdus.bash \
		$(DESTDIR)$(BASH_COMPLETION_DIR)/bdus
	$(INSTALL) -m 644 $(TOP)/cmd/completions/bdus.zsh \
		$(DESTDIR)$(ZSH_COMPLETION_DIR)/_bdus
	$(INSTALL) -m 644 $(TOP)/cmd/completions/bdus.fish \
		$(DESTDIR)$(FISH_COMPLETION_DIR)/bdus.fish

install-docs:
	$(INSTALL) -d $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 644 $(TOP)/docs/man/bdus.3 $(TOP)/docs/man/bdus-aio.3 \
		$(TOP)/docs/man/bdus-passthrough.3 $(DESTDIR)$(MANDIR)/man3/
	$(INSTALL) -m 644 $(TOP)/docs/man/bdus.8 \
		$(TOP)/docs/man/bdus-drivers.8 $(DESTDIR)$(MANDIR)/man8/
	for f in $(MAN3_LINKS); do \
		echo '.so man3/bdus.3' >$(DESTDIR)$(MANDIR)/man3/$$f.3 && \
		chmod 644 $(DESTDIR)$(MANDIR)/man3/$$f.3 || exit 1; \
	done
	for f in $(MAN3_AIO_LINKS); do \
		echo '.so man3/bdus-aio.3' >$(DESTDIR)$(MANDIR)/man3/$$f.3 && \
		chmod 644 $(DESTDIR)$(MANDIR)/man3/$$f.3 || exit 1; \
	done
	for f in $(MAN3_PASSTHROUGH_LINKS); do \
		echo '.so man3/bdus-passthrough.3' \
			>$(DESTDIR)$(MANDIR)/man3/$$f.3 && \
		chmod 644 $(DESTDIR)$(MANDIR)/man3/$$f.3 || exit 1; \
	done
	for f in $(DRIVERS); do \
		echo '.so man8/bdus-drivers.8' >$(DESTDIR)$(MANDIR)/man8/$$f.8 && \
		chmod 644 $(DESTDIR)$(MANDIR)/man8/$$f.8 || exit 1; \
	done

# The sources always; then, on a live system, DKMS builds and installs them.
install-module:
	$(INSTALL) -d $(DESTDIR)$(DKMS_SRCDIR)/src \
		$(DESTDIR)$(DKMS_SRCDIR)/include/uapi/linux
	$(INSTALL) -m 644 $(TOP)/kbdus/Kbuild $(DESTDIR)$(DKMS_SRCDIR)/
	$(INSTALL) -m 644 $(wildcard $(TOP)/kbdus/src/*.[ch]) \
		$(DESTDIR)$(DKMS_SRCDIR)/src/
	$(INSTALL) -m 644 $(TOP)/kbdus/include/uapi/linux/kbdus.h \
		$(DESTDIR)$(DKMS_SRCDIR)/include/uapi/linux/
	sed 's|@VERSION@|$(BDUS_VERSION)|' $(TOP)/kbdus/dkms.conf \
		>$(DESTDIR)$(DKMS_SRCDIR)/dkms.conf
	chmod 644 $(DESTDIR)$(DKMS_SRCDIR)/dkms.conf
ifeq ($(DESTDIR)$(filter no,$(DKMS)),)
	@command -v $(DKMS) >/dev/null || { echo "make install: $(DKMS) not" \
		"found: install it (apt install dkms), or pass DKMS=no to" \
		"install the module's sources only" >&2; exit 1; }
	@if $(DKMS) status -m kbdus -v $(BDUS_VERSION) | grep -q .; then \
		echo "$(DKMS) remove kbdus/$(BDUS_VERSION) --all"; \
		$(DKMS) remove kbdus/$(BDUS_VERSION) --all >/dev/null; fi
	$(DKMS) add kbdus/$(BDUS_VERSION)
	@set -e; for k in $(DKMS_KERNELS); do \
		if [ ! -e /lib/modules/$$k/build ]; then \
			echo "make install: no headers for kernel $$k" \
				"(apt install linux-headers-$$k); skipped" >&2; \
			continue; fi; \
		echo "$(DKMS) install kbdus/$(BDUS_VERSION) -k $$k"; \
		$(DKMS) install kbdus/$(BDUS_VERSION) -k $$k; done
endif

uninstall: uninstall-module
	rm -f $(DESTDIR)$(LIBDIR)/$(LIB_REAL) \
		$(DESTDIR)$(LIBDIR)/$(BDUS_SONAME) \
		$(DESTDIR)$(LIBDIR)/libbdus.so $(DESTDIR)$(LIBDIR)/libbdus.a \
		$(DESTDIR)$(LIBDIR)/pkgconfig/bdus.pc \
		$(DESTDIR)$(INCLUDEDIR)/bdus.h $(DESTDIR)$(INCLUDEDIR)/bdus-ext.h \
		$(DESTDIR)$(INCLUDEDIR)/bdus-aio.h \
		$(DESTDIR)$(INCLUDEDIR)/bdus-passthrough.h \
		$(DESTDIR)$(INCLUDEDIR)/kbdus.h \
		$(PROGRAMS:%=$(DESTDIR)$(BINDIR)/%) \
		$(DESTDIR)$(BASH_COMPLETION_DIR)/bdus \
		$(DESTDIR)$(ZSH_COMPLETION_DIR)/_bdus \
		$(DESTDIR)$(FISH_COMPLETION_DIR)/bdus.fish \
		$(DESTDIR)$(MANDIR)/man3/bdus.3 $(DESTDIR)$(MANDIR)/man3/bdus-aio.3 \
		$(DESTDIR)$(MANDIR)/man3/bdus-passthrough.3 \
		$(DESTDIR)$(MANDIR)/man8/bdus.8 \
		$(DESTDIR)$(MANDIR)/man8/bdus-drivers.8 \
		$(MAN3_LINKS:%=$(DESTDIR)$(MANDIR)/man3/%.3) \
		$(MAN3_AIO_LINKS:%=$(DESTDIR)$(MANDIR)/man3/%.3) \
		$(MAN3_PASSTHROUGH_LINKS:%=$(DESTDIR)$(MANDIR)/man3/%.3) \
		$(DRIVERS:%=$(DESTDIR)$(MANDIR)/man8/%.8)
	@# Directories the install may have created, if nothing else uses
	@# them; never PREFIX's standard ones (bin, lib, share, man).
	-rmdir $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(MANDIR)/man3 \
		$(DESTDIR)$(MANDIR)/man8 2>/dev/null
	-rmdir -p $(DESTDIR)$(BASH_COMPLETION_DIR) \
		$(DESTDIR)$(ZSH_COMPLETION_DIR) \
		$(DESTDIR)$(FISH_COMPLETION_DIR) 2>/dev/null
	$(if $(DESTDIR),,$(LDCONFIG))

uninstall-module:
ifeq ($(DESTDIR)$(filter no,$(DKMS)),)
	@if command -v $(DKMS) >/dev/null && \
		$(DKMS) status -m kbdus -v $(BDUS_VERSION) | grep -q .; then \
		echo "$(DKMS) remove kbdus/$(BDUS_VERSION) --all"; \
		$(DKMS) remove kbdus/$(BDUS_VERSION) --all; fi
endif
	rm -rf $(DESTDIR)$(DKMS_SRCDIR)
