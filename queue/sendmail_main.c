/* sendmail: the sendmail-compatible injection command.  Reads the message
 * on stdin, hands it to the queue writer and exits 0 only once it is
 * queued durably.  This file wires the parts (sendmail_*.c) together:
 * arguments, config (-C FILE, else $MTA_CONF, ./mta.conf, defaults), the
 * envelope, the input loop and the exit status (sysexits(3)). */
#include "queue/sendmail.h"
#include "lib/conf.h"
#include "lib/fds.h"
#include "lib/mem.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

static struct conf conf;

static void die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sendmail: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* The invoking user's login name (or uidN). */
static const char *login_name(void)
{
	static char buf[32];
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL && pw->pw_name[0] != '\0')
		return pw->pw_name;
	snprintf(buf, sizeof(buf), "uid%u", (unsigned)getuid());
	return buf;
}

static void read_message(struct sendmail_msg *m)
{
	static char chunk[65536];
	struct buf pending;
	int rc = 0;

	buf_init(&pending, 0);
	while (rc == 0) {
		ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die(EX_IOERR, "cannot read the message: %s",
			    strerror(errno));
		if (n == 0) {
			rc = sendmail_msg_eof(m, &pending);
			break;
		}
		rc = sendmail_msg_feed(m, &pending, chunk, (size_t)n);
	}
	if (rc == -EMSGSIZE)
		die(EX_DATAERR, "%s", "message too large");
	buf_free(&pending);
}

static void envelope(const struct sendmail_opts *o, struct sendmail_env *env,
    struct sendmail_rcpts *rc, int *utf8)
{
	static char defsender[512];
	char *s;

	if (o->sender != NULL) {
		s = sendmail_addr(o->sender, strlen(o->sender), env->hostname, 1,
		    utf8);
		if (s == NULL)
			die(EX_USAGE, "bad sender address: %s", o->sender);
	} else {
		snprintf(defsender, sizeof(defsender), "%s", env->user);
		s = sendmail_addr(defsender, strlen(defsender), env->hostname,
		    1, utf8);
		if (s == NULL)
			die(EX_DATAERR, "cannot make a sender address for %s",
			    env->user);
	}
	env->sender = s;
	for (size_t i = 0; i < o->nrcpt; i++) {
		char *a = sendmail_addr(o->rcpts[i], strlen(o->rcpts[i]),
		    env->hostname, 0, utf8);

		if (a == NULL)
			die(EX_USAGE, "bad recipient address: %s", o->rcpts[i]);
		sendmail_rcpts_add(rc, a);
	}
	if (rc->n == 0 && !o->extract)
		die(EX_USAGE, "%s", "no recipients specified");
}

int main(int argc, char **argv)
{
	struct sendmail_opts o;
	struct sendmail_env env;
	struct sendmail_rcpts rc = { NULL, 0 };
	struct sendmail_msg m;
	struct timeval tv;
	char err[CONF_ERR_MAX], msgid[512], sock[4200];
	int utf8 = 0, code;

	if (sendmail_parse_args(argc, argv, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "sendmail: %s\nusage: sendmail [-t] [-i] "
		    "[-f sender] [-C config] [--] [recipient ...]\n", err);
		return EX_USAGE;
	}
	if (conf_load(&conf, o.conf, err, sizeof(err)) < 0)
		die(EX_CONFIG, "%s", err);
	gettimeofday(&tv, NULL);
	snprintf(msgid, sizeof(msgid), "<%llX.%ld@%s>",
	    (unsigned long long)tv.tv_sec * 1000000ull +
	    (unsigned long long)tv.tv_usec, (long)getpid(), conf.hostname);
	memset(&env, 0, sizeof(env));
	env.hostname = conf.hostname;
	env.user = login_name();
	env.uid = getuid();
	env.now = tv.tv_sec;
	env.msgid = msgid;
	env.limit = (size_t)conf.message_size_limit;
	envelope(&o, &env, &rc, &utf8);
	sendmail_msg_init(&m, &o, env.limit);
	read_message(&m);
	code = sendmail_msg_finish(&m, &env, &rc, err, sizeof(err));
	if (code == -EMSGSIZE)
		die(EX_DATAERR, "%s", "message too large");
	if (code < 0)
		die(EX_DATAERR, "%s", err);
	if (rc.n == 0)
		die(EX_USAGE, "%s", "no recipients found");
	utf8 |= m.utf8;
	snprintf(sock, sizeof(sock), "%s/run/%s", conf.state_dir,
	    MTA_QWRITER_SOCK);
	code = sendmail_submit(sock, env.sender, &rc, &m.content, m.eightbit,
	    utf8, err, sizeof(err));
	if (code != EX_OK)
		die(code, "%s", err);
	sendmail_msg_free(&m);
	sendmail_rcpts_free(&rc);
	free((char *)env.sender);
	conf_free(&conf);
	return EX_OK;
}
