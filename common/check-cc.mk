# check-cc.mk - stop at once, with one line, when the compiler is missing.
ifeq ($(filter clean help,$(MAKECMDGOALS)),)
KIT_CC_NAME := $(firstword $(CC))
ifeq ($(shell command -v $(KIT_CC_NAME) 2>/dev/null),)
KIT_CC_PKG  := $(if $(findstring clang,$(KIT_CC_NAME)),clang,$(if $(filter cc gcc%,$(KIT_CC_NAME)),gcc libc6-dev,$(KIT_CC_NAME)))
KIT_AS_ROOT := $(if $(filter 0,$(shell id -u)),,$(if $(shell command -v sudo 2>/dev/null),sudo ,as root: ))
$(error the C compiler '$(KIT_CC_NAME)' is not installed; on Debian or Ubuntu: $(KIT_AS_ROOT)apt-get install $(KIT_CC_PKG))
endif
endif
