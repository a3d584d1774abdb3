# The kit's top-level Makefile: `make help` lists what it does.
# CC and CFLAGS given here reach every lesson:  make CC=clang

LESSON_DIRS := $(sort $(patsubst %/,%,$(wildcard lessons/[0-9][0-9]*-*/)))

.PHONY: all common test demo bench grade grade-check grade-class student-kit exercise-check \
        clean help $(LESSON_DIRS)

include common/check-cc.mk

all: $(LESSON_DIRS)

# common/libkit.a first, once; then the lessons (in parallel with make -j).
common:
	@$(MAKE) --no-print-directory -s -C common

$(LESSON_DIRS): common
	@$(MAKE) --no-print-directory -C $@

test: all
	@tests/run

demo: all
	@for lesson in $(LESSON_DIRS); do $(MAKE) --no-print-directory -s -C $$lesson demo || exit 1; done

bench:
	@$(MAKE) --no-print-directory -C lessons/04-queue-reduction bench

# make grade KIT=/path/to/a/copy   (default: this kit)
grade:
	@tests/grade $(KIT)

# make grade-class DIR=submissions/   every student folder in DIR
grade-class:
	@tests/grade-class $(DIR)

# The grading path itself, checked on deliberately wrong and hostile copies.
grade-check:
	@tests/run tests/grading.bats

# make student-kit DEST=DIR   the student edition, exercises cut out
student-kit:
	@tests/student-kit $(DEST)

# Every exercise has a stub that builds and fails its own tests, and only those.
exercise-check:
	@tests/exercise-check

clean:
	@$(MAKE) --no-print-directory -s -C common clean
	@for lesson in $(LESSON_DIRS); do $(MAKE) --no-print-directory -s -C $$lesson clean; done

help:
	@echo 'make                      build every lesson (warnings are errors; make CC=clang works too)'
	@echo 'make demo                 run each lesson in turn, in short settings'
	@echo 'make test                 build, then run the bats suite (installs bats if missing)'
	@echo 'make bench                lesson 04 benchmark: speedup, C against Python, fixed cost'
	@echo 'make student-kit DEST=DIR write the student edition: exercises cut out, hints kept'
	@echo 'make exercise-check       check every exercise: its stub builds and fails its own tests only'
	@echo 'make grade KIT=DIR        grade one copy of the kit (a student edition) in a sandbox'
	@echo 'make grade-class DIR=DIR  grade every student folder in DIR; writes class.csv'
	@echo 'make grade-check          check that grading contains wrong and hostile copies'
	@echo 'make clean                remove everything make built'
	@echo 'make -C lessons/01-process-lifecycle   build one lesson'
