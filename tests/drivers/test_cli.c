/* Tests of the p2ptcp command line: value parsers, the one option table
 * of connect and listen in both modes (which mode a command line means,
 * every option's error line, the environment and the config file, the
 * allow file), the rendezvous server's address splitting, known_servers
 * (names, lines, look-up, the atomic rewrite, its pin), and the exit
 * codes. The CLI's sources are compiled in directly (they are the
 * program's, not the library's). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "resolve.h"

#include "../../cli/known.c"
#include "../../cli/options.c"
#include "../../cli/status.c"

static char err[512];
static char cfgdir[64];
#define ID "vqapwwc4lbpdwfv5arkeganbfr6e4ftoy43azbczong4lrpg45gtxzi"
#define SRV_ID "a3fl4qg7sudmyaeloyxroytx4nbrgc3ogkzx5vwwhlkbqboed34stca"

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, listen, ...) (ptcp_cli_opts_free(o), \
			       ptcp_cli_parse((o), (listen), ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), \
					      err, sizeof(err)))

#define CHECK_STR(a, b)                                                              \
	do {                                                                         \
		if (strcmp((a), (b)) != 0)                                           \
			check_fail(__FILE__, __LINE__, "%s: '%s', want '%s'", #a, (a), (b)); \
	} while (0)

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
	check_err("invalid peer: '10.1.2.3' (expected ADDR:PORT or [IPV6-ADDR]:PORT)");
	CHECK_INT(ptcp_cli_parse_endpoint("10.1.2.3:", &ep, err, sizeof(err)), -1);
	check_err("invalid peer: '10.1.2.3:' (expected ADDR:PORT or [IPV6-ADDR]:PORT)");
	CHECK_INT(ptcp_cli_parse_endpoint(":80", &ep, err, sizeof(err)), -1);
	CHECK_INT(ptcp_cli_parse_endpoint("10.1.2:80", &ep, err, sizeof(err)), -1);
	check_err("invalid address: '10.1.2'");
	CHECK_INT(ptcp_cli_parse_endpoint("host.example:80", &ep, err, sizeof(err)), -1);
	check_err("invalid address: 'host.example'");
	CHECK_INT(ptcp_cli_parse_endpoint("10.1.2.3:http", &ep, err, sizeof(err)), -1);
	check_err("invalid port: 'http'");
	CHECK_INT(ptcp_cli_parse_endpoint("[2001:db8::2]:4000", &ep, err, sizeof(err)), 0);
	CHECK_EQ(ep.family, PTCP_AF_INET6);
	CHECK_EQ(ep.addr[0], 0x20);
	CHECK_EQ(ep.addr[3], 0xb8);
	CHECK_EQ(ep.addr[15], 2);
	CHECK_EQ(ep.port, 4000);
	CHECK_INT(ptcp_cli_parse_endpoint("[::ffff:10.0.0.1]:22", &ep, err, sizeof(err)), 0);
	CHECK_EQ(ep.family, PTCP_AF_INET6);
	CHECK_INT(ptcp_cli_parse_endpoint("2001:db8::1:80", &ep, err, sizeof(err)), -1);
	check_err("invalid peer: '2001:db8::1:80' (an IPv6 address goes in brackets: [IPV6-ADDR]:PORT)");
	CHECK_INT(ptcp_cli_parse_endpoint("[2001:db8::1]", &ep, err, sizeof(err)), -1);
	check_err("invalid peer: '[2001:db8::1]' (expected [IPV6-ADDR]:PORT)");
	CHECK_INT(ptcp_cli_parse_endpoint("[2001:db8::1:80", &ep, err, sizeof(err)), -1);
	check_err("invalid peer: '[2001:db8::1:80' (expected [IPV6-ADDR]:PORT)");
	CHECK_INT(ptcp_cli_parse_endpoint("[2001:db8::g]:80", &ep, err, sizeof(err)), -1);
	check_err("invalid address: '2001:db8::g'");
	CHECK_INT(ptcp_cli_parse_endpoint("[10.1.2.3]:80", &ep, err, sizeof(err)), -1);
	check_err("invalid peer: '[10.1.2.3]:80' (brackets are for IPv6 addresses only)");
	CHECK_INT(ptcp_cli_parse_endpoint("[2001:db8::1]:0", &ep, err, sizeof(err)), -1);
	check_err("invalid port: '0'");
	CHECK_INT(ptcp_cli_parse_addr("2001:db8::7", &ep, err, sizeof(err)), 0);
	CHECK_EQ(ep.family, PTCP_AF_INET6);
	CHECK_EQ(ep.addr[15], 7);
	CHECK_INT(ptcp_cli_parse_addr("2001:db8::7::1", &ep, err, sizeof(err)), -1);
	check_err("invalid address: '2001:db8::7::1'");
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

/* A fresh XDG_CONFIG_HOME/p2ptcp/NAME holding text (NULL: none), mode
 * 0600. */
