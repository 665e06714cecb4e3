/* mtactl_ctl: controlling the master.  Whether a master runs is decided by
 * the lock on run/master.pid (master_pidfile.c), never by the number alone,
 * so a stale pid file after kill -9 reads as "not running".  start runs
 * mta-master (which returns only once it is up, or with its error), stop
 * and reload are signals, status prints run/status as the master wrote it. */
#include "master/mtactl.h"
#include "master/master.h"
#include "lib/aliases.h"
#include "lib/mem.h"
#include "lib/transport.h"
#include "lib/tls_server.h"
#include "lib/users.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void mtactl_conf(struct mtactl *ctl)
{
	char err[CONF_ERR_MAX + 64];

	if (ctl->loaded)
		return;
	if (master_conf_load(&ctl->conf, ctl->conf_arg, ctl->conf_path,
	    sizeof(ctl->conf_path), err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(2);
	}
	ctl->loaded = 1;
}

static void mtactl_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The running master's pid; 0 if none (-EAGAIN while it starts up is
 * waited out briefly).  Errors are printed and give -1. */
static pid_t mtactl_running(struct mtactl *ctl)
{
	pid_t pid;
	int i;

	for (i = 0; i < 20; i++) {
		pid = master_pidfile_running(ctl->conf.state_dir);
		if (pid != -EAGAIN)
			break;
		mtactl_sleep_ms(50);
	}
	if (pid < 0) {
		fprintf(stderr, "mtactl: %s/run/master.pid: %s\n",
		    ctl->conf.state_dir, strerror(-pid));
		return -1;
	}
	return pid;
}

/* The config, then the running master's pid in *pid, saying "not running"
 * for 0.  -1 after an error (printed). */
static int mtactl_master(struct mtactl *ctl, pid_t *pid)
{
	mtactl_conf(ctl);
	if ((*pid = mtactl_running(ctl)) < 0)
		return -1;
	if (*pid == 0)
		printf("mta: not running\n");
	return 0;
}

/* One table file's load result: 0 fine (or not readable by this
 * operator, which the daemons may still be: said, not failed), -1 broken
 * ("path:line: message" printed). */
static int mtactl_check_table(const char *key, const char *path, int rc,
    const char *err)
{
	if (rc == -EACCES || rc == -EPERM) {
		fprintf(stderr, "mtactl: %s %s not checked: %s\n", key, path,
		    strerror(-rc));
		return 0;
	}
	if (rc < 0) {
		fprintf(stderr, "%s\n", err[0] ? err : strerror(-rc));
		return -1;
	}
	printf("%s: ok\n", path);
	return 0;
}

/* The certificate and key, as the master loads them: both readable, PEM,
 * and the key matching the certificate.  Neither there at the default
 * paths is fine: the first start makes a self-signed pair. */
static int mtactl_check_tls(const struct conf *c)
{
	struct tls_bundle b;
	char err[1024];
	void *ctx;
	int rc;

	if (access(c->tls_cert_file, F_OK) < 0 &&
	    access(c->tls_key_file, F_OK) < 0 && errno == ENOENT) {
		printf("%s: not there yet (the first start generates a "
		    "self-signed pair unless tls_cert_file is set)\n",
		    c->tls_cert_file);
		return 0;
	}
	rc = tls_bundle_load(&b, c->tls_cert_file, c->tls_key_file, err,
	    sizeof(err));
	if (rc == 0) {
		ctx = tls_server_ctx_new(&b, err, sizeof(err));
		tls_bundle_free(&b);
		tls_server_ctx_free(ctx);
		rc = ctx != NULL ? 0 : -EINVAL;
	}
	return mtactl_check_table("tls_cert_file", c->tls_cert_file, rc, err);
}

/* The tables the daemons load besides the config: transport_file,
 * aliases_file, users_file, each parsed as they would. */
static int mtactl_check_tables(const struct conf *c)
{
	char err[1024];
	int bad = 0, rc;

	if (c->transport_file[0] != '\0') {
		struct transport t = { 0 };

		err[0] = '\0';
		rc = transport_load(&t, c->transport_file, err, sizeof(err));
		bad |= mtactl_check_table("transport_file", c->transport_file,
		    rc, err);
		transport_free(&t);
	}
	if (c->aliases_file[0] != '\0') {
		struct aliases *a = NULL;

		err[0] = '\0';
		rc = aliases_load(&a, c->aliases_file, err, sizeof(err));
		bad |= mtactl_check_table("aliases_file", c->aliases_file, rc,
		    err);
		if (a != NULL)
			aliases_free(a);
	}
	if (c->users_file[0] != '\0') {
		struct users *u = NULL;

		err[0] = '\0';
		rc = users_load(&u, c->users_file, err, sizeof(err));
		bad |= mtactl_check_table("users_file", c->users_file, rc,
		    err);
		if (u != NULL)
			users_free(u);
	}
	return bad | mtactl_check_tls(c);
}

int mtactl_check(struct mtactl *ctl, int argc, char **argv)
{
	if (argc != 1)
		return MTACTL_EX_USAGE;
	mtactl_conf(ctl);
	printf("%s: ok\n", ctl->conf.path);
	return mtactl_check_tables(&ctl->conf) < 0 ? 2 : 0;
}

