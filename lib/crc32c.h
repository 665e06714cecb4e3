/* crc32c: Castagnoli CRC, used to detect torn or corrupt journal records
 * and queue files. */
#ifndef LIB_CRC32C_H
#define LIB_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/* Extend crc (start with 0) over n bytes (hardware when the CPU has it). */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);
/* The portable table-driven version, for tests and for comparison. */
uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n);
#endif