static void cfg_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/p2ptcp/%s", cfgdir, name);
	unlink(path);
	if (!text)
		return;
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, 0600);
}

/* The config file. */
static void config(const char *text)
{
	cfg_file("config", text);
}

static void test_direct_connect(void)
{
	struct ptcp_cli_opts o = { 0 };

	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "4000", "--peer", "10.0.0.2:5000",
			"--local-addr", "10.0.0.1", "--isn", "100", "--peer-isn", "0x200",
			"--punch-interval", "250", "--timeout", "7", "--pcap", "x.pcap", "-v",
			"-vv"), 0);
	CHECK(o.direct && !o.listen && !o.help);
	CHECK_EQ(o.local_port, 4000);
	CHECK(o.has_peer);
	CHECK_EQ(o.peer.port, 5000);
	CHECK_EQ(o.peer.addr[3], 2);
	CHECK(o.has_local_addr);
	CHECK_EQ(o.local.addr[3], 1);
	CHECK(o.has_isn && o.isn == 100);
	CHECK(o.has_peer_isn && o.peer_isn == 0x200);
	CHECK(!o.active);
	CHECK_EQ(o.punch_interval, 250 * NS_PER_MS);
	CHECK(o.has_timeout && o.timeout == 7 * NS_PER_S);
	CHECK(o.pcap && strcmp(o.pcap, "x.pcap") == 0);
	CHECK_INT(o.verbose, 3);
	CHECK_INT(o.linger, -1);

	CHECK_INT(PARSE(&o, false, "connect", "--local-port=4000", "--peer=10.0.0.2:5000",
			"--active", "--linger", "0", "--first-syn-ttl", "3", "--sndbuf", "65536",
			"--rcvbuf", "0x100000"), 0);
	CHECK(o.direct && o.active && !o.has_isn && !o.has_timeout);
	CHECK_INT(o.linger, 0);
	CHECK_EQ(o.first_syn_ttl, 3);
	CHECK_EQ(o.sndbuf, 65536);
	CHECK_EQ(o.rcvbuf, 1 << 20);
	ptcp_cli_opts_free(&o);
}

static void test_direct_errors(void)
{
	struct ptcp_cli_opts o = { 0 };

	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "x", "--peer", "1.2.3.4:5"), -1);
	check_err("invalid port: 'x'");
	CHECK_INT(PARSE(&o, false, "connect", "--peer", "1.2.3.4:5"), -1);
	check_err("missing --local-port");
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "4000", "--peer"), -1);
	check_err("option '--peer' needs a value");
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "4000", "--peer", "1.2.3.4:5",
			"--bogus"), -1);
	check_err("unknown option for connect: '--bogus'");
	CHECK_INT(PARSE(&o, false, "connect", "--peer", "1.2.3.4:5", "--active=yes"), -1);
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
	check_err("invalid address: '0.0.0.0' (give the address the peer sends to)");
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "1", "--peer", "[2001:db8::2]:5",
			"--local-addr", "::"), -1);
	check_err("invalid address: '::' (give the address the peer sends to)");
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "1", "--peer", "[2001:db8::2]:5",
			"--local-addr", "10.0.0.1"), -1);
	check_err("--local-addr 10.0.0.1:0 and --peer [2001:db8::2]:5: not of one IP version");
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "1", "--peer", "[2001:db8::2]:4000",
			"--local-addr", "2001:db8::1"), 0);
	CHECK_EQ(o.peer.family, PTCP_AF_INET6);
	CHECK_EQ(o.local.family, PTCP_AF_INET6);
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "1", "--peer", "1.2.3.4:5",
			"--pcap="), -1);
	check_err("invalid capture file: ''");
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "1", "--peer", "1.2.3.4:5",
			"--first-syn-ttl", "256"), -1);
	check_err("invalid TTL: '256' (0 to 255)");
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "1", "--peer", "1.2.3.4:5",
			"--rcvbuf", "10"), -1);
	check_err("invalid receive buffer size: '10' (1024 to 1073741824 bytes)");
	/* An option of the other mode says which mode it belongs to. */
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "1", "--peer", "1.2.3.4:5",
			"--wait", "3"), -1);
	check_err("option '--wait' needs a rendezvous server (connect --peer (direct mode) is in "
		  "direct mode: give --rendezvous HOST[:PORT])");
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "x", "--isn", "5"), -1);
	check_err("option '--isn' belongs to direct mode, not to connect <peer-id>");
	ptcp_cli_opts_free(&o);
}

