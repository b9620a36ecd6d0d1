/* Tests of the p2ptcp command line: value parsers, the connect/listen
 * option sets with their error lines, and the exit codes. The CLI's
 * sources are compiled in directly (they are not part of a library). */
#include <string.h>

#include "check.h"
#include "error.h"

#include "../../cli/options.c"
#include "../../cli/status.c"

static char err[256];

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, listen, ...) ptcp_cli_parse_direct((o), (listen), ARGC(__VA_ARGS__), \
						   ARGV(__VA_ARGS__), err, sizeof(err))

static void check_err(const char *want)
{
	if (strcmp(err, want) != 0)
		check_fail(__FILE__, __LINE__, "error '%s', want '%s'", err, want);
}

static void test_port(void)
{
	uint16_t p = 0;

	CHECK_INT(ptcp_cli_parse_port("4000", &p, err, sizeof(err)), 0);
	CHECK_EQ(p, 4000);
	CHECK_INT(ptcp_cli_parse_port("65535", &p, err, sizeof(err)), 0);
	CHECK_EQ(p, 65535);
	CHECK_INT(ptcp_cli_parse_port("1", &p, err, sizeof(err)), 0);
	CHECK_EQ(p, 1);
	CHECK_INT(ptcp_cli_parse_port("x", &p, err, sizeof(err)), -1);
	check_err("invalid port: 'x'");
	CHECK_INT(ptcp_cli_parse_port("0", &p, err, sizeof(err)), -1);
	CHECK_INT(ptcp_cli_parse_port("65536", &p, err, sizeof(err)), -1);
	check_err("invalid port: '65536'");
	CHECK_INT(ptcp_cli_parse_port("-1", &p, err, sizeof(err)), -1);
	CHECK_INT(ptcp_cli_parse_port(" 80", &p, err, sizeof(err)), -1);
	CHECK_INT(ptcp_cli_parse_port("80x", &p, err, sizeof(err)), -1);
	CHECK_INT(ptcp_cli_parse_port("", &p, err, sizeof(err)), -1);
	CHECK_INT(ptcp_cli_parse_port("99999999999999999999", &p, err, sizeof(err)), -1);
	CHECK_EQ(p, 1);
}

static void test_addr_and_endpoint(void)
{
	struct ptcp_endpoint ep;

	CHECK_INT(ptcp_cli_parse_endpoint("10.1.2.3:4000", &ep, err, sizeof(err)), 0);
	CHECK_EQ(ep.family, PTCP_AF_INET);
	CHECK_EQ(ep.addr[0], 10);
	CHECK_EQ(ep.addr[3], 3);
	CHECK_EQ(ep.port, 4000);

	CHECK_INT(ptcp_cli_parse_endpoint("10.1.2.3", &ep, err, sizeof(err)), -1);
	check_err("invalid peer: '10.1.2.3' (expected ADDR:PORT)");
	CHECK_INT(ptcp_cli_parse_endpoint("10.1.2.3:", &ep, err, sizeof(err)), -1);
	check_err("invalid peer: '10.1.2.3:' (expected ADDR:PORT)");
	CHECK_INT(ptcp_cli_parse_endpoint(":80", &ep, err, sizeof(err)), -1);
	CHECK_INT(ptcp_cli_parse_endpoint("10.1.2:80", &ep, err, sizeof(err)), -1);
	check_err("invalid address: '10.1.2'");
	CHECK_INT(ptcp_cli_parse_endpoint("host.example:80", &ep, err, sizeof(err)), -1);
	check_err("invalid address: 'host.example'");
	CHECK_INT(ptcp_cli_parse_endpoint("10.1.2.3:http", &ep, err, sizeof(err)), -1);
	check_err("invalid port: 'http'");
	CHECK_INT(ptcp_cli_parse_endpoint("[2001:db8::1]:80", &ep, err, sizeof(err)), -1);
	check_err("IPv6 is not supported yet: '2001:db8::1'");
	CHECK_INT(ptcp_cli_parse_addr("256.1.1.1", &ep, err, sizeof(err)), -1);
	check_err("invalid address: '256.1.1.1'");
}

