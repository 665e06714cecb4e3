/* fds: file descriptor numbers a daemon inherits from mta-master.
 * The master lays them out from MTA_FD_BASE upward and names them in the
 * environment variable MTA_FDS as "role:fd,role:fd" (roles below), so a
 * daemon never guesses.  Everything else is closed on exec.  Daemons that
 * hold many descriptors raise their limit here too. */
#ifndef LIB_FDS_H
#define LIB_FDS_H

#define MTA_FD_BASE 3
#define MTA_FDS_ENV "MTA_FDS"

/* Roles in MTA_FDS. */
#define MTA_FD_ROLE_SMTP "smtp"		/* TCP listener, relay/MX port */
#define MTA_FD_ROLE_POP3 "pop3"		/* TCP listener, pop3_listen */
#define MTA_FD_ROLE_SUBMISSION "submission" /* TCP listener, STARTTLS + AUTH */
#define MTA_FD_ROLE_SMTPS "smtps"	/* TCP listener, implicit TLS + AUTH */
#define MTA_FD_ROLE_POP3S "pop3s"	/* TCP listener, implicit TLS POP3 */
#define MTA_FD_ROLE_TLS "tls"		/* sealed memfd: certificate, key,
					 * ticket keys (lib/tls_server.h) */
#define MTA_FD_ROLE_CONNLIMIT "connlimit" /* memfd: smtpd workers' shared
					 * connection counts (lib/connlimit.h) */
#define MTA_FD_ROLE_QWRITER "qwriter"	/* listening Unix socket of the writer */
#define MTA_FD_ROLE_AGENT "agent"	/* qmgr: delivery agents' socket */
#define MTA_FD_ROLE_QMGRCTL "qmgrctl"	/* qmgr: mtactl's socket */
#define MTA_FD_ROLE_TRANSPORT "transport" /* qmgr: transport_file, read-only */
/* With privilege separation the daemons' users may be unable to traverse
 * to the state_dir or the config (a checkout under /root): the master opens
 * them as root and hands over descriptors, which the daemons use through
 * /proc/self/fd (conf_load_args). */
#define MTA_FD_ROLE_STATEDIR "statedir"	/* O_PATH directory: state_dir */
#define MTA_FD_ROLE_CONF "conf"		/* the config file, read-only */
#define MTA_FD_MAX 72			/* inherited fds at most */

/* Run directory socket names under $state_dir/run/. */
#define MTA_QWRITER_SOCK "qwriter.sock"
#define MTA_AGENT_SOCK "agent.sock"	/* agents -> qmgr, mode 0666 */
#define MTA_QMGR_SOCK "qmgr.sock"	/* mtactl -> qmgr, mode 0600 */
#define MTA_MASTER_PID "master.pid"
#define MTA_MASTER_SOCK "master.sock"	/* mtactl <-> master */

/* Collect the fds of one role from MTA_FDS into out (at most max);
 * returns how many, or -EINVAL if the variable is malformed. */
int fds_get(const char *role, int *out, int max);
/* Raise the soft limit on open descriptors to the hard one (thousands of
 * connections need thousands); best effort. */
void fds_raise_limit(void);
#endif
