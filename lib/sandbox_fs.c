/* sandbox_fs: Landlock for mta-smtpd and mta-pop3d; see sandbox.h.
 * Debian's <linux/landlock.h> stops at ABI 2: the later rights and the
 * longer ruleset attribute are spelled out here.  users_file and
 * aliases_file are replaced by rename (mtactl user, editors), so a rule
 * on the file would keep pointing at the old inode: the rule is on their
 * directory, read-only, which is as narrow as Landlock can say it. */
#include "lib/sandbox.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LL_FS_TRUNCATE		(1ULL << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV		(1ULL << 15)	/* ABI 5 */
#define LL_NET_BIND_TCP		(1ULL << 0)	/* ABI 4 */
#define LL_NET_CONNECT_TCP	(1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX	(1ULL << 0)	/* ABI 6 */
#define LL_SCOPE_SIGNAL		(1ULL << 1)

#define LL_RO	LANDLOCK_ACCESS_FS_READ_FILE
#define LL_MAIL	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | \
	LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_DIR | \
	LANDLOCK_ACCESS_FS_REFER)

/* struct landlock_ruleset_attr as of ABI 6. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

int sandbox_fs_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);

	return v < 0 ? -errno : (int)v;
}

/* Every filesystem right ABI abi knows: all of them are denied unless a
 * rule grants them. */
static uint64_t handled_fs(int abi)
{
	uint64_t fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;	/* ABI 1 */

	if (abi >= 2)
		fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		fs |= LL_FS_IOCTL_DEV;
	return fs;
}

static void rule_dir_of(struct sandbox_fs_rule *r, const char *file,
    uint64_t access)
{
	char tmp[sizeof(r->path)];

	snprintf(tmp, sizeof(tmp), "%s", file);
	snprintf(r->path, sizeof(r->path), "%s", dirname(tmp));
	r->access = access;
}

size_t sandbox_fs_rules(enum sandbox_kind kind, const struct conf *c,
    struct sandbox_fs_rule *out)
{
	size_t n = 0;

	if (c->users_file[0] != '\0')
		rule_dir_of(&out[n++], c->users_file, LL_RO);
	if (kind == SANDBOX_SMTPD && c->aliases_file[0] != '\0')
		rule_dir_of(&out[n++], c->aliases_file, LL_RO);
	if (kind == SANDBOX_POP3D) {
		if (snprintf(out[n].path, sizeof(out[n].path), "%s/mail",
		    c->state_dir) < (int)sizeof(out[n].path))
			out[n++].access = LL_MAIL;
	}
#if defined(__SANITIZE_ADDRESS__)
	/* LeakSanitizer reads /proc/self/maps and task/ at exit. */
	snprintf(out[n].path, sizeof(out[n].path), "/proc/self");
	out[n++].access = LL_RO | LANDLOCK_ACCESS_FS_READ_DIR;
#endif
	return n;
}

static int add_rule(int rfd, const struct sandbox_fs_rule *r, uint64_t fs)
{
	struct landlock_path_beneath_attr pb;
	int rc = 0;

	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = r->access & fs;
	if ((pb.parent_fd = open(r->path, O_PATH | O_CLOEXEC)) < 0) {
		log_warn("landlock: %s: %s; left out", r->path,
		    strerror(errno));
		return 0;
	}
	if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH,
	    &pb, 0) < 0)
		rc = -errno;
	close(pb.parent_fd);
	return rc;
}

int sandbox_fs_apply(const struct sandbox_fs_rule *rules, size_t n)
{
	struct ll_ruleset_attr attr;
	int abi = sandbox_fs_abi(), rfd, rc = 0;

	if (abi < 0)
		return abi;
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = handled_fs(abi);
	if (abi >= 4)
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
	if (abi >= 6)
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
	rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rfd < 0)
		return -errno;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = add_rule(rfd, &rules[i], attr.handled_access_fs);
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		rc = -errno;
	if (rc == 0 && syscall(SYS_landlock_restrict_self, rfd, 0) < 0)
		rc = -errno;
	close(rfd);
	return rc < 0 ? rc : abi;
}

void sandbox_fs(enum sandbox_kind kind, const struct conf *c)
{
	struct sandbox_fs_rule rules[SANDBOX_FS_RULES_MAX];
	size_t n = sandbox_fs_rules(kind, c, rules);
	char what[1024];
	size_t len = 0;
	int abi;

	tzset();	/* /etc/localtime is read once, now */
	if ((abi = sandbox_fs_apply(rules, n)) == -ENOSYS ||
	    abi == -EOPNOTSUPP) {
		log_info("landlock not available (%s): files are confined "
		    "by the daemon's user only; seccomp and io_uring "
		    "restrictions still apply", strerror(-abi));
		return;
	}
	if (abi < 0)
		fatalx("landlock: %s", strerror(-abi));
	for (size_t i = 0; i < n && len < sizeof(what); i++)
		len += (size_t)snprintf(what + len, sizeof(what) - len, "%s%s %s",
		    i ? ", " : "", rules[i].access & LANDLOCK_ACCESS_FS_WRITE_FILE ?
		    "read-write" : "read-only", rules[i].path);
	log_info("landlock ABI %d: files %s, nothing else; no TCP "
	    "bind/connect%s", abi, n ? what : "none", abi >= 6 ?
	    "; no signals or abstract sockets out" : "");
}
