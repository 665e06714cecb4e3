# deliver/: the delivery agents (mta-remote: the SMTP client; mta-local:
# Maildir delivery; agent_*: what both share).  Everything but the main
# files goes into deliver.a.
DELIVER_MAINS := $(wildcard deliver/*_main.c)
DELIVER_SRCS  := $(filter-out $(DELIVER_MAINS),$(wildcard deliver/*.c))
DELIVER_AR    := $(BUILD)/deliver.a
$(DELIVER_AR): $(DELIVER_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^
ifneq ($(DELIVER_SRCS),)
TEST_ARCHIVES += $(DELIVER_AR)
endif
ifneq ($(wildcard deliver/remote_main.c),)
PROGRAMS += $(BIN)/mta-remote
PROG_LIBS_mta-remote := -lcares -lssl -lcrypto
$(BIN)/mta-remote: $(BUILD)/deliver/remote_main.o $(DELIVER_AR) $(QUEUE_AR) $(LIBMTA)
endif
ifneq ($(wildcard deliver/local_main.c),)
PROGRAMS += $(BIN)/mta-local
$(BIN)/mta-local: $(BUILD)/deliver/local_main.o $(DELIVER_AR) $(QUEUE_AR) $(LIBMTA)
endif