static void test_mode(void)
{
	struct ptcp_cli_opts o = { 0 };

	unsetenv(PTCP_CLI_RDV_ENV);
	config(NULL);
	/* connect without anything leads with the peer-id form */
	CHECK_INT(PARSE(&o, false, "connect"), -1);
	check_err("missing <peer-id>: `p2ptcp connect <peer-id>` (or `--peer ADDR:PORT "
		  "--local-port PORT` for direct mode)");
	CHECK_INT(PARSE(&o, false, "connect", "--local-port", "4000", "--pcap", "x", "--peer",
			"10.0.0.1:4000"), 0);
	CHECK(o.direct);
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "203.0.113.10"), 0);
	CHECK(!o.direct);
	CHECK_INT(PARSE(&o, true, "listen", "--local-port", "4000"), 0);
	CHECK(o.direct && o.listen);
	CHECK_INT(PARSE(&o, true, "listen", "--local-port", "4000", "--rendezvous", "203.0.113.10"), 0);
	CHECK(!o.direct);
	CHECK_INT(PARSE(&o, true, "listen", "--allow", ID, "--rendezvous", "x"), 0);
	CHECK(!o.direct && o.n_allow == 1);
	/* listen --forward with no server says what it needs, not "unknown option" */
	CHECK_INT(PARSE(&o, true, "listen", "--forward", "127.0.0.1:22"), -1);
	check_err("no rendezvous server: listen --forward needs one: give --rendezvous HOST[:PORT], "
		  "set P2PTCP_RENDEZVOUS, or put 'rendezvous = HOST:PORT' in the config file");
	CHECK_INT(PARSE(&o, true, "listen"), -1);
	CHECK(strstr(err, "no rendezvous server: listen needs one") != NULL);
	CHECK(strstr(err, "(or --local-port PORT for direct mode)") != NULL);
	/* the environment and the config file name a server */
	setenv(PTCP_CLI_RDV_ENV, "203.0.113.9", 1);
	config("rendezvous = 198.51.100.7:7000\n");
	CHECK_INT(PARSE(&o, true, "listen"), 0);
	CHECK(!o.direct && strcmp(o.rendezvous, "203.0.113.9") == 0);
	CHECK_INT(PARSE(&o, false, "connect", "--peer", "10.0.0.1:4000", "--local-port", "1"), 0);
	CHECK(o.direct);
	unsetenv(PTCP_CLI_RDV_ENV);
	CHECK_INT(PARSE(&o, false, "connect", ID), 0);
	CHECK(strcmp(o.rendezvous, "198.51.100.7:7000") == 0);
	/* with a server only in the config file, --local-port alone is direct */
	CHECK_INT(PARSE(&o, true, "listen"), 0);
	CHECK(!o.direct);
	config("# comment\nrendezvous = 198.51.100.7:7000  # S\nrendezvous-key = " ID "\n");
	CHECK_INT(PARSE(&o, false, "connect", ID), 0);
	CHECK(o.rendezvous_key && strcmp(o.rendezvous_key, ID) == 0);
	CHECK(strcmp(o.rendezvous, "198.51.100.7:7000") == 0);
	config(NULL);
	ptcp_cli_opts_free(&o);
}

