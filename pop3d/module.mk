# pop3d/: mta-pop3d, the POP3 server.  Everything but pop3d_main.c goes
# into pop3d.a so the unit tests link it.  The helper threads need
# -lpthread; UIDL digests of odd names use libcrypto's SHA-256.
POP3D_SRCS := $(filter-out pop3d/pop3d_main.c,$(wildcard pop3d/*.c))
POP3D_AR   := $(BUILD)/pop3d.a
$(POP3D_AR): $(POP3D_SRCS:%.c=$(BUILD)/%.o)
	$(AR) rcs $@ $^
ifneq ($(POP3D_SRCS),)
TEST_ARCHIVES += $(POP3D_AR)
endif
ifneq ($(wildcard pop3d/pop3d_main.c),)
PROGRAMS += $(BIN)/mta-pop3d
PROG_LIBS_mta-pop3d := -lssl -lcrypto -lpthread -lseccomp
$(BIN)/mta-pop3d: $(BUILD)/pop3d/pop3d_main.o $(POP3D_AR) $(LIBMTA)
endif
