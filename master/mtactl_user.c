/* mtactl_user: `mtactl user add|passwd|del|list`, the operator's side of
 * users_file.  Passwords come from /dev/tty with echo off (asked twice) or
 * as one line on stdin (--password-stdin); never from the command line,
 * never logged, wiped after hashing.  Every change goes through
 * users_file_update (atomic replace, 0640, root:group_auth as root), which
 * the daemons pick up with users_refresh, without a restart. */
#include "master/mtactl.h"
#include "lib/maildir.h"
#include "lib/users.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define MTACTL_PW_BUF (USERS_PASSWORD_MAX + 1)
#define MTACTL_STR2(x) #x
#define MTACTL_STR(x) MTACTL_STR2(x)

int mtactl_password_line(int fd, char *out, size_t outlen, const char **why)
{
	size_t n = 0;
	ssize_t r;
	char c;

	for (;;) {
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*why = strerror(errno);
			return -errno;
		}
		if (r == 0 || c == '\n')
			break;
		if (c == '\0') {
			*why = "NUL byte in the password";
			return -EINVAL;
		}
		if (n + 1 >= outlen || n == USERS_PASSWORD_MAX) {
			*why = "password longer than "
			    MTACTL_STR(USERS_PASSWORD_MAX) " bytes";
			return -EINVAL;
		}
		out[n++] = c;
	}
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	if (n == 0) {
		*why = r == 0 ? "no password (end of input)" : "empty password";
		return -EINVAL;
	}
	return 0;
}

/* The terminal while echo is off, for the signal handler to restore. */
static int mtactl_tty_fd = -1;
static struct termios mtactl_tty_saved;

static void mtactl_tty_restore(void)
{
	if (mtactl_tty_fd >= 0)
		tcsetattr(mtactl_tty_fd, TCSAFLUSH, &mtactl_tty_saved);
}

static void mtactl_tty_signal(int sig)
{
	mtactl_tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Prompt on tty and read one line with echo off. */
static int mtactl_tty_read(int tty, const char *prompt, char *out,
    size_t outlen, const char **why)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP };
	struct termios t;
	int rc;

	if (tcgetattr(tty, &mtactl_tty_saved) < 0) {
		*why = strerror(errno);
		return -errno;
	}
	t = mtactl_tty_saved;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	t.c_lflag |= ECHONL | ICANON;
	mtactl_tty_fd = tty;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], mtactl_tty_signal);
	(void)!write(tty, prompt, strlen(prompt));
	if (tcsetattr(tty, TCSAFLUSH, &t) < 0) {
		*why = strerror(errno);
		rc = -errno;
	} else {
		rc = mtactl_password_line(tty, out, outlen, why);
	}
	mtactl_tty_restore();
	mtactl_tty_fd = -1;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	return rc;
}

/* The new password into pw: asked twice on /dev/tty, or one stdin line. */
static int mtactl_user_password(const char *addr, int from_stdin, char *pw,
    size_t pwlen)
{
	char again[MTACTL_PW_BUF], prompt[USERS_ADDRESS_MAX + 32];
	const char *why = "";
	int tty, rc;

	if (from_stdin) {
		if ((rc = mtactl_password_line(0, pw, pwlen, &why)) < 0)
			fprintf(stderr, "mtactl: --password-stdin: %s\n", why);
		return rc;
	}
	if ((tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "mtactl: no terminal to ask for the password "
		    "on; use --password-stdin\n");
		return -ENOTTY;
	}
	snprintf(prompt, sizeof(prompt), "New password for %s: ", addr);
	rc = mtactl_tty_read(tty, prompt, pw, pwlen, &why);
	if (rc == 0)
		rc = mtactl_tty_read(tty, "Retype the password: ", again,
		    sizeof(again), &why);
	if (rc == 0 && strcmp(pw, again) != 0) {
		why = "the passwords do not match";
		rc = -EINVAL;
	}
	explicit_bzero(again, sizeof(again));
	close(tty);
	if (rc < 0)
		fprintf(stderr, "mtactl: %s\n", why);
	return rc;
}

/* addr (lower-cased) into out if it may be an account here; 0, or 1 with
 * the reason printed. */
static int mtactl_user_address(struct mtactl *ctl, const char *arg,
    int need_local, char *out, size_t outlen)
{
	size_t n = strlen(arg);
	const char *at;

	if (n == 0 || n > USERS_ADDRESS_MAX || n >= outlen) {
		fprintf(stderr, "mtactl: %s: not a valid mailbox address\n",
		    arg);
		return 1;
	}
	for (size_t i = 0; i <= n; i++)
		out[i] = (arg[i] >= 'A' && arg[i] <= 'Z') ?
		    (char)(arg[i] + 32) : arg[i];
	if (!maildir_address_ok(out)) {
		fprintf(stderr, "mtactl: %s: not a valid mailbox address "
		    "(local@domain; the local part of letters, digits and "
		    ". _ + -)\n", arg);
		return 1;
	}
	at = strrchr(out, '@');
	if (need_local && !conf_is_local_domain(&ctl->conf, at + 1)) {
		fprintf(stderr, "mtactl: %s: %s is not one of local_domains "
		    "(%s)\n", arg, at + 1, ctl->conf.path);
		return 1;
	}
	return 0;
}

/* The group users_file gets: group_auth when root, else -1 (unchanged).
 * 0, or 1 with the reason printed. */
