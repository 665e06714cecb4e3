/* mtactl_qmgr: mtactl's side of the queue manager's control socket,
 * run/qmgr.sock (docs/delivery-protocol.md, "mtactl <-> queue manager"):
 * one IPC_CTL_REQ with CMD and ARG, one IPC_CTL_REPLY with STATUS and
 * TEXT.  The master holds the listening socket even while qmgr restarts,
 * so "not running" is decided from run/status first and every wait has a
 * deadline: a missing queue manager is exit 69, never a hang.  Blocking. */
#include "master/mtactl.h"
#include "master/master.h"
#include "lib/fdio.h"
#include "lib/fds.h"
#include "lib/ipc.h"
#include "lib/qid.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define MTACTL_QMGR_REQ_ID 1

/* 1 if run/status lists a running mta-qmgr, 0 if not, -errno. */
static int mtactl_qmgr_listed(const char *state_dir)
{
	char path[4096], line[256], name[64], state[16];
	long pid;
	int found = 0;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/run/%s", state_dir,
	    MASTER_STATUS_FILE) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if ((f = fopen(path, "re")) == NULL)
		return -errno;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = mtactl_status_line_ok(line) &&
		    sscanf(line, "%63s %ld %15s", name, &pid, state) == 3 &&
		    strcmp(name, MASTER_PROG_QMGR) == 0 &&
		    strcmp(state, "running") == 0;
	fclose(f);
	return found;
}

/* Connect to run/qmgr.sock (through /proc/self/fd when the path is too
 * long for sun_path) with send and receive deadlines.  fd or -errno. */
