/* numfmt: fixed-width numbers for the hot paths (queue IDs, status fields,
 * log lines), without a printf format walk each time.  Each writes its
 * digits and a NUL; out needs width + 1 bytes (fmt_dec_u64: 21,
 * fmt_centi: 24). */
#ifndef LIB_NUMFMT_H
#define LIB_NUMFMT_H
#include <stddef.h>
#include <stdint.h>

/* The low width hex digits of v, upper case, zero-padded ("%0*llX"). */
void fmt_hex(char *out, uint64_t v, unsigned width);
/* The low width decimal digits of v, zero-padded ("%0*llu" when v has at
 * most width digits). */
void fmt_dec(char *out, uint64_t v, unsigned width);
/* v in decimal ("%llu"); returns the number of digits. */
size_t fmt_dec_u64(char *out, uint64_t v);
/* Hundredths as "S.HH" ("%.2f" of hundredths / 100); returns the length. */
size_t fmt_centi(char *out, uint64_t hundredths);
#endif
