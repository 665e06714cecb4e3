/* Unit tests for lib/users.c and lib/users_file.c: loading, lookup in any
 * case, comments, CRLF, hostile input (NUL, huge lines, bad addresses and
 * hashes, duplicates, a 100k-account file, too many accounts, a file too
 * large, a directory), refresh picking up a change and keeping the old
 * snapshot on error, the writer's add/passwd/del semantics (atomic
 * replace, comments kept, mode 0640), and passwords: yescrypt and
 * SHA-512-crypt hashes, wrong passwords, unknown users. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/users.h"
#include "lib/users_int.h"

/* Made with crypt(3): "secret6" ($6$) and "mta-dummy-password" ($y$). */
#define H6 "$6$tFwqcdE3Cw1egABl$oNuHlayt4c5B9vZXvnYdVQOGjZO4afbIPbVu1/U4fg" \
	"tH2ve6LRP8gPaO8AubEXPbpwKuvcDDZne3U6QNc7NXT0"
#define HY "$y$j9T$dvVv6Yo8wmhyHwJQTEeUx.$noar6Kca8bpo2gkuEysW4wq95Jq2Td5Y" \
	"vuV9PaXRhx4"
#define HS "$y$j9T$abc$def"	/* well-formed, matches nothing */

static char err[512];
static char dir[] = "/tmp/test_users.XXXXXX";
static char path[600];

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/users", dir);
}

static void teardown(void)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

TestSuite(users, .init = setup, .fini = teardown);

/* A password check as authdb makes it: the address's hash, then crypt. */
static int check(const struct users *u, const char *address,
    const char *password)
{
	return users_check_hash(users_hash_of(u, address), password);
}

static int parse(struct users **u, const char *text)
{
	return users_parse(u, "uf", text, strlen(text), err, sizeof(err));
}

static void write_file(const char *p, const void *data, size_t n)
{
	char tmp[700];
	int fd;

	/* Replace by rename, as the writer does: a new inode each time. */
	snprintf(tmp, sizeof(tmp), "%s.new", p);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
	cr_assert_eq(rename(tmp, p), 0);
}

static char *read_file(const char *p)
{
	static char text[65536];
	int fd = open(p, O_RDONLY);
	ssize_t n;

	cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	cr_assert_geq(n, 0);
	text[n] = '\0';
	return text;
}

Test(users, loads_lines_comments_and_any_case)
{
	struct users *u = NULL;

	cr_assert_eq(parse(&u,
	    "# accounts\n"
	    "\n"
	    "alice@localhost:" H6 "\n"
	    "  Bob@Example.TEST : " HY "  \r\n"
	    "\t# indented comment\n"
	    "carol.x+tag@example.test:" HS), 0, "%s", err);
	cr_assert_eq(users_count(u), 3);
	cr_assert_str_eq(users_address(u, 0), "alice@localhost");
	cr_assert_str_eq(users_address(u, 1), "bob@example.test");
	cr_assert_str_eq(users_address(u, 2), "carol.x+tag@example.test");
	cr_assert_null(users_address(u, 3));
	cr_assert(users_exists(u, "ALICE@LocalHost"));
	cr_assert(users_exists(u, "bob@example.test"));
	cr_assert_not(users_exists(u, "bob@example"));
	cr_assert_not(users_exists(u, ""));
	cr_assert_str_eq(users_hash_of(u, "BOB@example.test"), HY);
	cr_assert_null(users_hash_of(u, "dave@example.test"));
	users_free(u);
	cr_assert_eq(parse(&u, ""), 0);
	cr_assert_eq(users_count(u), 0);
	cr_assert_not(users_exists(u, "alice@localhost"));
	users_free(u);
}

struct bad {
	const char *text;
	const char *msg;
};

