/* Tests of the firewall table (core/net/nftguard.c) against the real
 * kernel. Needs root: the test moves itself into a network namespace of
 * its own first, so the host's ruleset is never touched. Without root it
 * reports itself skipped. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <nftables/libnftables.h>

#include "check.h"
#include "nftguard.h"

/* Lists the table through a netlink socket of our own: 1 if it exists,
 * and its listing in out. */
static int list_table(const char *table, char *out, size_t cap)
{
	struct nft_ctx *n = nft_ctx_new(NFT_CTX_DEFAULT);
	char cmd[128];
	int rv;

	if (!n)
		return -1;
	nft_ctx_buffer_output(n);
	nft_ctx_buffer_error(n);
	snprintf(cmd, sizeof(cmd), "list table inet %s", table);
	rv = nft_run_cmd_from_buffer(n, cmd);
	if (out && cap)
		snprintf(out, cap, "%s", rv == 0 ? nft_ctx_get_output_buffer(n) : "");
	nft_ctx_free(n);
	return rv == 0;
}

static struct ptcp_endpoint local4(uint16_t port)
{
	struct ptcp_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	ep.family = PTCP_AF_INET;
	ep.addr[0] = 10;
	ep.addr[3] = 1;
	ep.port = port;
	return ep;
}

static void test_install_and_remove(void)
{
	struct ptcp_endpoint ep = local4(4000);
	struct ptcp_nftguard g;
	char err[256], text[2048], want[64];

	CHECK_INT(ptcp_nftguard_install(&g, &ep, 1, 0x70746370, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "p2ptcp_%ld_4000", (long)getpid());
	CHECK(strcmp(g.table, want) == 0);
	CHECK(ptcp_nftguard_present(&g));
	CHECK_INT(list_table(g.table, text, sizeof(text)), 1);
	CHECK(strstr(text, "flags owner") != NULL);
	CHECK(strstr(text, "hook output") != NULL);
	CHECK(strstr(text, "ip saddr 10.0.0.1") != NULL);
	CHECK(strstr(text, "tcp sport 4000") != NULL);
	CHECK(strstr(text, "meta mark != 0x70746370 drop") != NULL);
	/* The kernel's TCP is kept from seeing our segments, unless a
	 * socket of its own owns them. */
	CHECK(g.quiet);
	CHECK(strstr(text, "hook prerouting") != NULL);
	CHECK(strstr(text, "ip daddr 10.0.0.1 tcp dport 4000 socket transparent { 0, 1 } accept") != NULL);
	CHECK(strstr(text, "tcp dport 4000 ip daddr 10.0.0.1 meta pkttype set other") != NULL);
	ptcp_nftguard_remove(&g);
	CHECK(!ptcp_nftguard_present(&g));
	CHECK_INT(list_table(want, NULL, 0), 0);
	ptcp_nftguard_remove(&g);   /* twice is harmless */
}

static void test_any_address(void)
{
	struct ptcp_endpoint ep = local4(4001);
	struct ptcp_nftguard g;
	char err[256], text[2048];

	memset(ep.addr, 0, sizeof(ep.addr));
	CHECK_INT(ptcp_nftguard_install(&g, &ep, 1, 1, err, sizeof(err)), 0);
	CHECK_INT(list_table(g.table, text, sizeof(text)), 1);
	CHECK(strstr(text, "saddr") == NULL);
	CHECK(strstr(text, "tcp sport 4001") != NULL);
	CHECK(strstr(text, "ipv4") != NULL);
	CHECK(strstr(text, "ipv6") == NULL);
	/* Any local address: not a packet this host forwards. */
	CHECK(strstr(text, "tcp dport 4001 meta nfproto ipv4 fib daddr type local meta pkttype set other") != NULL);
	ptcp_nftguard_remove(&g);
}

static struct ptcp_endpoint local6(uint16_t port)
{
	struct ptcp_endpoint ep;

	return *check_ep6(&ep, 1, port);
}

/* Both families of one port: an ip rule beside an ip6 one in the inet
 * table. */
static void test_both_families(void)
{
	struct ptcp_endpoint eps[2] = { local4(4004), local6(4004) };
	struct ptcp_nftguard g;
	char err[256], text[2048];

	CHECK_INT(ptcp_nftguard_install(&g, eps, 2, 0x70746370, err, sizeof(err)), 0);
	CHECK_INT(list_table(g.table, text, sizeof(text)), 1);
	CHECK(strstr(text, "ip saddr 10.0.0.1 tcp sport 4004") != NULL);
	CHECK(strstr(text, "ip6 saddr 2001:db8::1 tcp sport 4004") != NULL);
	CHECK(strstr(text, "tcp dport 4004 ip6 daddr 2001:db8::1 meta pkttype set other") != NULL);
	ptcp_nftguard_remove(&g);
	/* Addresses not known: each family by itself. */
	memset(eps[0].addr, 0, sizeof(eps[0].addr));
	memset(eps[1].addr, 0, sizeof(eps[1].addr));
	CHECK_INT(ptcp_nftguard_install(&g, eps, 2, 1, err, sizeof(err)), 0);
	CHECK_INT(list_table(g.table, text, sizeof(text)), 1);
	CHECK(strstr(text, "saddr") == NULL);
	CHECK(strstr(text, "ipv4") != NULL);
	CHECK(strstr(text, "ipv6") != NULL);
	ptcp_nftguard_remove(&g);
	/* IPv6 alone. */
	eps[1] = local6(4005);
	CHECK_INT(ptcp_nftguard_install(&g, &eps[1], 1, 1, err, sizeof(err)), 0);
	CHECK_INT(list_table(g.table, text, sizeof(text)), 1);
	CHECK(strstr(text, "ip6 saddr 2001:db8::1 tcp sport 4005") != NULL);
	CHECK(strstr(text, "ip saddr") == NULL);
	ptcp_nftguard_remove(&g);
}

static void test_refused(void)
{
	struct ptcp_endpoint eps[3] = { local4(4002), local6(4003), local4(4002) };
	struct ptcp_nftguard g;
	char err[256];

	eps[0].family = PTCP_AF_NONE;
	CHECK_INT(ptcp_nftguard_install(&g, eps, 1, 1, err, sizeof(err)), -EAFNOSUPPORT);
	CHECK(err[0] != '\0');
	CHECK_INT(ptcp_nftguard_install(&g, eps + 1, 2, 1, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "one port") != NULL);
	CHECK_INT(ptcp_nftguard_install(&g, eps, 0, 1, err, sizeof(err)), -EINVAL);
	CHECK_INT(ptcp_nftguard_install(&g, eps, 3, 1, err, sizeof(err)), -EINVAL);
}

/* The point of "flags owner": a SIGKILLed process leaves no table. */
static void test_gone_after_sigkill(void)
{
	struct timespec pause_ts = { 0, 10 * 1000 * 1000 };
	char table[48] = "";
	int fds[2], i, status;
	pid_t pid;

	CHECK_INT(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		struct ptcp_endpoint ep = local4(4003);
		struct ptcp_nftguard g;
		char err[256];

		close(fds[0]);
		if (ptcp_nftguard_install(&g, &ep, 1, 1, err, sizeof(err)) == 0)
			(void)!write(fds[1], g.table, strlen(g.table));
		close(fds[1]);
		for (;;)
			pause();
	}
	close(fds[1]);
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK(read(fds[0], table, sizeof(table) - 1) > 0);
	close(fds[0]);
	CHECK_INT(list_table(table, NULL, 0), 1);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	/* The kernel releases the table as the socket closes; allow it a
	 * moment in case that is deferred. */
	for (i = 0; i < 100 && list_table(table, NULL, 0) == 1; i++)
		nanosleep(&pause_ts, NULL);
	CHECK_INT(list_table(table, NULL, 0), 0);
}

/* Runs one nftables command through a context of our own. */
static int nft_cmd(const char *cmd)
{
	struct nft_ctx *n = nft_ctx_new(NFT_CTX_DEFAULT);
	int rv;

	if (!n)
		return -1;
	nft_ctx_buffer_output(n);
	nft_ctx_buffer_error(n);
	rv = nft_run_cmd_from_buffer(n, cmd);
	if (rv != 0)
		printf("nft: %s: %s", cmd, nft_ctx_get_error_buffer(n));
	nft_ctx_free(n);
	return rv;
}

/* Other tables' base chains seen by IPv4 are found; ours, ip6, netdev
 * and chains without a hook are not. */
static void test_find_other(void)
{
	static const char ours_only[] =
		"table inet p2ptcp_1_5001 {\n\tflags owner\n\tchain output {\n"
		"\t\ttype filter hook output priority filter; policy accept;\n\t}\n}\n"
		"table ip6 v6only {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t}\n}\n"
		"table netdev ingress {\n\tchain dev {\n\t\ttype filter hook ingress device \"eth0\" priority filter; policy accept;\n\t}\n}\n"
		"table ip regular {\n\tchain jumped_to {\n\t\tcounter\n\t}\n}\n";
	static const char with_nat[] =
		"table inet p2ptcp_1_5001 {\n\tchain output {\n"
		"\t\ttype filter hook output priority filter; policy accept;\n\t}\n}\n"
		"table ip nat {\n\tchain POSTROUTING {\n"
		"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		"\t\tmasquerade\n\t}\n}\n";
	char what[128] = "";

	CHECK_INT(ptcp_nftguard_find_other(ours_only, "p2ptcp_1_5001", what, sizeof(what)), 0);
	CHECK_INT(ptcp_nftguard_find_other(with_nat, "p2ptcp_1_5001", what, sizeof(what)), 1);
	CHECK(strcmp(what, "table ip nat, chain POSTROUTING (hook postrouting)") == 0);
	/* Another p2ptcp's table is another table. */
	CHECK_INT(ptcp_nftguard_find_other(ours_only, "p2ptcp_2_5002", what, sizeof(what)), 1);
	CHECK(strcmp(what, "table inet p2ptcp_1_5001, chain output (hook output)") == 0);
	CHECK_INT(ptcp_nftguard_find_other("", "x", what, sizeof(what)), 0);
}

