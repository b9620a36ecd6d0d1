/* resolvecheck: the rendezvous server's resolver (core/rdv/resolve.c, on
 * c-ares and libevent) by itself, for tests/netns/test_resolve.sh, which
 * runs it in a namespace with nothing but loopback and its own
 * resolv.conf and hosts file.
 *
 *   resolvecheck resolve ADDRESS [--default-port P] [--timeout MS]
 *     Splits ADDRESS as a --rendezvous value is split (HOST, HOST:PORT,
 *     [HOST]:PORT; without a port: the SRV record first, then HOST with
 *     the default port, 7450 unless --default-port), starts one look-up
 *     (--timeout: the resolver's time limit, default its own) and runs the
 *     event loop until nothing is left in it. The callback does not free
 *     the resolver, so a second call, had c-ares anything left to report,
 *     would be seen. Prints one line per call, then the count:
 *       answer n=N eps=EP,EP,...     (addresses in the order given)
 *       answer n=0 msg=TEXT
 *       calls=N
 *     Exit 0 when the callback ran exactly once, 1 otherwise, 3 when the
 *     loop is still busy --timeout + 10 s later (it must empty by then).
 *
 *   resolvecheck split ADDRESS
 *     Prints "host=H port=P" (port 0: none given), exit 0, or the one
 *     error line, exit 1.
 *
 * Usage errors: exit 2 with one line quoting the bad value. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr.h"
#include "rdvmsg.h"
#include "resolve.h"

static unsigned calls;

static void usage(void)
{
	fprintf(stderr, "usage: resolvecheck resolve ADDRESS [--default-port P] [--timeout MS] | "
			"split ADDRESS\n");
	exit(2);
}

static unsigned long number(const char *s, const char *what, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || s[0] == '-' || v > max) {
		fprintf(stderr, "resolvecheck: invalid %s: '%s'\n", what, s);
		exit(2);
	}
	return v;
}

static void on_answer(void *user, const struct ptcp_endpoint *eps, unsigned n, const char *msg)
{
	char ep[64];

	(void)user;
	calls++;
	printf("answer n=%u", n);
	if (n == 0)
		printf(" msg=%s", msg);
	for (unsigned i = 0; i < n; i++)
		printf("%s%s", i ? "," : " eps=", ptcp_endpoint_format(&eps[i], ep, sizeof(ep)));
	printf("\n");
	fflush(stdout);
}

static void on_alarm(int sig)
{
	static const char text[] = "resolvecheck: the event loop did not empty\n";

	(void)sig;
	if (write(2, text, sizeof(text) - 1) < 0) {
		/* nothing more to say */
	}
	_exit(3);
}

static int cmd_split(const char *s)
{
	char host[256], err[320];
	uint16_t port;

	if (ptcp_resolve_split(s, host, sizeof(host), &port, err, sizeof(err)) != 0) {
		printf("%s\n", err);
		return 1;
	}
	printf("host=%s port=%u\n", host, (unsigned)port);
	return 0;
}

static int cmd_resolve(int argc, char **argv)
{
	unsigned long default_port = PTCP_RDV_PORT, timeout_ms = 0;
	const char *address = NULL;
	struct ptcp_resolve *r = NULL;
	struct event_base *base;
	char host[256], err[320];
	uint16_t port;
	int rv;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--default-port") && i + 1 < argc)
			default_port = number(argv[++i], "port", 65535);
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout_ms = number(argv[++i], "timeout", 600000);
		else if (argv[i][0] != '-' && !address)
			address = argv[i];
		else
			usage();
	}
	if (!address || default_port == 0)
		usage();
	if (ptcp_resolve_split(address, host, sizeof(host), &port, err, sizeof(err)) != 0) {
		fprintf(stderr, "resolvecheck: %s\n", err);
		return 2;
	}
	base = event_base_new();
	if (!base) {
		fprintf(stderr, "resolvecheck: libevent failed\n");
		return 1;
	}
	rv = ptcp_resolve_start(&r, base, host, port, (uint16_t)default_port, (unsigned)timeout_ms,
				on_answer, NULL);
	if (rv != 0) {
		fprintf(stderr, "resolvecheck: cannot start the look-up: %s\n", strerror(-rv));
		event_base_free(base);
		return 1;
	}
	/* A guard outside the loop: a timer in it would keep it from
	 * emptying, which is what is checked. */
	signal(SIGALRM, on_alarm);
	alarm((unsigned)((timeout_ms ? timeout_ms : 5000) / 1000 + 10));
	event_base_dispatch(base);
	alarm(0);
	ptcp_resolve_free(r);
	event_base_free(base);
	printf("calls=%u\n", calls);
	return calls == 1 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "split"))
		return cmd_split(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "resolve"))
		return cmd_resolve(argc - 2, argv + 2);
	usage();
}