Test(users, malformed_lines_are_refused_with_file_and_line)
{
	static const struct bad v[] = {
		{ "alice@localhost\n", "uf:1: expected address:hash" },
		{ "# ok\nalice@localhost " HY "\n", "uf:2: expected" },
		{ "alice:" HY "\n", "uf:1: invalid address: alice" },
		{ "@localhost:" HY "\n", "uf:1: invalid address" },
		{ "a/b@localhost:" HY "\n", "uf:1: invalid address" },
		{ "../x@localhost:" HY "\n", "uf:1: invalid address" },
		{ "a..b@localhost:" HY "\n", "uf:1: invalid address" },
		{ "a@../etc:" HY "\n", "uf:1: invalid address" },
		{ "a b@localhost:" HY "\n", "uf:1: invalid address" },
		{ "\xff@localhost:" HY "\n", "uf:1: invalid address" },
		{ "a@localhost:\n", "uf:1: not a yescrypt" },
		{ "a@localhost:plain\n", "uf:1: not a yescrypt" },
		{ "a@localhost:$1$abc$def\n", "uf:1: not a yescrypt" },
		{ "a@localhost:$y$a b\n", "uf:1: not a yescrypt" },
		{ "a@localhost:$y$a:b\n", "uf:1: not a yescrypt" },
		{ "a@localhost:" HY "\ra\n", "uf:1: carriage return" },
		{ "a@localhost:" HY "\nA@LOCALHOST:" HS "\n",
		  "uf:2: a@localhost listed twice (first on line 1)" },
	};

	for (size_t i = 0; i < ARRAY_LEN(v); i++) {
		struct users *u = NULL;

		err[0] = '\0';
		cr_assert_eq(parse(&u, v[i].text), -EBADMSG, "%zu", i);
		cr_assert_null(u);
		cr_assert(strncmp(err, v[i].msg, strlen(v[i].msg)) == 0,
		    "%zu: got \"%s\", want \"%s\"", i, err, v[i].msg);
	}
}

Test(users, nul_bytes_and_huge_lines_are_refused)
{
	static const char nul[] = "a@localhost:" HS "\0x\n";
	struct users *u = NULL;
	struct buf b;

	cr_assert_eq(users_parse(&u, "uf", nul, sizeof(nul) - 1, err,
	    sizeof(err)), -EBADMSG);
	cr_assert_str_eq(err, "uf:1: NUL byte");
	buf_init(&b, 0);
	buf_printf(&b, "# ok\n");
	for (int i = 0; i < USERS_LINE_MAX; i++)
		buf_append(&b, "a", 1);
	buf_printf(&b, "@localhost:" HS "\n");
	cr_assert_eq(users_parse(&u, "uf", b.data, b.len, err, sizeof(err)),
	    -EBADMSG);
	cr_assert(strstr(err, "uf:2: line longer than") == err, "%s", err);
	/* A local part over 64 bytes, inside the line limit. */
	buf_reset(&b);
	for (int i = 0; i < 65; i++)
		buf_append(&b, "a", 1);
	buf_printf(&b, "@localhost:" HS "\n");
	cr_assert_eq(users_parse(&u, "uf", b.data, b.len, err, sizeof(err)),
	    -EBADMSG);
	cr_assert(strstr(err, "uf:1: invalid address") == err, "%s", err);
	buf_free(&b);
}

Test(users, hundred_thousand_accounts_load_and_look_up)
{
	struct users *u = NULL;
	struct buf b;
	char a[64];

	buf_init(&b, 0);
	for (int i = 0; i < 100000; i++)
		buf_printf(&b, "user%d@example.test:" HY "\n", i);
	write_file(path, b.data, b.len);
	cr_assert_eq(users_load(&u, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(users_count(u), 100000);
	for (int i = 0; i < 100000; i += 997) {
		snprintf(a, sizeof(a), "USER%d@example.test", i);
		cr_assert(users_exists(u, a), "%s", a);
	}
	cr_assert_not(users_exists(u, "user100000@example.test"));
	cr_assert_str_eq(users_address(u, 99999), "user99999@example.test");
	users_free(u);
	buf_free(&b);
}

Test(users, too_many_accounts_or_bytes_are_refused)
{
	struct users *u = NULL;
	struct buf b;
	int fd;

	buf_init(&b, 0);
	for (int i = 0; i <= USERS_MAX; i++)
		buf_printf(&b, "%x@a.b:$y$x\n", i);
	cr_assert_eq(users_parse(&u, "uf", b.data, b.len, err, sizeof(err)),
	    -EBADMSG);
	cr_assert(strstr(err, "more than") != NULL, "%s", err);
	buf_free(&b);
	/* A sparse file past the size limit is refused before reading. */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)USERS_FILE_MAX + 1), 0);
	close(fd);
	cr_assert_eq(users_load(&u, path, err, sizeof(err)), -EFBIG);
	cr_assert(strstr(err, "larger than") != NULL, "%s", err);
	cr_assert_null(u);
	/* Not a regular file. */
	cr_assert_eq(users_load(&u, dir, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "not a regular file") != NULL, "%s", err);
}

