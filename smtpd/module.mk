# smtpd/: mta-smtpd.  Everything but main.c goes into smtpd.a so tests link it.
SMTPD_SRCS := $(filter-out smtpd/smtpd_main.c,$(wildcard smtpd/*.c))
SMTPD_AR   := $(BUILD)/smtpd.a
$(SMTPD_AR): $(SMTPD_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^
PROGRAMS      += $(BIN)/mta-smtpd
PROG_LIBS_mta-smtpd := -lssl -lcrypto -lpthread -lseccomp
TEST_ARCHIVES += $(SMTPD_AR)
$(BIN)/mta-smtpd: $(BUILD)/smtpd/smtpd_main.o $(SMTPD_AR) $(LIBMTA)
