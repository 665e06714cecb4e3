# tests/: every tests/unit/test_<name>.c is one Criterion program, linked
# with the daemons' archives and lib (only what it uses is pulled in).
UNIT_SRCS     := $(wildcard tests/unit/test_*.c)
TEST_PROGRAMS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# lib/sandbox.c's filter: the one test that installs it.
$(BUILD)/tests/test_sandbox: LDLIBS += -lseccomp

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(TEST_ARCHIVES) $(LIBMTA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(TEST_ARCHIVES) $(LIBMTA) -Wl,--end-group $(LDLIBS) -lcares -lssl -lcrypto -lcriterion -lpthread

# tests/tools/: small programs only the system tests run (never installed).
TEST_TOOLS := $(BUILD)/tests/tools/dsn_dump
TEST_PROGRAMS += $(TEST_TOOLS)
system-test: $(TEST_TOOLS)
$(BUILD)/tests/tools/dsn_dump: $(BUILD)/tests/tools/dsn_dump.o $(BUILD)/queue/dsn.o $(BUILD)/queue/queue_file.o $(BUILD)/queue/queue_spool.o $(LIBMTA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LDLIBS)