static void test_rdv_options(void)
{
	struct ptcp_cli_opts o = { 0 };

	unsetenv(PTCP_CLI_RDV_ENV);
	config(NULL);
	CHECK_INT(PARSE(&o, false, "connect", "--rendezvous=x", "--first-syn-ttl", "0",
			"--punch-interval", "100", "--wait", "5", "--punch-window", "3", "-vv", ID), 0);
	CHECK(strcmp(o.peer_text, ID) == 0);
	CHECK(o.has_ttl && o.first_syn_ttl == 0 && o.punch_interval == 100 * NS_PER_MS);
	CHECK(o.wait == 5 * NS_PER_S && o.punch_window == 3 * NS_PER_S && o.verbose == 2);
	/* a typo in the id is quoted */
	CHECK_INT(PARSE(&o, false, "connect", "vqapwwc4lbpdwfv5arkegan0fr6e4ftoy43azbczong4lrpg45gtxzi",
			"--rendezvous", "x"), -1);
	CHECK(strstr(err, "invalid peer id 'vqapwwc4lbpdwfv5arkegan0") != NULL);
	CHECK_INT(PARSE(&o, false, "connect", ID), -1);
	check_err("no rendezvous server: connect <peer-id> needs one: give --rendezvous HOST[:PORT], "
		  "set P2PTCP_RENDEZVOUS, or put 'rendezvous = HOST:PORT' in the config file");
	CHECK_INT(PARSE(&o, false, "connect", ID, "--bogus"), -1);
	check_err("unknown option for connect: '--bogus'");
	CHECK_INT(PARSE(&o, false, "connect", ID, ID, "--rendezvous", "x"), -1);
	check_err("unexpected argument: '" ID "'");
	CHECK_INT(PARSE(&o, true, "listen", ID, "--rendezvous", "x"), -1);
	check_err("unexpected argument: '" ID "'");
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous", "x", "--exec", "cat", "--forward",
			"127.0.0.1:22"), -1);
	check_err("--exec 'cat' and --forward '127.0.0.1:22' exclude each other");
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous", "x", "--forward", "localhost"), -1);
	check_err("invalid --forward: 'localhost' (expected HOST:PORT)");
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous", "x", "--max-peers", "0"), -1);
	check_err("invalid peer limit: '0' (1 to 10000)");
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous", "x", "--max-peers", "8", "--exec",
			"cat", "--allow", ID, "--allow", ID, "--no-keepalive", "--syslog"), 0);
	CHECK(o.max_peers == 8 && strcmp(o.exec_cmd, "cat") == 0 && o.n_allow == 2);
	CHECK(o.no_keepalive && o.syslog);
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "x", "--rendezvous-key", "bad"), -1);
	CHECK(strstr(err, "--rendezvous-key: invalid peer id 'bad'") == err);
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "x", "--keepalive", "0.5"), -1);
	check_err("invalid keepalive interval: '0.5' (at least 1 s)");
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous", "x", "--exec", "cat", "--timeout", "5"), -1);
	check_err("--timeout is for a listen that serves one peer: a service (--exec, --forward) "
		  "runs until it is stopped");
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous", "x", "--timeout", "5"), 0);
	CHECK_INT(PARSE(&o, true, "listen", "--local-port", "6000", "--isn", "5"), -1);
	check_err("option '--isn' is not for listen");
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous", "x", "--wait", "3"), -1);
	check_err("option '--wait' is not for listen");
	ptcp_cli_opts_free(&o);
}

/* The key of a peer id, for comparisons. */
static void key_of(const char *id, uint8_t key[32])
{
	CHECK_INT(ptcp_id_parse(key, id, NULL, 0), 0);
}

