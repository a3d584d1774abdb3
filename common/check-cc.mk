# check-cc.mk - stop at once, with one line, when the compiler is missing.
ifeq ($(filter clean help,$(MAKECMDGOALS)),)
ifeq ($(shell command -v $(firstword $(CC)) 2>/dev/null),)
$(error the C compiler '$(firstword $(CC))' is not installed; on Debian or Ubuntu: apt-get install $(if $(findstring clang,$(CC)),clang,gcc libc6-dev) (as root, or with sudo))
endif
endif
