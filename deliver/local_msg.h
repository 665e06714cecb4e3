/* local_msg: the pure parts of a Maildir delivery -- the two trace headers
 * the local agent puts first, the queue content (CRLF line endings)
 * converted to the stored form (LF) in chunks that never split a CRLF,
 * the stored size known before writing (quota), and delivery-loop
 * detection in the message header.  No I/O: everything here is unit
 * tested (tests/unit/test_local_msg.c). */
#ifndef DELIVER_LOCAL_MSG_H
#define DELIVER_LOCAL_MSG_H
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define LOCAL_RECEIVED_MAX 100	/* more Received: headers is a loop */

/* "Return-Path: <sender>\nDelivered-To: rcpt\n" into out (appended).
 * 0 or -ENOMEM (buffer limit). */
int local_msg_header(struct buf *out, const char *sender, const char *rcpt);
/* Bytes of content[0..n) once every CRLF is a LF. */
uint64_t local_msg_lf_size(const char *content, size_t n);
/* Where the chunk of content starting at off (< n) ends: at most max
 * bytes (max >= 2), one less when that would split a CRLF. */
size_t local_msg_cut(const char *content, size_t n, size_t off, size_t max);
/* Copy in[0..n) to out with every CRLF as LF (a CR not before a LF stays);
 * returns the bytes written (<= n). */
size_t local_msg_lf(const char *in, size_t n, char *out);
/* 1 if content (CRLF or LF lines) looks like a delivery loop for rcpt:
 * a Delivered-To: header equal to rcpt (any case, <> and blanks
 * ignored) or more than LOCAL_RECEIVED_MAX Received: headers.  Only the
 * header (up to the first empty line) is read. */
int local_msg_loop(const char *content, size_t n, const char *rcpt);
#endif