Test(users, missing_file_is_an_empty_set)
{
	struct users *u = NULL;

	cr_assert_eq(users_load(&u, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(users_count(u), 0);
	users_free(u);
}

/* As if the refresh interval had passed (one test really waits). */
static void age(struct users *u)
{
	u->checked_ms -= USERS_REFRESH_MS;
}

static void wait_refresh(void)
{
	long ms = USERS_REFRESH_MS + 50;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

Test(users, refresh_picks_up_a_change_and_keeps_the_old_on_error)
{
	static const char one[] = "a@localhost:" HS "\n";
	static const char two[] = "a@localhost:" HS "\nb@localhost:" HS "\n";
	static const char bad[] = "a@localhost:" HS "\nb@localhost\n";
	struct users *u = NULL;

	/* Created after a load of the missing file. */
	cr_assert_eq(users_refresh(&u, path, err, sizeof(err)), 1);
	cr_assert_eq(users_count(u), 0);
	write_file(path, one, sizeof(one) - 1);
	cr_assert_eq(users_refresh(&u, path, err, sizeof(err)), 0,
	    "stats at most once per interval");
	wait_refresh();
	cr_assert_eq(users_refresh(&u, path, err, sizeof(err)), 1, "%s", err);
	cr_assert(users_exists(u, "a@localhost"));
	age(u);
	cr_assert_eq(users_refresh(&u, path, err, sizeof(err)), 0);
	write_file(path, two, sizeof(two) - 1);
	age(u);
	cr_assert_eq(users_refresh(&u, path, err, sizeof(err)), 1, "%s", err);
	cr_assert(users_exists(u, "b@localhost"));
	/* A broken file: error once, the old snapshot stays. */
	write_file(path, bad, sizeof(bad) - 1);
	age(u);
	cr_assert_eq(users_refresh(&u, path, err, sizeof(err)), -EBADMSG);
	cr_assert(strstr(err, "users:2: expected") != NULL, "%s", err);
	cr_assert(users_exists(u, "b@localhost"));
	age(u);
	cr_assert_eq(users_refresh(&u, path, err, sizeof(err)), 0,
	    "the same broken version is reported once");
	write_file(path, one, sizeof(one) - 1);
	age(u);
	cr_assert_eq(users_refresh(&u, path, err, sizeof(err)), 1, "%s", err);
	cr_assert_not(users_exists(u, "b@localhost"));
	/* Removed: no accounts. */
	cr_assert_eq(unlink(path), 0);
	age(u);
	cr_assert_eq(users_refresh(&u, path, err, sizeof(err)), 1, "%s", err);
	cr_assert_eq(users_count(u), 0);
	users_free(u);
}

Test(users, passwords_yescrypt_sha512_wrong_and_unknown)
{
	char h[USERS_HASH_MAX];
	struct users *u = NULL;
	char text[1024];

	cr_assert_eq(users_hash("correct horse", h, sizeof(h)), 0);
	cr_assert(strncmp(h, "$y$", 3) == 0, "%s", h);
	snprintf(text, sizeof(text), "alice@localhost:%s\nbob@localhost:%s\n"
	    "carol@localhost:%s\n", h, H6, HY);
	cr_assert_eq(parse(&u, text), 0, "%s", err);
	cr_assert(check(u, "alice@localhost", "correct horse"));
	cr_assert(check(u, "ALICE@localhost", "correct horse"));
	cr_assert_not(check(u, "alice@localhost", "correct hors"));
	cr_assert_not(check(u, "alice@localhost", ""));
	cr_assert(check(u, "bob@localhost", "secret6"));
	cr_assert_not(check(u, "bob@localhost", "secret7"));
	cr_assert(check(u, "carol@localhost",
	    "mta-dummy-password"));
	/* Unknown users fail even with the dummy hash's password. */
	cr_assert_not(check(u, "dave@localhost",
	    "mta-dummy-password"));
	cr_assert_not(users_check_hash(NULL, "mta-dummy-password"));
	cr_assert_not(check(u, "alice@localhost", NULL));
	cr_assert(users_check_hash(users_hash_of(u, "bob@localhost"),
	    "secret6"));
	/* Two hashes of one password differ (random salt). */
	cr_assert_eq(users_hash("correct horse", text, sizeof(text)), 0);
	cr_assert_str_neq(text, h);
	cr_assert_eq(users_hash("", h, sizeof(h)), -EINVAL);
	cr_assert_eq(users_hash("x", h, 10), -ENAMETOOLONG);
	users_free(u);
}

static mode_t mode_of(const char *p)
{
	struct stat st;

	cr_assert_eq(stat(p, &st), 0);
	return st.st_mode & 07777;
}

Test(users, update_adds_replaces_and_deletes_atomically)
{
	struct users *u = NULL;
	struct stat st1, st2;

	write_file(path, "# keep me\nbob@localhost:" H6, strlen(
	    "# keep me\nbob@localhost:" H6));
	cr_assert_eq(stat(path, &st1), 0);
	cr_assert_eq(users_file_update(path, USERS_ADD, "Alice@LOCALHOST", HY,
	    -1, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(read_file(path), "# keep me\nbob@localhost:" H6 "\n"
	    "alice@localhost:" HY "\n");
	cr_assert_eq(mode_of(path), 0640);
	cr_assert_eq(stat(path, &st2), 0);
	cr_assert_neq(st1.st_ino, st2.st_ino, "replaced by rename");
	cr_assert_eq(users_file_update(path, USERS_ADD, "alice@localhost", HS,
	    -1, err, sizeof(err)), -EEXIST);
	cr_assert(strstr(err, "alice@localhost already exists") != NULL, "%s",
	    err);
	cr_assert_eq(users_file_update(path, USERS_PASSWD, "BOB@localhost", HS,
	    -1, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(read_file(path), "# keep me\nbob@localhost:" HS "\n"
	    "alice@localhost:" HY "\n");
	cr_assert_eq(users_file_update(path, USERS_PASSWD, "carol@localhost",
	    HS, -1, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "no such user: carol@localhost") != NULL, "%s",
	    err);
	cr_assert_eq(users_file_update(path, USERS_DEL, "bob@localhost", NULL,
	    -1, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(read_file(path), "# keep me\nalice@localhost:" HY "\n");
	cr_assert_eq(users_file_update(path, USERS_DEL, "bob@localhost", NULL,
	    -1, err, sizeof(err)), -ENOENT);
	cr_assert_eq(users_load(&u, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(users_count(u), 1);
	users_free(u);
	/* Nothing but the file is left in the directory. */
	cr_assert_eq(access(path, F_OK), 0);
	{
		char cmd[700];

		snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1",
		    dir);
		cr_assert_eq(system(cmd), 0, "a temporary file was left");
	}
}

Test(users, update_creates_the_file_and_refuses_bad_input)
{
	cr_assert_eq(users_file_update(path, USERS_DEL, "a@localhost", NULL,
	    -1, err, sizeof(err)), -ENOENT);
	cr_assert_eq(access(path, F_OK), -1, "a failed delete created it");
	cr_assert_eq(users_file_update(path, USERS_ADD, "a@localhost", HS,
	    -1, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(read_file(path), "a@localhost:" HS "\n");
	cr_assert_eq(mode_of(path), 0640);
	cr_assert_eq(users_file_update(path, USERS_ADD, "../x@localhost", HS,
	    -1, err, sizeof(err)), -EINVAL);
	cr_assert_eq(users_file_update(path, USERS_ADD, "b@localhost",
	    "plain", -1, err, sizeof(err)), -EINVAL);
	cr_assert_eq(users_file_update(path, USERS_ADD, "b@localhost",
	    HS "\nc@localhost:" HS, -1, err, sizeof(err)), -EINVAL);
	cr_assert_eq(users_file_update(path, USERS_DEL, "a@localhost", HS,
	    -1, err, sizeof(err)), -EINVAL);
	/* A file the readers refuse is not edited. */
	write_file(path, "junk\n", 5);
	cr_assert_eq(users_file_update(path, USERS_ADD, "b@localhost", HS,
	    -1, err, sizeof(err)), -EBADMSG);
	cr_assert(strstr(err, "users:1: expected") != NULL, "%s", err);
	cr_assert_str_eq(read_file(path), "junk\n");
}

Test(users, update_as_root_sets_the_group)
{
	struct stat st;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(users_file_update(path, USERS_ADD, "a@localhost", HS,
	    12345, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_uid, 0);
	cr_assert_eq(st.st_gid, 12345);
	cr_assert_eq(st.st_mode & 07777, 0640);
}