/* Another table's netdev ingress chain is found (a ring bound to
 * ETH_P_ALL would see packets before it); egress chains, other families
 * and our own ring table are not. */
static void test_find_other_ingress(void)
{
	static const char plain[] =
		"table inet p2ptcp_1_5001 {\n\tchain output {\n"
		"\t\ttype filter hook output priority filter; policy accept;\n\t}\n}\n"
		"table inet p2ptcp_1_5001_ring {\n\tchain ingress {\n"
		"\t\ttype filter hook ingress devices = { \"eth0\", \"lo\" } priority filter; policy accept;\n\t}\n}\n"
		"table netdev shaper {\n\tchain out {\n"
		"\t\ttype filter hook egress device \"eth0\" priority filter; policy accept;\n\t}\n}\n"
		"table ip fw {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n";
	static const char with_ingress[] =
		"table netdev ddos {\n\tchain in {\n"
		"\t\ttype filter hook ingress device \"eth0\" priority -500; policy accept;\n\t}\n}\n";
	char what[128] = "";

	CHECK_INT(ptcp_nftguard_find_other_ingress(plain, "p2ptcp_1_5001", what, sizeof(what)), 0);
	CHECK_INT(ptcp_nftguard_find_other_ingress(with_ingress, "p2ptcp_1_5001", what, sizeof(what)), 1);
	CHECK(strcmp(what, "table netdev ddos, chain in (hook ingress)") == 0);
	/* Our ring table is ours for the other search too. */
	CHECK_INT(ptcp_nftguard_find_other(plain, "p2ptcp_1_5001", what, sizeof(what)), 1);
	CHECK(strcmp(what, "table ip fw, chain input (hook input)") == 0);
}