static int mtactl_signal(pid_t pid, int sig)
{
	if (kill(pid, sig) == 0)
		return 0;
	fprintf(stderr, "mtactl: cannot signal mta-master (pid %ld): %s\n",
	    (long)pid, strerror(errno));
	return -1;
}

int mtactl_reload(struct mtactl *ctl, int argc, char **argv)
{
	pid_t pid;

	if (argc != 1)
		return MTACTL_EX_USAGE;
	/* The config is loaded first: a broken one is never sent. */
	if (mtactl_master(ctl, &pid) < 0 || pid == 0)
		return 1;
	if (mtactl_signal(pid, SIGHUP) < 0)
		return 1;
	printf("mta: reloading (pid %ld); the result is in the log\n",
	    (long)pid);
	return 0;
}

int mtactl_stop(struct mtactl *ctl, int argc, char **argv)
{
	pid_t pid, now;
	int i;

	if (argc != 1)
		return MTACTL_EX_USAGE;
	if (mtactl_master(ctl, &pid) < 0)
		return 1;
	if (pid == 0)
		return 0;
	if (mtactl_signal(pid, SIGTERM) < 0)
		return 1;
	for (i = 0; i < MTACTL_STOP_WAIT_SEC * 10; i++) {
		now = master_pidfile_running(ctl->conf.state_dir);
		if (now == 0) {
			printf("mta: stopped (pid %ld)\n", (long)pid);
			return 0;
		}
		mtactl_sleep_ms(100);
	}
	fprintf(stderr, "mtactl: mta-master (pid %ld) still running after "
	    "%d s\n", (long)pid, MTACTL_STOP_WAIT_SEC);
	return 1;
}

int mtactl_status_line_ok(const char *line)
{
	char name[64], pid[16], state[16], extra;

	if (sscanf(line, "%63s %15s %15s %c", name, pid, state, &extra) != 3)
		return 0;
	if (strspn(pid, "0123456789") != strlen(pid) && strcmp(pid, "-") != 0)
		return 0;
	return strcmp(state, "running") == 0 ||
	    strcmp(state, "restarting") == 0 || strcmp(state, "stopping") == 0;
}

int mtactl_status(struct mtactl *ctl, int argc, char **argv)
{
	char path[4096], line[256];
	pid_t pid;
	FILE *f;

	if (argc != 1)
		return MTACTL_EX_USAGE;
	if (mtactl_master(ctl, &pid) < 0 || pid == 0)
		return 1;
	printf("mta: running (pid %ld)\n", (long)pid);
	if (snprintf(path, sizeof(path), "%s/run/%s", ctl->conf.state_dir,
	    MASTER_STATUS_FILE) >= (int)sizeof(path) ||
	    (f = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (mtactl_status_line_ok(line))
			fputs(line, stdout);
	fclose(f);
	return 0;
}

/* Run mta-master (no -F): it exits 0 once up, or with its error. */
static int mtactl_run_master(struct mtactl *ctl, const char *master)
{
	char abs[4096];
	char *argv[4] = { (char *)"mta-master", NULL, NULL, NULL };
	int status;
	pid_t pid;

	if (ctl->conf_arg != NULL) {
		if (master_abs_path(ctl->conf_arg, abs, sizeof(abs)) < 0)
			return 1;
		argv[1] = (char *)"-c";
		argv[2] = abs;
	}
	fflush(stdout);
	if ((pid = fork()) < 0) {
		perror("mtactl: fork");
		return 1;
	}
	if (pid == 0) {
		execv(master, argv);
		fprintf(stderr, "mtactl: %s: %s\n", master, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 1;
}

int mtactl_start(struct mtactl *ctl, int argc, char **argv)
{
	char dir[4096], master[4096];
	pid_t pid;
	int rc, i;

	if (argc != 1)
		return MTACTL_EX_USAGE;
	mtactl_conf(ctl);
	if ((pid = mtactl_running(ctl)) < 0)
		return 1;
	if (pid > 0) {
		printf("mta: already running (pid %ld)\n", (long)pid);
		return 1;
	}
	if (master_exe_dir(dir, sizeof(dir)) < 0 ||
	    snprintf(master, sizeof(master), "%s/mta-master", dir) >=
	    (int)sizeof(master)) {
		fprintf(stderr, "mtactl: cannot locate mta-master\n");
		return 1;
	}
	if ((rc = mtactl_run_master(ctl, master)) != 0) {
		fprintf(stderr, "mtactl: start failed (mta-master exited with "
		    "status %d)\n", rc);
		return rc;
	}
	for (i = 0; i < MTACTL_START_WAIT_SEC * 10; i++) {
		if ((pid = master_pidfile_running(ctl->conf.state_dir)) > 0) {
			printf("mta: started (pid %ld)\n", (long)pid);
			return 0;
		}
		mtactl_sleep_ms(100);
	}
	fprintf(stderr, "mtactl: mta-master did not write %s/run/master.pid\n",
	    ctl->conf.state_dir);
	return 1;
}