static void test_pin(void)
{
	struct ptcp_cli_opts o = { 0 };
	uint8_t k[32], k2[32];

	unsetenv(PTCP_CLI_RDV_ENV);
	config(NULL);
	key_of(SRV_ID, k);
	key_of(ID, k2);
	/* a pin alone is rendezvous mode, with the server from elsewhere */
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous-key", SRV_ID, "--rendezvous", "x"), 0);
	CHECK(!o.direct);
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "203.0.113.10"), 0);
	CHECK(!o.has_server_key);
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "203.0.113.10", "--rendezvous-key",
			SRV_ID), 0);
	CHECK(o.has_server_key && memcmp(o.server_key, k, 32) == 0);
	CHECK(strcmp(o.rendezvous, "203.0.113.10") == 0);
	/* <id>@host: the id pins, the host is the server */
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous", SRV_ID "@203.0.113.10:7000"), 0);
	CHECK(o.has_server_key && memcmp(o.server_key, k, 32) == 0);
	CHECK(strcmp(o.rendezvous, "203.0.113.10:7000") == 0);
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous=rdv-" SRV_ID "@rdv.example.org"), 0);
	CHECK(o.has_server_key && strcmp(o.rendezvous, "rdv.example.org") == 0);
	/* the same pin twice is fine, two different ones quote both */
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous-key", SRV_ID, "--rendezvous",
			SRV_ID "@rdv.example.org"), 0);
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous-key", ID, "--rendezvous",
			SRV_ID "@rdv.example.org"), -1);
	CHECK(strcmp(err, "--rendezvous pins the rendezvous key '" SRV_ID "', but it is pinned as '"
		     ID "' already") == 0);
	/* a bad id says where it came from and what is wrong */
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous", "x", "--rendezvous-key", "abc"), -1);
	CHECK(strstr(err, "--rendezvous-key: invalid peer id 'abc'") == err);
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous", "abc@rdv.example.org"), -1);
	CHECK(strstr(err, "--rendezvous: invalid peer id 'abc'") == err);
	/* the environment may hold id@host */
	setenv(PTCP_CLI_RDV_ENV, SRV_ID "@198.51.100.7", 1);
	CHECK_INT(PARSE(&o, false, "connect", ID), 0);
	CHECK(o.has_server_key && memcmp(o.server_key, k, 32) == 0);
	CHECK(strcmp(o.rendezvous, "198.51.100.7") == 0);
	unsetenv(PTCP_CLI_RDV_ENV);
	/* the config file's pin goes with the config file's server only */
	config("rendezvous = 198.51.100.7\nrendezvous-key = " ID "\n");
	CHECK_INT(PARSE(&o, false, "connect", ID), 0);
	CHECK(o.has_server_key && memcmp(o.server_key, k2, 32) == 0);
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "203.0.113.10"), 0);
	CHECK(!o.has_server_key);
	config("rendezvous = " SRV_ID "@198.51.100.7\nrendezvous-key = " ID "\n");
	CHECK_INT(PARSE(&o, false, "connect", ID), -1);
	CHECK(strstr(err, "the config file's 'rendezvous' pins the rendezvous key") == err);
	config("rendezvous = 198.51.100.7\nrendezvous-key = nope\n");
	CHECK_INT(PARSE(&o, false, "connect", ID), -1);
	CHECK(strstr(err, "the config file's 'rendezvous-key': invalid peer id 'nope'") == err);
	config(NULL);
	ptcp_cli_opts_free(&o);
}

