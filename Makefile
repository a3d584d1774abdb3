# The kit's top-level Makefile: `make help` lists what it does.
# CC and CFLAGS given here reach every lesson:  make CC=clang

LESSON_DIRS := $(sort $(patsubst %/,%,$(wildcard lessons/[0-9][0-9]-*/)))

.PHONY: all test demo bench grade grade-check clean help $(LESSON_DIRS)

# make grade KIT=/path/to/a/copy/of/the/kit   (default: this kit)
KIT ?=

all: $(LESSON_DIRS)

$(LESSON_DIRS):
	@$(MAKE) --no-print-directory -C $@

test: all
	@tests/run

grade:
	@tests/grade $(KIT)

bench:
	@$(MAKE) --no-print-directory -C lessons/04-queue-reduction bench

# The grading path itself, checked on deliberately wrong copies of lesson 02.
grade-check:
	@tests/run tests/grading.bats

demo:
	@for lesson in $(LESSON_DIRS); do $(MAKE) --no-print-directory -s -C $$lesson demo || exit 1; done

clean:
	@for lesson in $(LESSON_DIRS); do $(MAKE) --no-print-directory -s -C $$lesson clean; done

help:
	@echo 'make                 build every lesson (warnings are errors; make CC=clang works too)'
	@echo 'make demo            run each lesson in turn, in short settings'
	@echo 'make test            build, then run the bats suite (installs bats if missing)'
	@echo 'make bench           lesson 04 benchmark: speedup, C against Python, fixed cost'
	@echo 'make grade KIT=DIR   grade a copy of the kit with this suite; writes a JUnit report'
	@echo 'make grade-check     check that grading catches wrong copies (tests/fixtures/)'
	@echo 'make clean           remove everything make built'
	@echo 'make -C lessons/01-process-lifecycle   build one lesson'
