# master/: mta-master (the supervisor) and mtactl (the operator's tool).
MASTER_MAINS := master/master_main.c master/mtactl_main.c
MASTER_SRCS  := $(filter-out $(MASTER_MAINS),$(wildcard master/*.c))
MASTER_AR    := $(BUILD)/master.a
$(MASTER_AR): $(MASTER_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^
PROGRAMS      += $(BIN)/mta-master $(BIN)/mtactl
PROG_LIBS_mta-master := -lssl -lcrypto
PROG_LIBS_mtactl := -lssl -lcrypto
TEST_ARCHIVES += $(MASTER_AR)
$(BIN)/mta-master: $(BUILD)/master/master_main.o $(MASTER_AR) $(LIBMTA)
$(BIN)/mtactl: $(BUILD)/master/mtactl_main.o $(MASTER_AR) $(QUEUE_AR) $(LIBMTA)
