# lesson.mk - the build shared by every lesson.
#
# A lesson's Makefile names its program and includes this file:
#
#     PROG      := lifecycle
#     TITLE     := 01 process lifecycle: start, is_alive, join, terminate
#     DEMO_ARGS := --sleep 1
#     include ../../common/lesson.mk
#
# TITLE is plain text for the demo's banner (no double quotes or $).
# Optional: LDLIBS (e.g. -pthread), EXTRA_SRCS, DEMO_EXIT.
#
# KIT_CFLAGS are the kit's rules and always apply; CC and CFLAGS are yours
# to change:  make CC=clang CFLAGS='-O0 -g'

COMMON     := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
LIBKIT     := $(COMMON)/libkit.a
KIT_CFLAGS := -std=c11 -Wall -Wextra -Wpedantic -Werror
CFLAGS     ?= -O2 -g

include $(COMMON)/check-cc.mk

.PHONY: all demo clean help FORCE
all: $(PROG)

# Link to a temporary name, then rename: two builds running at once (two
# `make test`) never leave a half-written program for the other to run.
$(PROG): $(PROG).c $(EXTRA_SRCS) $(LIBKIT) $(wildcard $(COMMON)/*.h) Makefile
	$(CC) $(KIT_CFLAGS) $(CPPFLAGS) $(CFLAGS) -I$(COMMON) -o $@.tmp$$$$ $(PROG).c $(EXTRA_SRCS) \
	    $(LIBKIT) $(LDFLAGS) $(LDLIBS) && mv -f $@.tmp$$$$ $@

# common/ is built once, whichever lesson asks first; make there decides
# whether anything is out of date.
$(LIBKIT): FORCE
	@$(MAKE) --no-print-directory -s -C $(COMMON) CC='$(CC)' CFLAGS='$(CFLAGS)' CPPFLAGS='$(CPPFLAGS)'

# DEMO_EXIT: the exit status the demonstration ends with on purpose (a
# deadlock caught, say); anything else stops `make demo`.
DEMO_EXIT ?= 0
demo: $(PROG)
	@printf '\n=== %s: ./%s %s ===\n' "$(TITLE)" "$(PROG)" "$(DEMO_ARGS)"
	@./$(PROG) $(DEMO_ARGS); status=$$?; [ $$status -eq $(DEMO_EXIT) ] || \
	    { echo "$(PROG) ended with exit status $$status, not $(DEMO_EXIT)" >&2; exit 1; }

clean:
	rm -f $(PROG) $(PROG).tmp*

help:
	@echo 'make        build ./$(PROG)'
	@echo 'make demo   run it in short settings: ./$(PROG) $(DEMO_ARGS)'
	@echo 'make clean  remove what make built'