static void test_u32(void)
{
	uint32_t v = 0;

	CHECK_INT(ptcp_cli_parse_u32("0", &v, "ISN", err, sizeof(err)), 0);
	CHECK_EQ(v, 0);
	CHECK_INT(ptcp_cli_parse_u32("4294967295", &v, "ISN", err, sizeof(err)), 0);
	CHECK_EQ(v, 4294967295u);
	CHECK_INT(ptcp_cli_parse_u32("0xdeadBEEF", &v, "ISN", err, sizeof(err)), 0);
	CHECK_EQ(v, 0xdeadbeefu);
	CHECK_INT(ptcp_cli_parse_u32("4294967296", &v, "ISN", err, sizeof(err)), -1);
	check_err("invalid ISN: '4294967296'");
	CHECK_INT(ptcp_cli_parse_u32("0x", &v, "ISN", err, sizeof(err)), -1);
	CHECK_INT(ptcp_cli_parse_u32("-5", &v, "ISN", err, sizeof(err)), -1);
	CHECK_INT(ptcp_cli_parse_u32("12abc", &v, "peer ISN", err, sizeof(err)), -1);
	check_err("invalid peer ISN: '12abc'");
	CHECK_EQ(v, 0xdeadbeefu);
}

static void test_duration(void)
{
	uint64_t ns = 0, max = 100ULL * NS_PER_S;

	CHECK_INT(ptcp_cli_parse_duration("250", NS_PER_MS, max, &ns, "x", err, sizeof(err)), 0);
	CHECK_EQ(ns, 250 * NS_PER_MS);
	CHECK_INT(ptcp_cli_parse_duration("1.5", NS_PER_S, max, &ns, "x", err, sizeof(err)), 0);
	CHECK_EQ(ns, 1500 * NS_PER_MS);
	CHECK_INT(ptcp_cli_parse_duration("0.000000001", NS_PER_S, max, &ns, "x", err,
					  sizeof(err)), 0);
	CHECK_EQ(ns, 1);
	CHECK_INT(ptcp_cli_parse_duration("0", NS_PER_S, max, &ns, "x", err, sizeof(err)), 0);
	CHECK_EQ(ns, 0);
	CHECK_INT(ptcp_cli_parse_duration("100", NS_PER_S, max, &ns, "x", err, sizeof(err)), 0);
	CHECK_INT(ptcp_cli_parse_duration("100.5", NS_PER_S, max, &ns, "timeout", err,
					  sizeof(err)), -1);
	check_err("invalid timeout: '100.5'");
	CHECK_INT(ptcp_cli_parse_duration("99999999999999999999999", NS_PER_S, max, &ns, "x",
					  err, sizeof(err)), -1);
	CHECK_INT(ptcp_cli_parse_duration("1.", NS_PER_S, max, &ns, "x", err, sizeof(err)), -1);
	CHECK_INT(ptcp_cli_parse_duration(".5", NS_PER_S, max, &ns, "x", err, sizeof(err)), -1);
	CHECK_INT(ptcp_cli_parse_duration("1s", NS_PER_S, max, &ns, "x", err, sizeof(err)), -1);
	CHECK_INT(ptcp_cli_parse_duration("-1", NS_PER_S, max, &ns, "x", err, sizeof(err)), -1);
	CHECK_EQ(ns, 100 * NS_PER_S);
}

static void test_connect_full(void)
{
	struct ptcp_cli_direct o;

	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "4000", "--peer", "10.0.0.2:5000",
			"--local-addr", "10.0.0.1", "--isn", "100", "--peer-isn", "0x200",
			"--punch-interval", "250", "--timeout", "7", "--pcap", "x.pcap", "-v",
			"-vv"), 0);
	CHECK(!o.listen);
	CHECK(!o.help);
	CHECK_EQ(o.local_port, 4000);
	CHECK(o.has_peer);
	CHECK_EQ(o.peer.port, 5000);
	CHECK_EQ(o.peer.addr[3], 2);
	CHECK(o.has_local_addr);
	CHECK_EQ(o.local.addr[3], 1);
	CHECK(o.has_isn);
	CHECK_EQ(o.isn, 100);
	CHECK(o.has_peer_isn);
	CHECK_EQ(o.peer_isn, 0x200);
	CHECK(!o.active);
	CHECK_EQ(o.punch_interval, 250 * NS_PER_MS);
	CHECK_EQ(o.timeout, 7 * NS_PER_S);
	CHECK(o.pcap && strcmp(o.pcap, "x.pcap") == 0);
	CHECK_INT(o.verbose, 3);
	CHECK_INT(o.linger, -1);
}

static void test_connect_defaults_and_equals(void)
{
	struct ptcp_cli_direct o;

	CHECK_INT(PARSE(&o, false, "connect", "--local-port=4000", "--peer=10.0.0.2:5000",
			"--active"), 0);
	CHECK_EQ(o.local_port, 4000);
	CHECK_EQ(o.peer.port, 5000);
	CHECK(o.active);
	CHECK(!o.has_isn);
	CHECK(!o.has_local_addr);
	CHECK_EQ(o.punch_interval, PTCP_CLI_PUNCH_INTERVAL_DEFAULT);
	CHECK_EQ(o.timeout, PTCP_CLI_CONNECT_TIMEOUT_DEFAULT);
	CHECK(o.pcap == NULL);
	CHECK_INT(o.verbose, 0);
}

