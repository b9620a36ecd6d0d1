/* rrping: request-response round trips over the kernel's TCP, for the
 * latency rows of `make bench` (tests/bench/run.sh, rr-*).
 *
 *   rrping echo PORT [--timeout S]
 *       accepts one connection on PORT (IPv4, every address) and sends
 *       back whatever arrives until the peer's FIN; then closes
 *   rrping ping ADDR:PORT [--rounds N] [--size B] [--timeout S]
 *       connects (retrying while refused, the echo side may not be up
 *       yet), then N times: writes B bytes (default 64; N default 1000)
 *       and waits until the same B bytes came back; prints
 *       "rr rounds=N size=B median_us=M p99_us=P min_us=A max_us=Z"
 *
 * Both sides set TCP_NODELAY. Exit 0 on success, 1 on a socket error or
 * bytes that did not come back as sent, 2 on bad usage, 3 on timeout.
 *
 * Plain libc only, like kpeer: the independent check on the engine. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE 65536

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double deadline;

/* Waits until fd is readable (or writable); 0, or 3 on the deadline. */
static int wait_fd(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	double left;
	int rv;

	for (;;) {
		left = deadline - now_s();
		if (left <= 0)
			return 3;
		rv = poll(&p, 1, (int)(left * 1000) + 1);
		if (rv > 0)
			return 0;
		if (rv < 0 && errno != EINTR)
			return 1;
	}
}

static int write_all(int fd, const uint8_t *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			perror("rrping: write");
			return 1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int do_echo(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	static uint8_t buf[MAX_SIZE];
	int one = 1, ls, fd, rv;

	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 1) != 0) {
		perror("rrping: listen");
		return 1;
	}
	if ((rv = wait_fd(ls, POLLIN)) != 0)
		return rv;
	fd = accept(ls, NULL, NULL);
	if (fd < 0) {
		perror("rrping: accept");
		return 1;
	}
	nodelay(fd);
	for (;;) {
		ssize_t r;

		if ((rv = wait_fd(fd, POLLIN)) != 0)
			return rv;
		r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			perror("rrping: read");
			return 1;
		}
		if (r == 0)
			break;
		if (write_all(fd, buf, (size_t)r) != 0)
			return 1;
	}
	close(fd);
	close(ls);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int do_ping(const char *to, long rounds, long size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	static uint8_t out[MAX_SIZE], in[MAX_SIZE];
	char host[64];
	const char *colon = strrchr(to, ':');
	double *rtt;
	int fd = -1, rv;

	if (!colon || (size_t)(colon - to) >= sizeof(host)) {
		fprintf(stderr, "rrping: want ADDR:PORT, not '%s'\n", to);
		return 2;
	}
	memcpy(host, to, (size_t)(colon - to));
	host[colon - to] = '\0';
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "rrping: not an IPv4 address: '%s'\n", host);
		return 2;
	}
	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0) {
			perror("rrping: socket");
			return 1;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (errno != ECONNREFUSED && errno != ETIMEDOUT) {
			perror("rrping: connect");
			return 1;
		}
		close(fd);
		if (now_s() > deadline)
			return 3;
		usleep(50 * 1000);
	}
	nodelay(fd);
	rtt = calloc((size_t)rounds, sizeof(*rtt));
	if (!rtt)
		return 1;
	for (long i = 0; i < rounds; i++) {
		size_t got = 0;
		double t0;

		for (long j = 0; j < size; j++)
			out[j] = (uint8_t)(i * 131 + j);
		t0 = now_s();
		if (write_all(fd, out, (size_t)size) != 0)
			return 1;
		while (got < (size_t)size) {
			ssize_t r;

			if ((rv = wait_fd(fd, POLLIN)) != 0) {
				fprintf(stderr, "rrping: round %ld: timed out\n", i);
				return rv;
			}
			r = read(fd, in + got, (size_t)size - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				fprintf(stderr, "rrping: round %ld: %s\n", i, r == 0 ? "end of stream" : strerror(errno));
				return 1;
			}
			got += (size_t)r;
		}
		rtt[i] = now_s() - t0;
		if (memcmp(in, out, (size_t)size) != 0) {
			fprintf(stderr, "rrping: round %ld: the bytes came back changed\n", i);
			return 1;
		}
	}
	/* Our FIN; the echo side need not answer with its own (p2ptcp's
	 * stdin, its own stdout, never ends). */
	close(fd);
	qsort(rtt, (size_t)rounds, sizeof(*rtt), cmp_double);
	printf("rr rounds=%ld size=%ld median_us=%.0f p99_us=%.0f min_us=%.0f max_us=%.0f\n", rounds, size,
	       rtt[rounds / 2] * 1e6, rtt[(rounds * 99) / 100] * 1e6, rtt[0] * 1e6, rtt[rounds - 1] * 1e6);
	free(rtt);
	return 0;
}

int main(int argc, char **argv)
{
	long rounds = 1000, size = 64, timeout = 60;

	if (argc < 3)
		goto usage;
	for (int i = 3; i < argc; i++) {
		if (i + 1 >= argc)
			goto usage;
		if (!strcmp(argv[i], "--rounds"))
			rounds = atol(argv[++i]);
		else if (!strcmp(argv[i], "--size"))
			size = atol(argv[++i]);
		else if (!strcmp(argv[i], "--timeout"))
			timeout = atol(argv[++i]);
		else
			goto usage;
	}
	if (rounds < 1 || size < 1 || size > MAX_SIZE || timeout < 1)
		goto usage;
	deadline = now_s() + (double)timeout;
	if (!strcmp(argv[1], "echo"))
		return do_echo(atoi(argv[2]));
	if (!strcmp(argv[1], "ping"))
		return do_ping(argv[2], rounds, size);
usage:
	fprintf(stderr, "usage: rrping echo PORT [--timeout S]\n"
			"       rrping ping ADDR:PORT [--rounds N] [--size B] [--timeout S]\n");
	return 2;
}
