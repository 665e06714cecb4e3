# Non-recursive build: every directory contributes a module.mk.
# Objects go to $(BUILD)/, programs to $(BUILD)/bin/.  SANITIZE=1 builds
# ASan+UBSan without jemalloc into build-san/ (the two allocators do not mix).

SANITIZE ?= 0
PREFIX   ?= /usr/local
DESTDIR  ?=

ifeq ($(SANITIZE),1)
BUILD    ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
MALLOC_LIBS :=
else
BUILD    ?= build
SANFLAGS :=
MALLOC_LIBS := -ljemalloc
endif
BIN := $(BUILD)/bin

CC      ?= gcc
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Wpointer-arith -Wundef -Wno-unused-parameter
ifeq ($(CI),true)
WARN    += -Werror
endif
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) $(SANFLAGS) -D_GNU_SOURCE -I. -MMD -MP
LDFLAGS += $(SANFLAGS)
LDLIBS  := -luring -lcrypt

# Keep test objects (pattern-rule intermediates) between runs.
.SECONDARY:

.PHONY: all test unit-test system-test run deps bench install clean fuzz
all:

include lib/module.mk
include queue/module.mk
include smtpd/module.mk
include deliver/module.mk
include pop3d/module.mk
include master/module.mk
include bench/module.mk
include tests/module.mk

all: $(PROGRAMS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# One program per rule: program name -> its objects, plus lib.
$(BIN)/%:
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LDLIBS) $(PROG_LIBS_$*) $(MALLOC_LIBS)

deps:
	@./scripts/deps

test: deps all $(TEST_PROGRAMS)
	@./tests/run-all $(BUILD)

unit-test: all $(TEST_PROGRAMS)
	@./tests/run-all $(BUILD) unit

system-test: all
	@./tests/run-all $(BUILD) system

run: deps all
	$(BIN)/mta-master -F

bench: all
	@./bench/run --peer postfix

# libFuzzer targets (clang): FUZZ_SECONDS each, one after the other.
# (make test runs them all at once for 60 s: tests/run-all.)
FUZZ_SECONDS ?= 300
fuzz:
	@FUZZ_OUT=$(BUILD)/fuzz ./tests/fuzz/run $(FUZZ_SECONDS)

install: all
	./scripts/install "$(DESTDIR)" "$(PREFIX)" "$(BIN)"

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