/* The ring table's text: its rules, and what it refuses. */
static void test_ingress_text(void)
{
	struct ptcp_endpoint ep = local4(4010), any = local4(4011), v6;
	const char *devs[] = { "lo", "eth0" }, *bad[] = { "a\"b" }, *empty[] = { "" };
	char text[1536];

	CHECK_INT(ptcp_nftguard_ingress_text(text, sizeof(text), "t_ring", &ep, 0x70746370, devs, 2), 0);
	CHECK(strstr(text, "table inet t_ring {\n\tflags owner\n") != NULL);
	CHECK(strstr(text, "devices = { \"lo\", \"eth0\" }") != NULL);
	CHECK(strstr(text, "ip saddr 10.0.0.1 tcp sport 4010 tcp flags & rst == 0 meta mark != 0x70746370 "
			   "add @kernel { ip daddr . tcp dport }") != NULL);
	CHECK(strstr(text, "ip daddr 10.0.0.1 tcp dport 4010 ip length > 80 ip frag-off & 0x3fff == 0 "
			   "ip saddr . tcp sport != @kernel counter drop") != NULL);
	memset(any.addr, 0, sizeof(any.addr));
	CHECK_INT(ptcp_nftguard_ingress_text(text, sizeof(text), "t_ring", &any, 1, devs, 1), 0);
	CHECK(strstr(text, "meta nfproto ipv4 tcp sport 4011") != NULL);
	CHECK(strstr(text, "meta protocol ip tcp dport 4011") != NULL);
	CHECK(strstr(text, "0.0.0.0") == NULL);
	CHECK_INT(ptcp_nftguard_ingress_text(text, sizeof(text), "t", &ep, 1, devs, 0), -EINVAL);
	CHECK_INT(ptcp_nftguard_ingress_text(text, sizeof(text), "t", &ep, 1, bad, 1), -EINVAL);
	CHECK_INT(ptcp_nftguard_ingress_text(text, sizeof(text), "t", &ep, 1, empty, 1), -EINVAL);
	CHECK_INT(ptcp_nftguard_ingress_text(text, 100, "t", &ep, 1, devs, 2), -ENOBUFS);
	CHECK_INT(ptcp_nftguard_ingress_text(text, sizeof(text), "t", check_ep6(&v6, 1, 4010), 1, devs, 1),
		  -EAFNOSUPPORT);
}