static int mtactl_user_gid(struct mtactl *ctl, long *gid)
{
	struct group *gr;

	*gid = -1;
	if (geteuid() != 0)
		return 0;
	errno = 0;
	if ((gr = getgrnam(ctl->conf.group_auth)) == NULL) {
		fprintf(stderr, "mtactl: group_auth = %s: no such group; "
		    "create it with scripts/mkusers (or make install)\n",
		    ctl->conf.group_auth);
		return 1;
	}
	*gid = (long)gr->gr_gid;
	return 0;
}

/* Does addr have an account?  1 yes, 0 no, -1 the file is unreadable
 * (printed). */
static int mtactl_user_known(struct mtactl *ctl, const char *addr)
{
	char err[CONF_ERR_MAX];
	struct users *u;
	int known;

	if (users_load(&u, ctl->conf.users_file, err, sizeof(err)) < 0) {
		fprintf(stderr, "mtactl: %s\n", err);
		return -1;
	}
	known = users_exists(u, addr);
	users_free(u);
	return known;
}

static int mtactl_user_list(struct mtactl *ctl)
{
	char err[CONF_ERR_MAX];
	struct users *u;

	if (users_load(&u, ctl->conf.users_file, err, sizeof(err)) < 0) {
		fprintf(stderr, "mtactl: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < users_count(u); i++)
		printf("%s\n", users_address(u, i));
	users_free(u);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* add, passwd or del one account (argv: the words after the verb). */
static int mtactl_user_change(struct mtactl *ctl, enum users_op op,
    int argc, char **argv)
{
	char addr[USERS_ADDRESS_MAX + 1], pw[MTACTL_PW_BUF];
	char hash[USERS_HASH_MAX], err[CONF_ERR_MAX];
	const char *arg = NULL;
	int from_stdin = 0, known, rc;
	long gid;

	for (int i = 0; i < argc; i++) {
		if (op != USERS_DEL && strcmp(argv[i], "--password-stdin") == 0)
			from_stdin = 1;
		else if (arg == NULL && argv[i][0] != '-')
			arg = argv[i];
		else
			return MTACTL_EX_USAGE;
	}
	if (arg == NULL)
		return MTACTL_EX_USAGE;
	mtactl_conf(ctl);
	if (mtactl_user_address(ctl, arg, op != USERS_DEL, addr,
	    sizeof(addr)) != 0 || mtactl_user_gid(ctl, &gid) != 0)
		return 1;
	/* Before asking for a password that would be refused anyway. */
	if ((known = mtactl_user_known(ctl, addr)) < 0)
		return 1;
	if (op == USERS_ADD && known) {
		fprintf(stderr, "mtactl: user %s already exists\n", addr);
		return 1;
	}
	if (op != USERS_ADD && !known) {
		fprintf(stderr, "mtactl: no such user: %s\n", addr);
		return 1;
	}
	hash[0] = '\0';
	if (op != USERS_DEL) {
		if (mtactl_user_password(addr, from_stdin, pw, sizeof(pw)) < 0)
			return 1;
		rc = users_hash(pw, hash, sizeof(hash));
		explicit_bzero(pw, sizeof(pw));
		if (rc < 0) {
			fprintf(stderr, "mtactl: cannot hash the password: "
			    "%s\n", strerror(-rc));
			return 1;
		}
	}
	rc = users_file_update(ctl->conf.users_file, op, addr,
	    op == USERS_DEL ? NULL : hash, gid, err, sizeof(err));
	explicit_bzero(hash, sizeof(hash));
	if (rc == -EEXIST)
		fprintf(stderr, "mtactl: user %s already exists\n", addr);
	else if (rc == -ENOENT && strstr(err, "no such user") != NULL)
		fprintf(stderr, "mtactl: no such user: %s\n", addr);
	else if (rc < 0)
		fprintf(stderr, "mtactl: %s\n", err);
	if (rc < 0)
		return 1;
	printf("user %s %s\n", addr, op == USERS_ADD ? "added" :
	    op == USERS_PASSWD ? "password changed" : "deleted");
	return 0;
}

static int mtactl_user_usage(void)
{
	fprintf(stderr, "usage: mtactl user add ADDRESS [--password-stdin]\n"
	    "       mtactl user passwd ADDRESS [--password-stdin]\n"
	    "       mtactl user del ADDRESS\n"
	    "       mtactl user list\n");
	return MTACTL_EX_USAGE;
}

int mtactl_user(struct mtactl *ctl, int argc, char **argv)
{
	int rc = MTACTL_EX_USAGE;

	if (argc < 2)
		return mtactl_user_usage();
	if (strcmp(argv[1], "list") == 0 && argc == 2) {
		mtactl_conf(ctl);
		return mtactl_user_list(ctl);
	}
	if (strcmp(argv[1], "add") == 0)
		rc = mtactl_user_change(ctl, USERS_ADD, argc - 2, argv + 2);
	else if (strcmp(argv[1], "passwd") == 0)
		rc = mtactl_user_change(ctl, USERS_PASSWD, argc - 2, argv + 2);
	else if (strcmp(argv[1], "del") == 0)
		rc = mtactl_user_change(ctl, USERS_DEL, argc - 2, argv + 2);
	return rc == MTACTL_EX_USAGE ? mtactl_user_usage() : rc;
}
