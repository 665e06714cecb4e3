/* Unit tests for lib/fdio.c: write_all and read_all round-trip a file
 * larger than one chunk, read_all appends and honours the buffer limit to
 * the byte, send_all reports a closed peer as -EPIPE (no SIGPIPE), and
 * errors come back as -errno. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/mem.h"

/* An unlinked temporary file holding n bytes of a known pattern. */
static int pattern_file(size_t n, char **copy)
{
	char path[] = "/tmp/test_fdio.XXXXXX";
	char *p = xmalloc(n ? n : 1);
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	unlink(path);
	for (size_t i = 0; i < n; i++)
		p[i] = (char)(i * 7 + i / 251);
	cr_assert_eq(fdio_write_all(fd, p, n), 0);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	*copy = p;
	return fd;
}

Test(fdio, write_all_and_read_all_round_trip)
{
	size_t n = 3 * 65536 + 123;
	struct buf b;
	char *want;
	int fd = pattern_file(n, &want);

	buf_init(&b, 0);
	cr_assert_eq(fdio_read_all(fd, &b), 0);
	cr_assert_eq(b.len, n);
	cr_assert_eq(memcmp(b.data, want, n), 0);
	close(fd);
	free(want);
	buf_free(&b);
}

Test(fdio, read_all_appends_to_what_is_there)
{
	struct buf b;
	char *want;
	int fd = pattern_file(10, &want);

	buf_init(&b, 0);
	cr_assert_eq(buf_append(&b, "head", 4), 0);
	cr_assert_eq(fdio_read_all(fd, &b), 0);
	cr_assert_eq(b.len, 14);
	cr_assert_eq(memcmp(b.data, "head", 4), 0);
	cr_assert_eq(memcmp(b.data + 4, want, 10), 0);
	close(fd);
	free(want);
	buf_free(&b);
}

Test(fdio, read_all_of_an_empty_file_is_empty)
{
	struct buf b;
	char *want;
	int fd = pattern_file(0, &want);

	buf_init(&b, 0);
	cr_assert_eq(fdio_read_all(fd, &b), 0);
	cr_assert_eq(b.len, 0);
	close(fd);
	free(want);
	buf_free(&b);
}

Test(fdio, read_all_fits_exactly_at_the_limit)
{
	size_t n = 65536 + 17;
	struct buf b;
	char *want;
	int fd = pattern_file(n, &want);

	buf_init(&b, n);
	cr_assert_eq(fdio_read_all(fd, &b), 0);
	cr_assert_eq(b.len, n);
	cr_assert_eq(memcmp(b.data, want, n), 0);
	close(fd);
	free(want);
	buf_free(&b);
}

Test(fdio, read_all_one_byte_past_the_limit_is_efbig)
{
	size_t n = 65536 + 18;
	struct buf b;
	char *want;
	int fd = pattern_file(n, &want);

	buf_init(&b, n - 1);
	cr_assert_eq(fdio_read_all(fd, &b), -EFBIG);
	cr_assert_leq(b.len, n - 1);
	close(fd);
	free(want);
	buf_free(&b);
}

Test(fdio, send_all_to_a_closed_peer_is_epipe)
{
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	cr_assert_eq(fdio_send_all(sv[0], "x", 1), -EPIPE);
	close(sv[0]);
}

Test(fdio, send_all_delivers_every_byte)
{
	static char big[300000];
	struct buf b;
	int sv[2], status;
	pid_t pid;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i % 253);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(sv[1]);
		_exit(fdio_send_all(sv[0], big, sizeof(big)) == 0 ? 0 : 1);
	}
	close(sv[0]);
	buf_init(&b, 0);
	cr_assert_eq(fdio_read_all(sv[1], &b), 0);
	cr_assert_eq(b.len, sizeof(big));
	cr_assert_eq(memcmp(b.data, big, sizeof(big)), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sv[1]);
	buf_free(&b);
}

Test(fdio, errors_are_negative_errno)
{
	struct buf b;

	buf_init(&b, 0);
	cr_assert_eq(fdio_write_all(-1, "x", 1), -EBADF);
	cr_assert_eq(fdio_send_all(-1, "x", 1), -EBADF);
	cr_assert_eq(fdio_read_all(-1, &b), -EBADF);
	buf_free(&b);
}
