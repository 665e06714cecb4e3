/* mem: checked allocation wrappers; see mem.h. */
#include "lib/mem.h"
#include "lib/log.h"

#include <stdlib.h>
#include <string.h>

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		panic("out of memory (%zu bytes)", n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		panic("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total))
		panic("allocation size overflow (%zu x %zu)", n, size);
	p = realloc(p, total ? total : 1);
	if (p == NULL)
		panic("out of memory (%zu bytes)", total);
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(size_add(n, 1));

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

size_t size_add(size_t a, size_t b)
{
	size_t r;

	if (__builtin_add_overflow(a, b, &r))
		panic("size overflow (%zu + %zu)", a, b);
	return r;
}