static void test_extras(void)
{
	struct ptcp_cli_direct o;

	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "1", "--peer", "1.2.3.4:5",
			"--linger", "0", "--first-syn-ttl", "3", "--sndbuf", "65536",
			"--rcvbuf", "0x100000", "--timeout", "0"), 0);
	CHECK_INT(o.linger, 0);
	CHECK_EQ(o.first_syn_ttl, 3);
	CHECK_EQ(o.sndbuf, 65536);
	CHECK_EQ(o.rcvbuf, 1 << 20);
	CHECK_EQ(o.timeout, 0);
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "1", "--peer", "1.2.3.4:5",
			"--first-syn-ttl", "256"), -1);
	check_err("invalid TTL: '256' (1 to 255)");
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "1", "--peer", "1.2.3.4:5",
			"--rcvbuf", "10"), -1);
	check_err("invalid receive buffer size: '10' (1024 to 1073741824 bytes)");
}

static void test_connect_errors(void)
{
	struct ptcp_cli_direct o;

	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "x", "--peer", "1.2.3.4:5"), -1);
	check_err("invalid port: 'x'");
	CHECK_INT(PARSE(&o, false, "connect", "--peer", "1.2.3.4:5"), -1);
	check_err("missing --local-port");
	/* nothing at all: lead with the peer-id form */
	CHECK_INT(PARSE(&o, false, "connect"), -1);
	check_err("missing <peer-id>: p2ptcp connect <peer-id> connects through a rendezvous "
		  "server; --peer ADDR:PORT --local-port PORT connects directly");
	CHECK_INT(PARSE(&o, false, "connect", "-v"), -1);
	CHECK(strncmp(err, "missing <peer-id>: ", 19) == 0);
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "4000"), -1);
	check_err("missing --peer");
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "4000", "--peer"), -1);
	check_err("option '--peer' needs a value");
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "4000", "--bogus"), -1);
	check_err("unknown option for connect: '--bogus'");
	CHECK_INT(PARSE(&o, false, "connect", "stray"), -1);
	check_err("unexpected argument: 'stray'");
	CHECK_INT(PARSE(&o, false, "connect", "--active=yes"), -1);
	check_err("option '--active' takes no value");
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "1", "--peer", "1.2.3.4:5",
			"--active", "--punch-interval", "100"), -1);
	check_err("--punch-interval applies to simultaneous open, not --active");
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "1", "--peer", "1.2.3.4:5",
			"--punch-interval", "0"), -1);
	check_err("invalid punch interval: '0' (at least 1 ms)");
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "1", "--peer", "1.2.3.4:5",
			"--timeout", "soon"), -1);
	check_err("invalid timeout: 'soon'");
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "1", "--peer", "1.2.3.4:5",
			"--isn", "-3"), -1);
	check_err("invalid ISN: '-3'");
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "1", "--peer", "1.2.3.4:5",
			"--local-addr", "0.0.0.0"), -1);
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "1", "--peer", "1.2.3.4:5",
			"--pcap="), -1);
	check_err("invalid capture file: ''");
	CHECK_INT(PARSE(&o, false, "connect", "-vx"), -1);
	check_err("unknown option for connect: '-vx'");
}

static void test_listen(void)
{
	struct ptcp_cli_direct o;

	CHECK_INT(PARSE(&o, true, "listen", "--local-port", "6000", "-v"), 0);
	CHECK(o.listen);
	CHECK_EQ(o.local_port, 6000);
	CHECK(!o.has_peer);
	CHECK_EQ(o.timeout, 0);
	CHECK_INT(o.verbose, 1);
	CHECK_INT(PARSE(&o, true, "listen", "--local-port", "6000", "--local-addr", "10.0.0.1",
			"--pcap", "l.pcap", "--timeout", "3"), 0);
	CHECK(o.has_local_addr);
	CHECK_EQ(o.timeout, 3 * NS_PER_S);
	CHECK_INT(PARSE(&o, true, "listen", "--local-port", "6000", "--peer", "1.2.3.4:5"), -1);
	check_err("unknown option for listen: '--peer'");
	CHECK_INT(PARSE(&o, true, "listen", "--local-port", "6000", "--active"), -1);
	check_err("unknown option for listen: '--active'");
	/* Nothing of direct mode: the message leads with the rendezvous
	 * server a peer-id listen needs. */
	CHECK_INT(PARSE(&o, true, "listen"), -1);
	check_err("no rendezvous server to listen through: give --rendezvous HOST[:PORT], set "
		  "P2PTCP_RENDEZVOUS, or put 'rendezvous = HOST:PORT' in the config file "
		  "($XDG_CONFIG_HOME/p2ptcp/config); or --local-port PORT to listen without one");
	CHECK_INT(PARSE(&o, true, "listen", "--local-port", "6000", "--local-addr", "0.0.0.0"), -1);
	check_err("invalid address: '0.0.0.0' (give the address the peer sends to)");
}