/* Brings lo up in the test's namespace (a new one has it down). */
static int lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rv;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	rv = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (rv == 0)
		rv = ioctl(fd, SIOCSIFFLAGS, &ifr);
	close(fd);
	return rv;
}

static struct sockaddr_in sin4(uint16_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* On the kernel, on lo: the ring table is made and goes alone; a kernel
 * socket on our port is learnt from its SYN, and its data (over 80
 * bytes, which the ingress chain would drop otherwise) arrives. */
static void test_ingress_live(void)
{
	struct ptcp_endpoint ep = local4(4020);
	const char *devs[] = { "lo" };
	struct sockaddr_in me = sin4(4020), srv = sin4(4021);
	struct ptcp_nftguard g;
	char err[256], text[2048], buf[600], data[500];
	struct pollfd pfd;
	int l, c, a, one = 1;
	ssize_t got = 0, r;

	ep.addr[0] = 127;
	ep.addr[3] = 1;
	CHECK_INT(lo_up(), 0);
	CHECK_INT(ptcp_nftguard_install(&g, &ep, 1, 0x70746370, err, sizeof(err)), 0);
	CHECK_INT(ptcp_nftguard_ingress(&g, &ep, 0x70746370, devs, 1, err, sizeof(err)), 0);
	CHECK(strstr(g.ring_table, "_ring") != NULL);
	CHECK_INT(list_table(g.ring_table, text, sizeof(text)), 1);
	CHECK(strstr(text, "flags owner") != NULL);
	CHECK(strstr(text, "hook ingress") != NULL);

	l = socket(AF_INET, SOCK_STREAM, 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(l >= 0 && c >= 0);
	(void)setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	CHECK_INT(bind(l, (struct sockaddr *)&srv, sizeof(srv)), 0);
	CHECK_INT(listen(l, 1), 0);
	CHECK_INT(bind(c, (struct sockaddr *)&me, sizeof(me)), 0);
	CHECK_INT(connect(c, (struct sockaddr *)&srv, sizeof(srv)), 0);
	a = accept(l, NULL, NULL);
	CHECK(a >= 0);
	memset(data, 'x', sizeof(data));
	CHECK_INT((int)send(a, data, sizeof(data), 0), (int)sizeof(data));
	pfd.fd = c;
	pfd.events = POLLIN;
	while (got < (ssize_t)sizeof(data) && poll(&pfd, 1, 2000) == 1 && (r = recv(c, buf, sizeof(buf), 0)) > 0)
		got += r;
	CHECK_INT((int)got, (int)sizeof(data));
	CHECK_INT(list_table(g.ring_table, text, sizeof(text)), 1);
	CHECK(strstr(text, "127.0.0.1 . 4021") != NULL);
	CHECK(strstr(text, "counter packets 0 bytes 0 drop") != NULL);
	close(a);
	close(c);
	close(l);

	ptcp_nftguard_ingress_remove(&g);
	CHECK_INT(list_table(g.ring_table, NULL, 0), 0);
	CHECK(ptcp_nftguard_present(&g));
	ptcp_nftguard_ingress_remove(&g);   /* twice is harmless */
	ptcp_nftguard_remove(&g);
}

/* On the kernel: our table alone is nothing; a filter chain added
 * beside it is found. */
static void test_others_live(void)
{
	struct ptcp_endpoint ep = local4(5004);
	struct ptcp_nftguard g;
	char err[256], what[128];

	CHECK_INT(ptcp_nftguard_install(&g, &ep, 1, 0x70746370, err, sizeof(err)), 0);
	CHECK_INT(ptcp_nftguard_others(&g, what, sizeof(what)), 0);
	CHECK_INT(nft_cmd("table ip lab_fw { chain c { type filter hook input priority 0; }; }"), 0);
	CHECK_INT(ptcp_nftguard_others(&g, what, sizeof(what)), 1);
	CHECK(strcmp(what, "table ip lab_fw, chain c (hook input)") == 0);
	CHECK_INT(nft_cmd("delete table ip lab_fw"), 0);
	CHECK_INT(ptcp_nftguard_others(&g, what, sizeof(what)), 0);
	ptcp_nftguard_remove(&g);
}

int main(void)
{
	RUN(test_find_other);
	RUN(test_find_other_ingress);
	RUN(test_ingress_text);
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
		printf("check: 3 passed, 0 failed, 6 skipped (needs root)\n");
		return 0;
	}
	RUN(test_ingress_live);
	RUN(test_others_live);
	RUN(test_install_and_remove);
	RUN(test_any_address);
	RUN(test_both_families);
	RUN(test_refused);
	RUN(test_gone_after_sigkill);
	return check_summary();
}