static int mtactl_qmgr_connect(const char *state_dir, int timeout_s)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { timeout_s, 0 };
	char run[4096];
	int fd, dfd = -1, e, n;

	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/run/%s",
	    state_dir, MTA_QMGR_SOCK);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		if (snprintf(run, sizeof(run), "%s/run", state_dir) >=
		    (int)sizeof(run))
			return -ENAMETOOLONG;
		if ((dfd = open(run, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			return -errno;
		snprintf(sun.sun_path, sizeof(sun.sun_path),
		    "/proc/self/fd/%d/%s", dfd, MTA_QMGR_SOCK);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		e = errno;
		close(fd);
		fd = -e;
	} else if (fd < 0) {
		fd = -errno;
	}
	if (dfd >= 0)
		close(dfd);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

int mtactl_ctl_reply(const struct ipc_msg *m, uint64_t id, struct buf *text,
    int *status)
{
	struct ipc_iter it;
	const char *val;
	uint32_t len, i;
	uint16_t tag;
	int rc, have_status = 0;

	if (m->hdr.type != IPC_CTL_REPLY || m->hdr.id != id)
		return -EPROTO;
	buf_reset(text);
	ipc_iter_init(&it, m);
	while ((rc = ipc_next(&it, &tag, &val, &len)) > 0) {
		if (tag == IPC_A_TEXT) {
			buf_reset(text);
			buf_append(text, val, len);
		} else if (tag == IPC_A_STATUS) {
			/* Canonical decimal 0..255, once. */
			if (have_status++ || len == 0 || len > 3 ||
			    (len > 1 && val[0] == '0'))
				return -EPROTO;
			*status = 0;
			for (i = 0; i < len; i++) {
				if (val[i] < '0' || val[i] > '9')
					return -EPROTO;
				*status = *status * 10 + (val[i] - '0');
			}
			if (*status > 255)
				return -EPROTO;
		}			/* other tags: a newer qmgr, ignored */
	}
	if (rc < 0 || !have_status)
		return -EPROTO;
	buf_cstr(text);
	return 0;
}

/* Send the request and read the one reply.  0 or -errno. */
static int mtactl_qmgr_exchange(int fd, const char *cmd, const char *arg,
    struct buf *text, int *status)
{
	struct buf out, in;
	struct ipc_msg m;
	size_t off;
	int rc;

	buf_init(&out, 0);
	buf_init(&in, 0);
	off = ipc_begin(&out, IPC_CTL_REQ, MTACTL_QMGR_REQ_ID);
	ipc_put_str(&out, IPC_A_CMD, cmd);
	ipc_put_str(&out, IPC_A_ARG, arg);
	ipc_end(&out, off);
	rc = fdio_send_all(fd, out.data, out.len);
	if (rc == 0)
		rc = ipc_read_msg(fd, &in, &m);
	if (rc == 0)
		rc = mtactl_ctl_reply(&m, MTACTL_QMGR_REQ_ID, text, status);
	buf_free(&out);
	buf_free(&in);
	return rc;
}

/* Is there a queue manager to ask?  0, or -ESRCH with the reason. */
static int mtactl_qmgr_up(const char *state_dir, char *err, size_t errlen)
{
	pid_t master = master_pidfile_running(state_dir);
	int listed;

	if (master == 0) {
		snprintf(err, errlen, "the queue manager is not running "
		    "(mta is not running)");
		return -ESRCH;
	}
	listed = mtactl_qmgr_listed(state_dir);
	if (listed == 0) {
		snprintf(err, errlen, "the queue manager is not running "
		    "(mta-master is restarting it; see the log)");
		return -ESRCH;
	}
	return 0;		/* or unknown: let connect decide */
}

int mtactl_qmgr_ask(struct mtactl *ctl, const char *cmd, const char *arg,
    int timeout_s, struct buf *text, int *status, char *err, size_t errlen)
{
	const char *dir = ctl->conf.state_dir;
	int fd, rc;

	if ((rc = mtactl_qmgr_up(dir, err, errlen)) < 0)
		return rc;
	if ((fd = mtactl_qmgr_connect(dir, timeout_s)) < 0) {
		if (fd == -EACCES)
			snprintf(err, errlen, "%s/run/%s: permission denied "
			    "(run mtactl as root)", dir, MTA_QMGR_SOCK);
		else
			snprintf(err, errlen, "the queue manager is not running "
			    "(%s/run/%s: %s)", dir, MTA_QMGR_SOCK,
			    strerror(-fd));
		return fd == -EACCES ? -EACCES : -ESRCH;
	}
	rc = mtactl_qmgr_exchange(fd, cmd, arg, text, status);
	close(fd);
	if (rc == -EAGAIN || rc == -EWOULDBLOCK) {
		snprintf(err, errlen, "no answer from the queue manager within "
		    "%d s", timeout_s);
		return -ETIMEDOUT;
	}
	if (rc == -EPROTO) {
		snprintf(err, errlen, "malformed reply from the queue manager");
		return -EPROTO;
	}
	if (rc < 0) {
		snprintf(err, errlen, "the queue manager closed the connection "
		    "(%s)", strerror(-rc));
		return -ESRCH;
	}
	return 0;
}

/* Ask and print: TEXT on stdout (stderr when STATUS is not 0), exit with
 * STATUS; 69 when there is nobody to ask. */
static int mtactl_qmgr_run(struct mtactl *ctl, const char *cmd,
    const char *arg)
{
	char err[4096 + 256];
	struct buf text;
	int status = 0, rc;
	FILE *f;

	mtactl_conf(ctl);
	buf_init(&text, 0);
	rc = mtactl_qmgr_ask(ctl, cmd, arg, MTACTL_QMGR_TIMEOUT_SEC, &text,
	    &status, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "mtactl: %s: %s\n", cmd, err);
		buf_free(&text);
		return rc == -EACCES || rc == -EPROTO ? 1 : MTACTL_EX_UNAVAILABLE;
	}
	f = status == 0 ? stdout : stderr;
	if (text.len > 0) {
		fwrite(text.data, 1, text.len, f);
		if (text.data[text.len - 1] != '\n')
			fputc('\n', f);
	}
	buf_free(&text);
	return status;
}

/* A queue ID argument in canonical (upper-case) form into id; "all" too
 * when all_ok.  0, or -1 after printing why. */
static int mtactl_qid_arg(const char *arg, int all_ok, char id[QID_LEN + 1])
{
	uint64_t qid;
	size_t i, n = strlen(arg);

	if (all_ok && strcmp(arg, "all") == 0) {
		snprintf(id, QID_LEN + 1, "all");
		return 0;
	}
	if (n != QID_LEN) {
		fprintf(stderr, "mtactl: %s: not a queue ID\n", arg);
		return -1;
	}
	for (i = 0; i < n; i++)
		id[i] = (char)toupper((unsigned char)arg[i]);
	id[n] = '\0';
	if (qid_parse(id, &qid) < 0) {
		fprintf(stderr, "mtactl: %s: not a queue ID\n", arg);
		return -1;
	}
	return 0;
}

/* flush, stats: no argument.  delete, hold, release: one ID (or all). */
static int mtactl_qmgr_cmd(struct mtactl *ctl, int argc, char **argv,
    int nargs, int all_ok)
{
	char id[QID_LEN + 1];

	if (argc != 1 + nargs) {
		fprintf(stderr, "usage: mtactl %s%s\n", argv[0],
		    nargs == 0 ? "" : all_ok ? " ID|all" : " ID");
		return MTACTL_EX_USAGE;
	}
	if (nargs == 0)
		return mtactl_qmgr_run(ctl, argv[0], "");
	if (mtactl_qid_arg(argv[1], all_ok, id) < 0)
		return MTACTL_EX_USAGE;
	return mtactl_qmgr_run(ctl, argv[0], id);
}

int mtactl_flush(struct mtactl *ctl, int argc, char **argv)
{
	return mtactl_qmgr_cmd(ctl, argc, argv, 0, 0);
}

int mtactl_stats(struct mtactl *ctl, int argc, char **argv)
{
	return mtactl_qmgr_cmd(ctl, argc, argv, 0, 0);
}

int mtactl_delete(struct mtactl *ctl, int argc, char **argv)
{
	return mtactl_qmgr_cmd(ctl, argc, argv, 1, 1);
}

int mtactl_hold(struct mtactl *ctl, int argc, char **argv)
{
	return mtactl_qmgr_cmd(ctl, argc, argv, 1, 0);
}

int mtactl_release(struct mtactl *ctl, int argc, char **argv)
{
	return mtactl_qmgr_cmd(ctl, argc, argv, 1, 0);
}
