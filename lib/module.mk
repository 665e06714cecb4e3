# lib/: shared code, linked into every program as one static archive.
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIBMTA   := $(BUILD)/libmta.a

$(LIBMTA): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
