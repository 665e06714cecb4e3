/* master_conf: loading the configuration for mta-master and mtactl, making
 * its paths absolute (the daemons get "-c ABSPATH" and the master may have
 * left the directory it was started from), and deciding what a SIGHUP
 * reload has to replace.  Pure functions apart from conf_load(). */
#include "master/master.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int master_path(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;	/* callers report with strerror */
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Append one path segment to out (len used), folding "." and "..". */
static int master_abs_segment(char *out, size_t *len, size_t outlen,
    const char *seg, size_t n)
{
	if (n == 0 || (n == 1 && seg[0] == '.'))
		return 0;
	if (n == 2 && seg[0] == '.' && seg[1] == '.') {
		while (*len > 1 && out[*len - 1] != '/')
			(*len)--;
		if (*len > 1)
			(*len)--;	/* the slash, unless it is the root */
		out[*len] = '\0';
		return 0;
	}
	if (*len + 1 + n + 1 > outlen)
		return -ENAMETOOLONG;
	if (out[*len - 1] != '/')
		out[(*len)++] = '/';
	memcpy(out + *len, seg, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

int master_abs_path(const char *path, char *out, size_t outlen)
{
	char cwd[4096];
	const char *p, *slash;
	size_t len;
	int rc;

	if (outlen < 2 || path[0] == '\0')
		return -EINVAL;
	out[0] = '/';
	out[1] = '\0';
	len = 1;
	if (path[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return -errno;
		if ((rc = master_abs_path(cwd, out, outlen)) < 0)
			return rc;
		len = strlen(out);
	}
	for (p = path; *p != '\0'; p = *slash ? slash + 1 : slash) {
		slash = strchrnul(p, '/');
		rc = master_abs_segment(out, &len, outlen, p, (size_t)(slash - p));
		if (rc < 0)
			return rc;
	}
	return 0;
}

int master_conf_load(struct conf *c, const char *arg, char *conf_path,
    size_t pathlen, char *err, size_t errlen)
{
	char abs[sizeof(c->state_dir)];

	conf_path[0] = '\0';
	if (conf_load(c, arg, err, errlen) < 0)
		return -1;
	/* conf.h: path is the file read, or "(defaults)". */
	if (c->path[0] != '\0' && c->path[0] != '(' &&
	    master_abs_path(c->path, conf_path, pathlen) < 0) {
		snprintf(err, errlen, "%s: path too long", c->path);
		return -1;
	}
	if (master_abs_path(c->state_dir, abs, sizeof(abs)) < 0) {
		snprintf(err, errlen, "%s: state_dir %s: path too long",
		    c->path, c->state_dir);
		return -1;
	}
	memcpy(c->state_dir, abs, sizeof(abs));
	return 0;
}

static int master_sa_equal(const struct conf_listen *a,
    const struct conf_listen *b)
{
	return a->addrlen == b->addrlen &&
	    memcmp(&a->addr, &b->addr, a->addrlen) == 0;
}

int master_listen_same(const struct conf_listen *a, size_t na,
    const struct conf_listen *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (!master_sa_equal(&a[i], &b[i]))
			return 0;
	return 1;
}

int master_qwriter_changed(const struct conf *old, const struct conf *new)
{
	/* What mta-qwriter reads (queue/qwriter_setup.c): its user, the
	 * smtpd user it trusts as a peer, the size limit and the checkpoint
	 * interval.  A restart makes clients retry (451) for a moment. */
	return strcmp(old->user_queue, new->user_queue) != 0 ||
	    strcmp(old->user_smtpd, new->user_smtpd) != 0 ||
	    old->message_size_limit != new->message_size_limit ||
	    old->queue_checkpoint_ms != new->queue_checkpoint_ms;
}
