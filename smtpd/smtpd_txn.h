/* smtpd_txn: one mail transaction of a session: the envelope (MAIL, RCPT),
 * DATA and BDAT content streamed through the decoder to the queue sink in
 * bounded records, and the writer's verdict turned into the reply.  Called
 * by smtpd_proto only. */
#ifndef SMTPD_TXN_H
#define SMTPD_TXN_H
#include <stddef.h>
#include <stdint.h>

#include "smtpd/smtpd.h"

#define SMTPD_RECORD_MAX (64 * 1024)	/* content per DATA record */
#define SMTPD_SLICE_MAX (32 * 1024)	/* input decoded per step */

/* Open a transaction for a parsed MAIL command. */
void smtpd_txn_open(struct smtpd_session *s, const struct smtpd_mail *m);
/* Add a recipient; 0 or a reply id (too many recipients). */
int smtpd_txn_add_rcpt(struct smtpd_session *s, const struct addr *a);
/* Drop the transaction (abort at the sink if content had started). */
void smtpd_txn_close(struct smtpd_session *s);
/* The DATA command (argument already checked). */
void smtpd_txn_data_cmd(struct smtpd_session *s);
/* The BDAT command. */
void smtpd_txn_bdat_cmd(struct smtpd_session *s, uint64_t count, int last);
/* In S_DATA / S_BDAT: take content from p[0..n); returns bytes used. */
size_t smtpd_txn_data(struct smtpd_session *s, const char *p, size_t n);
size_t smtpd_txn_bdat(struct smtpd_session *s, const char *p, size_t n);
#endif