/* The text of the test's known_servers ("" when there is none). */
static const char *known_text(char *buf, size_t cap)
{
	char path[128];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/p2ptcp/" PTCP_KNOWN_FILE, cfgdir);
	buf[0] = '\0';
	f = fopen(path, "r");
	if (f) {
		n = fread(buf, 1, cap - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static void test_known(void)
{
	struct ptcp_cli_opts o = { 0 };
	struct ptcp_known k;
	char name[PTCP_KNOWN_NAME_MAX], text[2048], path[128], want[4400];
	uint8_t key[32], k1[32], k2[32];
	struct stat st;

	unsetenv(PTCP_CLI_RDV_ENV);
	config(NULL);
	cfg_file(PTCP_KNOWN_FILE, NULL);
	key_of(SRV_ID, k1);
	key_of(ID, k2);
	snprintf(path, sizeof(path), "%s/p2ptcp/" PTCP_KNOWN_FILE, cfgdir);

	/* names: HOST:PORT, lower case, the default port written out */
	CHECK_INT(ptcp_known_name("203.0.113.10", name, sizeof(name), err, sizeof(err)), 0);
	CHECK_STR(name, "203.0.113.10:7450");
	CHECK_INT(ptcp_known_name("RDV.Example.ORG", name, sizeof(name), err, sizeof(err)), 0);
	CHECK_STR(name, "rdv.example.org:7450");
	CHECK_INT(ptcp_known_name("rdv.example.org:7000", name, sizeof(name), err, sizeof(err)), 0);
	CHECK_STR(name, "rdv.example.org:7000");
	CHECK_INT(ptcp_known_name("2001:db8::1", name, sizeof(name), err, sizeof(err)), 0);
	CHECK_STR(name, "[2001:db8::1]:7450");
	CHECK_INT(ptcp_known_name("[2001:DB8::1]:7000", name, sizeof(name), err, sizeof(err)), 0);
	CHECK_STR(name, "[2001:db8::1]:7000");

	/* lines: a record, blanks and comments, and what is malformed */
	CHECK_INT(ptcp_known_parse_line("203.0.113.10:7450 " SRV_ID "\n", name, sizeof(name), key), 1);
	CHECK_STR(name, "203.0.113.10:7450");
	CHECK(memcmp(key, k1, 32) == 0);
	CHECK_INT(ptcp_known_parse_line("  h:1\t" ID "  \r\n", name, sizeof(name), key), 1);
	CHECK(strcmp(name, "h:1") == 0 && memcmp(key, k2, 32) == 0);
	CHECK_INT(ptcp_known_parse_line("\n", name, sizeof(name), key), 0);
	CHECK_INT(ptcp_known_parse_line("", name, sizeof(name), key), 0);
	CHECK_INT(ptcp_known_parse_line("  # h:1 " ID "\n", name, sizeof(name), key), 0);
	CHECK_INT(ptcp_known_parse_line("h:1\n", name, sizeof(name), key), -1);
	CHECK_INT(ptcp_known_parse_line("h:1 " ID " more\n", name, sizeof(name), key), -1);
	CHECK_INT(ptcp_known_parse_line("h:1 " ID "x\n", name, sizeof(name), key), -1);
	CHECK_INT(ptcp_known_parse_line("h:1 nope\n", name, sizeof(name), key), -1);

	/* no file: no record, and no pin */
	CHECK_INT(ptcp_known_lookup(&k, NULL, "203.0.113.10", err, sizeof(err)), 0);
	CHECK_EQ(k.line, 0);
	CHECK_STR(k.path, path);
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "203.0.113.10"), 0);
	CHECK(o.rendezvous_key == NULL && o.known.line == 0);

	/* the first record makes the file (0600, two lines of comment) */
	CHECK_INT(ptcp_known_record(&k, k1, err, sizeof(err)), 0);
	CHECK_EQ(k.line, 3);
	CHECK_INT(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	known_text(text, sizeof(text));
	CHECK(strncmp(text, "# ", 2) == 0);
	CHECK(strstr(text, "\n203.0.113.10:7450 " SRV_ID "\n") != NULL);
	/* ... which pins the server from then on, by any spelling of it */
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "203.0.113.10:7450"), 0);
	CHECK(o.rendezvous_key && strcmp(o.rendezvous_key, SRV_ID) == 0);
	CHECK(!o.has_server_key && o.known.line == 3);
	CHECK_STR(o.known.name, "203.0.113.10:7450");
	/* another server's record goes below; replacing the first keeps
	 * its place and every other line as it was */
	CHECK_INT(ptcp_known_lookup(&k, NULL, "rdv.example.org", err, sizeof(err)), 0);
	CHECK_EQ(k.line, 0);
	CHECK_INT(ptcp_known_record(&k, k2, err, sizeof(err)), 0);
	CHECK_EQ(k.line, 4);
	CHECK_INT(ptcp_known_lookup(&k, NULL, "203.0.113.10", err, sizeof(err)), 0);
	CHECK(k.line == 3 && memcmp(k.key, k1, 32) == 0);
	CHECK_INT(ptcp_known_record(&k, k2, err, sizeof(err)), 0);
	CHECK_EQ(k.line, 3);
	known_text(text, sizeof(text));
	snprintf(want, sizeof(want), "203.0.113.10:7450 %s\nrdv.example.org:7450 %s\n", ID, ID);
	CHECK(strstr(text, want) != NULL);
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous", "rdv.example.org"), 0);
	CHECK(o.rendezvous_key && strcmp(o.rendezvous_key, ID) == 0 && o.known.line == 4);
	/* a second record of a name is dropped on the next rewrite */
	cfg_file(PTCP_KNOWN_FILE, "# c\nh:1 " ID "\nh:1 " SRV_ID "\n\nx:2 " ID "\n");
	CHECK_INT(ptcp_known_lookup(&k, NULL, "h:1", err, sizeof(err)), 0);
	CHECK(k.line == 2 && memcmp(k.key, k2, 32) == 0);
	CHECK_INT(ptcp_known_record(&k, k1, err, sizeof(err)), 0);
	CHECK_STR(known_text(text, sizeof(text)), "# c\nh:1 " SRV_ID "\n\nx:2 " ID "\n");

	/* a pin given otherwise wins over the record; none at all with
	 * --no-known-servers or 'known-servers = no' */
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "h:1", "--rendezvous-key", ID), 0);
	CHECK(o.has_server_key && strcmp(o.rendezvous_key, ID) == 0 && o.known.line == 2);
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "h:1", "--no-known-servers"), 0);
	CHECK(o.no_known && o.rendezvous_key == NULL && o.known.line == 0);
	config("known-servers = no\n");
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "h:1"), 0);
	CHECK(o.no_known && o.rendezvous_key == NULL);
	config("known-servers = yes\n");
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "h:1"), 0);
	CHECK(!o.no_known && o.rendezvous_key != NULL);
	config("known-servers = maybe\n");
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "h:1"), -1);
	check_err("the config file's 'known-servers': invalid value 'maybe' (yes or no)");
	config(NULL);

	/* a malformed line stops the command, quoting it with file and line */
	cfg_file(PTCP_KNOWN_FILE, "h:1 " ID "\nh:2 bad id\n");
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "h:1"), -1);
	snprintf(want, sizeof(want), "%s:2: malformed line 'h:2 bad id' (want 'HOST:PORT SERVER-ID'; "
		 "fix or delete it)", path);
	check_err(want);
	/* ... also with a pin of its own, but not with --no-known-servers */
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", SRV_ID "@h:1"), -1);
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "h:1", "--no-known-servers"), 0);
	/* a file others may write is no pin */
	cfg_file(PTCP_KNOWN_FILE, "h:1 " ID "\n");
	chmod(path, 0620);
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "h:1"), -1);
	snprintf(want, sizeof(want), "%s: writable by others (mode 620): its keys cannot be trusted; "
		 "chmod 600 it", path);
	check_err(want);
	cfg_file(PTCP_KNOWN_FILE, NULL);

	/* a directory that is not there: the record fails, with the reason */
	memset(&k, 0, sizeof(k));
	snprintf(k.path, sizeof(k.path), "%s/none/" PTCP_KNOWN_FILE, cfgdir);
	snprintf(k.name, sizeof(k.name), "h:1");
	CHECK_INT(ptcp_known_record(&k, k1, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "cannot record the rendezvous server's key in %s: No such file "
		 "or directory", k.path);
	check_err(want);
	CHECK_EQ(k.line, 0);
	ptcp_cli_opts_free(&o);
}

