# queue/: the queue writer (mta-qwriter), the queue manager (mta-qmgr), the
# on-disk queue format, and the sendmail command.  Everything but the main
# files goes into queue.a.
QUEUE_MAINS := queue/qwriter_main.c queue/qmgr_main.c queue/sendmail_main.c
QUEUE_SRCS  := $(filter-out $(QUEUE_MAINS),$(wildcard queue/*.c))
QUEUE_AR    := $(BUILD)/queue.a
$(QUEUE_AR): $(QUEUE_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^
PROGRAMS      += $(BIN)/mta-qwriter $(BIN)/mta-qmgr $(BIN)/sendmail \
                 $(BIN)/mta-sendmail
TEST_ARCHIVES += $(QUEUE_AR)
PROG_LIBS_mta-qwriter := -lpthread
$(BIN)/mta-qwriter: $(BUILD)/queue/qwriter_main.o $(QUEUE_AR) $(LIBMTA)
$(BIN)/mta-qmgr: $(BUILD)/queue/qmgr_main.o $(QUEUE_AR) $(LIBMTA)
$(BIN)/sendmail: $(BUILD)/queue/sendmail_main.o $(QUEUE_AR) $(LIBMTA)
$(BIN)/mta-sendmail: $(BIN)/sendmail
	ln -sf sendmail $@
