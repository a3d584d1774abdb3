# The kit's top-level Makefile: `make help` lists what it does.
# CC and CFLAGS given here reach every lesson:  make CC=clang

LESSONS := $(sort $(patsubst %/,%,$(wildcard lessons/[0-9][0-9]-*/)))

.PHONY: all test demo grade clean help $(LESSONS)

# make grade KIT=/path/to/a/copy/of/the/kit   (default: this kit)
KIT ?=

all: $(LESSONS)

$(LESSONS):
	@$(MAKE) --no-print-directory -C $@

test: all
	@tests/run

grade:
	@tests/grade $(KIT)

demo:
	@for lesson in $(LESSONS); do $(MAKE) --no-print-directory -s -C $$lesson demo || exit 1; done

clean:
	@for lesson in $(LESSONS); do $(MAKE) --no-print-directory -s -C $$lesson clean; done

help:
	@echo 'make            build every lesson (warnings are errors; CC=clang works too)'
	@echo 'make demo       run each lesson in turn, in short settings'
	@echo 'make test       build, then run the bats suite (installs bats if missing)'
	@echo 'make grade KIT=DIR   grade a copy of the kit with this suite (JUnit report)'
	@echo 'make clean      remove everything make built'
	@echo 'make -C lessons/01-process-lifecycle   build one lesson'
