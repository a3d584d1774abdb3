# lesson.mk - the build shared by every lesson.
#
# A lesson's Makefile names its program and includes this file:
#
#     PROG      := lifecycle
#     TITLE     := process lifecycle (seed example 1)
#     DEMO_ARGS := --sleep 1
#     include ../../common/lesson.mk
#
# TITLE is plain text for the demo's banner (no double quotes or $).
# Optional: LDLIBS (e.g. -pthread), EXTRA_SRCS.
#
# KIT_CFLAGS are the kit's rules and always apply; CC and CFLAGS are yours
# to change:  make CC=clang CFLAGS='-O0 -g'

COMMON     := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
KIT_CFLAGS := -std=c11 -Wall -Wextra -Wpedantic -Werror
CFLAGS     ?= -O2 -g
SRCS       := $(PROG).c $(COMMON)/kit.c $(EXTRA_SRCS)

.PHONY: all demo clean help
all: $(PROG)

# Link to a temporary name, then rename: two builds running at once (two
# `make test`) never leave a half-written program for the other to run.
$(PROG): $(SRCS) $(COMMON)/kit.h $(COMMON)/lesson.mk Makefile
	$(CC) $(KIT_CFLAGS) $(CPPFLAGS) $(CFLAGS) -I$(COMMON) -o $@.tmp$$$$ $(SRCS) $(LDFLAGS) $(LDLIBS) \
	    && mv -f $@.tmp$$$$ $@

demo: $(PROG)
	@printf '\n=== %s: ./%s %s ===\n' "$(TITLE)" "$(PROG)" "$(DEMO_ARGS)"
	@./$(PROG) $(DEMO_ARGS)

clean:
	rm -f $(PROG) $(PROG).tmp*

help:
	@echo 'make        build ./$(PROG)'
	@echo 'make demo   run it in short settings: ./$(PROG) $(DEMO_ARGS)'
	@echo 'make clean  remove what make built'
