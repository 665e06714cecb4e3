/* base64: RFC 4648 decoding for SASL responses (pop3d AUTH PLAIN, later
 * smtpd AUTH).  Strict: padding required, no whitespace, no other bytes,
 * bounded by the caller's output size. */
#ifndef LIB_BASE64_H
#define LIB_BASE64_H
#include <stddef.h>

/* Decode in[0..n) into out (at most outlen bytes).  Returns the decoded
 * length, -EINVAL for malformed input, -EMSGSIZE if it does not fit. */
long base64_decode(const char *in, size_t n, char *out, size_t outlen);
#endif
