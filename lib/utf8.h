/* utf8: strict UTF-8 validation (RFC 3629) shared by the parsers that admit
 * 8-bit text (addresses under SMTPUTF8, the config file).  Overlong forms,
 * surrogates (U+D800..DFFF) and code points above U+10FFFF are invalid. */
#ifndef LIB_UTF8_H
#define LIB_UTF8_H
#include <stddef.h>

/* Length (1..4) of the valid sequence at s[0..n), 0 if invalid. */
size_t utf8_seq_len(const char *s, size_t n);
/* 1 if s[0..n) is entirely valid UTF-8. */
int utf8_valid(const char *s, size_t n);
#endif
