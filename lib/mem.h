/* mem: allocation that cannot fail silently.  Out of memory in a daemon is
 * fatal (the master restarts it); callers never check for NULL.  All size
 * arithmetic goes through the overflow-checked helpers here. */
#ifndef LIB_MEM_H
#define LIB_MEM_H
#include <stddef.h>
/* The system headers that declare the poisoned names come first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Allocate n zeroed bytes; aborts on exhaustion. */
void *xcalloc(size_t n, size_t size);
/* Allocate n bytes; aborts on exhaustion. */
void *xmalloc(size_t n);
/* Resize; aborts on exhaustion or overflow of n*size. */
void *xreallocarray(void *p, size_t n, size_t size);
/* Duplicate a NUL-terminated string. */
char *xstrdup(const char *s);
/* Duplicate n bytes and NUL-terminate. */
char *xstrndup(const char *s, size_t n);
/* a+b, aborting on overflow. */
size_t size_add(size_t a, size_t b);

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Poison the unbounded string functions (STYLE.md). */
#pragma GCC poison strcpy strcat sprintf vsprintf gets
#endif