/* Options of rendezvous mode on a command line that reached direct mode
 * (no peer id, no server configured): say what they need. */
static void test_rendezvous_options(void)
{
	struct ptcp_cli_direct o;

	CHECK_INT(PARSE(&o, true, "listen", "--forward", "127.0.0.1:22"), -1);
	check_err("'--forward' needs a rendezvous server: give --rendezvous HOST[:PORT], set "
		  "P2PTCP_RENDEZVOUS, or put 'rendezvous = HOST:PORT' in the config file "
		  "($XDG_CONFIG_HOME/p2ptcp/config)");
	CHECK_INT(PARSE(&o, true, "listen", "--exec=cat"), -1);
	check_err("'--exec' needs a rendezvous server: give --rendezvous HOST[:PORT], set "
		  "P2PTCP_RENDEZVOUS, or put 'rendezvous = HOST:PORT' in the config file "
		  "($XDG_CONFIG_HOME/p2ptcp/config)");
	CHECK_INT(PARSE(&o, true, "listen", "--local-port", "6000", "--no-encrypt"), -1);
	CHECK(strncmp(err, "'--no-encrypt' needs a rendezvous server: ", 42) == 0);
	CHECK_INT(PARSE(&o, false, "connect", "--wait", "5"), -1);
	check_err("'--wait' is for connecting by peer id: p2ptcp connect <peer-id> "
		  "[--rendezvous HOST[:PORT]] ...");
	/* a real typo stays an unknown option */
	CHECK_INT(PARSE(&o, true, "listen", "--forwrd", "x"), -1);
	check_err("unknown option for listen: '--forwrd'");
}

static void test_help(void)
{
	struct ptcp_cli_direct o;

	/* --help wins over anything missing or wrong after it. */
	CHECK_INT(PARSE(&o, false, "connect", "--help", "--bogus"), 0);
	CHECK(o.help);
	CHECK_INT(PARSE(&o, true, "listen", "-h"), 0);
	CHECK(o.help);
}

static void test_exit_codes(void)
{
	struct ptcp_session_result r;

	memset(&r, 0, sizeof(r));
	CHECK_INT(ptcp_cli_exit_code(&r), 0);
	r.status = PTCP_SESSION_CONN;
	r.conn_error = PTCP_ERR_REFUSED;
	CHECK_INT(ptcp_cli_exit_code(&r), 3);
	r.conn_error = PTCP_ERR_TIMEOUT;
	CHECK_INT(ptcp_cli_exit_code(&r), 4);
	r.conn_error = PTCP_ERR_RESET;
	CHECK_INT(ptcp_cli_exit_code(&r), 5);
	r.conn_error = PTCP_ERR_ISN_MISMATCH;
	CHECK_INT(ptcp_cli_exit_code(&r), 1);
	r.status = PTCP_SESSION_PERM;
	CHECK_INT(ptcp_cli_exit_code(&r), 77);
	r.status = PTCP_SESSION_FIREWALL;
	CHECK_INT(ptcp_cli_exit_code(&r), 69);
	r.status = PTCP_SESSION_SYSTEM;
	CHECK_INT(ptcp_cli_exit_code(&r), 71);
	r.status = PTCP_SESSION_SIGNAL;
	r.signo = 2;
	CHECK_INT(ptcp_cli_exit_code(&r), 130);
	r.signo = 15;
	CHECK_INT(ptcp_cli_exit_code(&r), 143);
}

int main(void)
{
	RUN(test_port);
	RUN(test_addr_and_endpoint);
	RUN(test_u32);
	RUN(test_duration);
	RUN(test_connect_full);
	RUN(test_connect_defaults_and_equals);
	RUN(test_extras);
	RUN(test_connect_errors);
	RUN(test_listen);
	RUN(test_rendezvous_options);
	RUN(test_help);
	RUN(test_exit_codes);
	return check_summary();
}
