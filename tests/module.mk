# tests/: every tests/unit/test_<name>.c is one Criterion program, linked
# with the daemons' archives and lib (only what it uses is pulled in).
UNIT_SRCS     := $(wildcard tests/unit/test_*.c)
TEST_PROGRAMS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(TEST_ARCHIVES) $(LIBMTA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(TEST_ARCHIVES) $(LIBMTA) -Wl,--end-group $(LDLIBS) -lcares -lssl -lcrypto -lcriterion -lpthread