static void test_allow_file(void)
{
	struct ptcp_cli_opts o = { 0 };
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/allow", cfgdir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("# friends\n\n  laptop-" ID "   # a label is fine\n" ID "\n", f);
	fclose(f);
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous", "x", "--allow-file", path), 0);
	CHECK_INT(o.n_allow, 2);
	f = fopen(path, "a");
	if (f) {
		fputs("not-an-id\n", f);
		fclose(f);
	}
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous", "x", "--allow-file", path), -1);
	CHECK(strstr(err, ":5: invalid peer id 'not-an-id'") != NULL);
	/* a file with no id would allow anyone: refused */
	f = fopen(path, "w");
	if (f) {
		fputs("# nobody yet\n\n", f);
		fclose(f);
	}
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous", "x", "--allow-file", path), -1);
	CHECK(strstr(err, "lists no peer id (it would allow anyone") != NULL);
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous", "x", "--allow-file", "/nonexistent/a"), -1);
	check_err("cannot read allow file '/nonexistent/a': No such file or directory");
	unlink(path);
	ptcp_cli_opts_free(&o);
}

static void test_help(void)
{
	struct ptcp_cli_opts o = { 0 };

	/* --help wins over anything missing or wrong after it. */
	CHECK_INT(PARSE(&o, false, "connect", "--help", "--bogus"), 0);
	CHECK(o.help);
	CHECK_INT(PARSE(&o, true, "listen", "-h"), 0);
	CHECK(o.help);
	/* both usages lead with the peer-id form */
	CHECK(strncmp(ptcp_cli_usage(false, false), "Usage: p2ptcp connect <peer-id>", 31) == 0);
	CHECK(strncmp(ptcp_cli_usage(true, false), "Usage: p2ptcp listen [--allow <peer-id>]", 40) == 0);
	ptcp_cli_opts_free(&o);
}

