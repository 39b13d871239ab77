# Makefile -- build vstream_fdw with PGXS.
#
# The protobuf-c code is generated from the project's own proto/*.proto at
# build time; the install script is assembled from sql/install/*.sql.

EXTENSION = vstream_fdw
EXTVERSION = $(shell grep default_version $(EXTENSION).control | sed -e "s/default_version[[:space:]]*=[[:space:]]*'\([^']*\)'/\1/")
MODULE_big = vstream_fdw

PROTOS = $(wildcard proto/*.proto)
PROTO_C = $(patsubst proto/%.proto,src/proto/%.pb-c.c,$(PROTOS))
PROTO_H = $(PROTO_C:.c=.h)

SRCS = vstream_fdw.c $(sort $(wildcard src/*.c))
OBJS = $(SRCS:.c=.o) $(PROTO_C:.c=.o)

# The install script of the current version is assembled from
# sql/install/*.sql; each upgrade script from sql/upgrade/A--B/*.sql.  The
# install scripts of earlier versions are kept as they shipped, in
# sql/history/, so that ALTER EXTENSION ... UPDATE can be tested from them.
INSTALL_PARTS = $(sort $(wildcard sql/install/*.sql))
UPGRADE_DIRS = $(sort $(wildcard sql/upgrade/*--*))
UPGRADE_SCRIPTS = $(patsubst sql/upgrade/%,sql/$(EXTENSION)--%.sql,$(UPGRADE_DIRS))
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql $(UPGRADE_SCRIPTS)
DATA = $(wildcard sql/history/$(EXTENSION)--*.sql)

# Every sql/*.sql file except the built install script is a regression test.
REGRESS = $(filter-out $(EXTENSION)--%,$(sort $(basename $(notdir $(wildcard sql/*.sql)))))
REGRESS_OPTS = --load-extension=$(EXTENSION) --temp-instance=./tmp_check_regress

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -Isrc -Isrc/proto -DVSTREAM_EXTENSION_VERSION=\"$(EXTVERSION)\" $(shell pkg-config --cflags libnghttp2 libprotobuf-c openssl) \
	$(shell mysql_config --include 2>/dev/null)
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
SHLIB_LINK = $(shell pkg-config --libs libnghttp2 libprotobuf-c openssl) \
	$(shell mysql_config --libs 2>/dev/null)

EXTRA_CLEAN = $(PROTO_C) $(PROTO_H) $(DATA_built)

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Generated protobuf-c code is compiled without -Werror -Wextra: it is not ours.
src/proto/%.pb-c.o: override CFLAGS := $(filter-out -Werror -Wextra,$(CFLAGS))

src/proto/%.pb-c.c src/proto/%.pb-c.h: proto/%.proto
	@mkdir -p src/proto
	protoc-c --c_out=src/proto -Iproto $<

$(OBJS): $(PROTO_H) $(wildcard src/*.h)

# The library checks the catalog's version against the control file's.
src/worker.o: $(EXTENSION).control

sql/$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_PARTS) $(EXTENSION).control
	cat $(INSTALL_PARTS) > $@

.SECONDEXPANSION:
$(UPGRADE_SCRIPTS): sql/$(EXTENSION)--%.sql: $$(sort $$(wildcard sql/upgrade/%/*.sql))
	cat $(sort $(wildcard sql/upgrade/$*/*.sql)) > $@

.PHONY: prove-check
# TAP tests (worker, faults, end to end) against an installed extension.
prove-check:
	rm -rf '$(CURDIR)'/tmp_check
	PERL5LIB="$(CURDIR)/test/perl:$(dir $(PGXS))../../src/test/perl:$$PERL5LIB" \
	PG_REGRESS="$(dir $(PGXS))../../src/test/regress/pg_regress" \
	PATH="$(bindir):$$PATH" \
	$(PROVE) $(PROVE_FLAGS) -I "$(dir $(PGXS))../../src/test/perl" $(if $(T),$(addprefix test/t/,$(T)),test/t/*.pl)

.PHONY: demo test-all
# The README's first command: a local Vitess + PostgreSQL demo, streaming.
demo:
	bash tools/demo.sh

# The README's second command: the whole suite (as root, fresh machine).
test-all:
	bash test/run-all.sh
