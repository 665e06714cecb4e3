# bench/: the load generator (mta-loadgen) and the SMTP sink (mta-sink).
# Their non-main files go into bench.a so the unit tests link them; the sink
# reuses smtpd's command parser and DATA/BDAT decoder (smtpd.a).
SINK_SRCS    := $(wildcard bench/sink_*.c)
LOADGEN_SRCS := $(wildcard bench/loadgen_*.c)
BENCH_SRCS   := $(filter-out bench/sink_main.c bench/loadgen_main.c,$(SINK_SRCS) $(LOADGEN_SRCS))
BENCH_AR     := $(BUILD)/bench.a
$(BENCH_AR): $(BENCH_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^
TEST_ARCHIVES += $(BENCH_AR)
ifneq ($(wildcard bench/sink_main.c),)
PROGRAMS += $(BIN)/mta-sink
$(BIN)/mta-sink: $(BUILD)/bench/sink_main.o $(BENCH_AR) $(SMTPD_AR) $(LIBMTA)
endif
ifneq ($(wildcard bench/loadgen_main.c),)
PROGRAMS += $(BIN)/mta-loadgen
PROG_LIBS_mta-loadgen := -lssl -lcrypto
$(BIN)/mta-loadgen: $(BUILD)/bench/loadgen_main.o $(BENCH_AR) $(LIBMTA)
endif