static void test_split(void)
{
	char host[64];
	uint16_t port;

	CHECK_INT(ptcp_resolve_split("rdv.example.org", host, sizeof(host), &port, err, sizeof(err)), 0);
	CHECK(strcmp(host, "rdv.example.org") == 0 && port == 0);
	CHECK_INT(ptcp_resolve_split("rdv.example.org:7451", host, sizeof(host), &port, err,
				     sizeof(err)), 0);
	CHECK(strcmp(host, "rdv.example.org") == 0 && port == 7451);
	CHECK_INT(ptcp_resolve_split("[rdv6.example]:9", host, sizeof(host), &port, err, sizeof(err)), 0);
	CHECK(strcmp(host, "rdv6.example") == 0 && port == 9);
	CHECK_INT(ptcp_resolve_split("h:0", host, sizeof(host), &port, err, sizeof(err)), -EINVAL);
	CHECK(strcmp(err, "invalid port: '0'") == 0);
	CHECK_INT(ptcp_resolve_split("h:70000", host, sizeof(host), &port, err, sizeof(err)), -EINVAL);
	CHECK_INT(ptcp_resolve_split(":80", host, sizeof(host), &port, err, sizeof(err)), -EINVAL);
	CHECK(strcmp(err, "invalid rendezvous address: ':80'") == 0);
	CHECK_INT(ptcp_resolve_split("[x", host, sizeof(host), &port, err, sizeof(err)), -EINVAL);
}

static void test_exit_codes(void)
{
	CHECK_INT(ptcp_cli_exit_code(0), 0);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_REFUSED), 3);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_TIMEOUT), 4);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_PUNCH_TIMEOUT), 4);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_KEEPALIVE), 4);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_RESET), 5);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_UNKNOWN_PEER), 6);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_BUSY), 6);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_RDV_KEY), 6);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_SYMMETRIC_NAT), 7);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_CH_WRONG_PEER), 8);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_HANDSHAKE_TIMEOUT), 8);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_ISN_MISMATCH), 1);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_IDENTITY), 1);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_PERM), 77);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_FIREWALL), 69);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_SYSTEM), 71);
	CHECK_INT(ptcp_cli_exit_code(PTCP_ERR_ADDRINUSE), 71);
}

int main(void)
{
	char d[128];

	snprintf(cfgdir, sizeof(cfgdir), "/tmp/ptcp-cli-%d", (int)getpid());
	snprintf(d, sizeof(d), "%s/p2ptcp", cfgdir);
	mkdir(cfgdir, 0700);
	mkdir(d, 0700);
	setenv("XDG_CONFIG_HOME", cfgdir, 1);
	unsetenv(PTCP_CLI_RDV_ENV);
	RUN(test_port);
	RUN(test_addr_and_endpoint);
	RUN(test_u32);
	RUN(test_duration);
	RUN(test_direct_connect);
	RUN(test_direct_errors);
	RUN(test_mode);
	RUN(test_rdv_options);
	RUN(test_pin);
	RUN(test_known);
	RUN(test_allow_file);
	RUN(test_help);
	RUN(test_split);
	RUN(test_exit_codes);
	config(NULL);
	rmdir(d);
	rmdir(cfgdir);
	return check_summary();
}
