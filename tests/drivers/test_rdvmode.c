/* Tests of rendezvous mode's command line (cli/rdvmode.c: which mode a
 * command line means, the options, the config file, the pinned server
 * key from --rendezvous-key, <id>@host or the config). The CLI's sources
 * are compiled in directly. The c-ares resolver (core/rdv/resolve.c) is
 * tested by tests/netns/test_resolve.sh, in a namespace of its own: its
 * look-ups send DNS queries, which must not leave from here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#include "../../cli/options.c"
#include "../../cli/rdvmode.c"
#include "../../cli/status.c"

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))
#define WANTED(listen, ...) ptcp_rdv_mode_wanted(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (listen))
#define PARSE(o, listen, ...) parse_opts((o), (listen), ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), \
					 err, sizeof(err))

static char err[512];
static char cfgdir[64];
#define ID "vqapwwc4lbpdwfv5arkeganbfr6e4ftoy43azbczong4lrpg45gtxzi"
#define SRV_ID "a3fl4qg7sudmyaeloyxroytx4nbrgc3ogkzx5vwwhlkbqboed34stca"

/* A fresh XDG_CONFIG_HOME with p2ptcp/config holding text (NULL: none). */
static void config(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/p2ptcp/config", cfgdir);
	unlink(path);
	if (!text)
		return;
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_mode(void)
{
	unsetenv("P2PTCP_RENDEZVOUS");
	config(NULL);
	CHECK(WANTED(false, "connect", "laptop-abc"));
	CHECK(!WANTED(false, "connect", "--peer", "10.0.0.1:4000", "--local-port", "1"));
	CHECK(!WANTED(false, "connect", "--local-port", "4000", "--peer=10.0.0.1:4000"));
	/* values of options are not peer ids */
	CHECK(!WANTED(false, "connect", "--local-port", "4000", "--pcap", "x"));
	CHECK(WANTED(true, "listen", "--rendezvous", "203.0.113.10"));
	CHECK(WANTED(true, "listen", "--allow", ID));
	CHECK(!WANTED(true, "listen", "--local-port", "4000"));
	CHECK(!WANTED(true, "listen"));
	setenv("P2PTCP_RENDEZVOUS", "203.0.113.10", 1);
	CHECK(WANTED(true, "listen"));
	CHECK(!WANTED(false, "connect", "--peer", "10.0.0.1:4000"));
	unsetenv("P2PTCP_RENDEZVOUS");
	config("# comment\nrendezvous = 198.51.100.7:7000  # S\n");
	CHECK(WANTED(true, "listen"));
	CHECK(!WANTED(true, "listen", "--local-port", "4000"));
	config(NULL);
}

static void test_options(void)
{
	struct rdv_opts o;

	unsetenv("P2PTCP_RENDEZVOUS");
	config(NULL);
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "203.0.113.10:7000"), 0);
	CHECK(strcmp(o.peer_text, ID) == 0);
	CHECK(strcmp(o.server_text, "203.0.113.10:7000") == 0);
	CHECK(o.punch_interval == 200 * PTCP_NS_PER_MS && o.first_syn_ttl == 2);
	CHECK_INT(PARSE(&o, false, "connect", "--rendezvous=x", "--first-syn-ttl", "0",
			"--punch-interval", "100", "--wait", "5", "-vv", ID), 0);
	CHECK(o.first_syn_ttl == 0 && o.punch_interval == 100 * PTCP_NS_PER_MS &&
	      o.wait == 5 * PTCP_NS_PER_S && o.verbose == 2);
	/* a typo in the id is quoted */
	CHECK_INT(PARSE(&o, false, "connect", "vqapwwc4lbpdwfv5arkegan0fr6e4ftoy43azbczong4lrpg45gtxzi",
			"--rendezvous", "x"), -1);
	CHECK(strstr(err, "invalid peer id 'vqapwwc4lbpdwfv5arkegan0") != NULL);
	CHECK_INT(PARSE(&o, false, "connect", "--rendezvous", "x"), -1);
	CHECK(strstr(err, "missing <peer-id>") != NULL);
	CHECK_INT(PARSE(&o, false, "connect", ID), -1);
	CHECK(strstr(err, "no rendezvous server") != NULL);
	CHECK_INT(PARSE(&o, false, "connect", ID, "--isn", "5", "--rendezvous", "x"), -1);
	CHECK(strcmp(err, "option '--isn' is not used with a rendezvous server") == 0);
	CHECK_INT(PARSE(&o, false, "connect", ID, "--bogus"), -1);
	CHECK(strcmp(err, "unknown option: '--bogus'") == 0);
	CHECK_INT(PARSE(&o, true, "listen", ID), -1);
	CHECK(strstr(err, "unexpected argument") != NULL);
	CHECK_INT(PARSE(&o, true, "listen", "--allow", ID, "--allow", ID, "--rendezvous", "x"), 0);
	CHECK_INT(o.n_allow, 2);
	/* environment, then the config file */
	setenv("P2PTCP_RENDEZVOUS", "203.0.113.9", 1);
	config("rendezvous = 198.51.100.7:7000\n");
	CHECK_INT(PARSE(&o, false, "connect", ID), 0);
	CHECK(strcmp(o.server_text, "203.0.113.9") == 0);
	unsetenv("P2PTCP_RENDEZVOUS");
	CHECK_INT(PARSE(&o, false, "connect", ID), 0);
	CHECK(strcmp(o.server_text, "198.51.100.7:7000") == 0);
	config(NULL);
}

/* The key of a peer id, for comparisons. */
static void key_of(const char *id, uint8_t key[32])
{
	CHECK_INT(ptcp_peerid_decode(key, id, strlen(id), NULL), 0);
}

static struct ptcp_endpoint v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	return (struct ptcp_endpoint){ .family = PTCP_AF_INET, .addr = { a, b, c, d }, .port = port };
}

/* A peer's self-declared private endpoint is used only behind our own
 * NAT (equal public addresses) and only in a private or link-local range. */
static void test_choose_remote(void)
{
	struct ptcp_rdv_match m;
	const char *why;

	memset(&m, 0, sizeof(m));
	m.self_public = v4(203, 0, 113, 1, 40000);
	m.peer_public = v4(203, 0, 113, 1, 40001);
	m.peer_private = v4(10, 3, 0, 2, 40001);
	CHECK(choose_remote(&m, &why) == &m.peer_private && why == NULL);
	m.peer_private = v4(169, 254, 7, 7, 40001);
	CHECK(choose_remote(&m, &why) == &m.peer_private && why == NULL);
	/* outside the ranges: loopback, public, carrier-grade NAT space */
	m.peer_private = v4(127, 0, 0, 1, 22);
	CHECK(choose_remote(&m, &why) == &m.peer_public);
	CHECK(why && strcmp(why, "it is not a private or link-local address") == 0);
	m.peer_private = v4(203, 0, 113, 77, 9);
	CHECK(choose_remote(&m, &why) == &m.peer_public && why != NULL);
	m.peer_private = v4(100, 64, 0, 9, 40001);
	CHECK(choose_remote(&m, &why) == &m.peer_public && why != NULL);
	m.peer_private = v4(10, 3, 0, 2, 0);
	CHECK(choose_remote(&m, &why) == &m.peer_public && why != NULL);
	/* in range, but the peer is behind another NAT */
	m.peer_private = v4(10, 1, 0, 99, 22);
	m.peer_public = v4(203, 0, 113, 2, 40001);
	CHECK(choose_remote(&m, &why) == &m.peer_public);
	CHECK(why && strcmp(why, "we do not share a public address") == 0);
	/* none declared */
	m.peer_private.family = PTCP_AF_NONE;
	CHECK(choose_remote(&m, &why) == &m.peer_public && why == NULL);
}

/* One "rendezvous server X" per line, whoever wrote the line. */
static void test_about_server(void)
{
	struct rdv_opts o;
	struct rdv r;
	char buf[256];

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	o.server_text = "rdv.example";
	r.o = &o;
	r.n_servers = 1;
	r.servers[0] = v4(203, 0, 113, 10, 7450);
	CHECK(strcmp(about_server(&r, "rendezvous server 203.0.113.10:7450 sent a bad message: x",
				  buf, sizeof(buf)),
		     "rendezvous server 203.0.113.10:7450 sent a bad message: x") == 0);
	CHECK(strcmp(about_server(&r, "cannot connect to rendezvous server 203.0.113.10:7450: y",
				  buf, sizeof(buf)),
		     "cannot connect to rendezvous server 203.0.113.10:7450: y") == 0);
	CHECK(strcmp(about_server(&r, "out of memory", buf, sizeof(buf)),
		     "rendezvous server 203.0.113.10:7450: out of memory") == 0);
	r.n_servers = 0;
	CHECK(strcmp(about_server(&r, "unknown peer", buf, sizeof(buf)),
		     "rendezvous server rdv.example: unknown peer") == 0);
}

static void test_pin(void)
{
	struct rdv_opts o;
	uint8_t k[32], k2[32];

	unsetenv("P2PTCP_RENDEZVOUS");
	config(NULL);
	key_of(SRV_ID, k);
	key_of(ID, k2);
	CHECK(WANTED(true, "listen", "--rendezvous-key", SRV_ID));
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "203.0.113.10"), 0);
	CHECK(!o.has_server_key);
	CHECK_INT(PARSE(&o, false, "connect", ID, "--rendezvous", "203.0.113.10", "--rendezvous-key",
			SRV_ID), 0);
	CHECK(o.has_server_key && memcmp(o.server_key, k, 32) == 0);
	CHECK(strcmp(o.server_text, "203.0.113.10") == 0);
	/* <id>@host: the id pins, the host is the server */
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous", SRV_ID "@203.0.113.10:7000"), 0);
	CHECK(o.has_server_key && memcmp(o.server_key, k, 32) == 0);
	CHECK(strcmp(o.server_text, "203.0.113.10:7000") == 0);
	CHECK_INT(PARSE(&o, true, "listen", "--rendezvous=rdv-" SRV_ID "@rdv.example.org"), 0);
	CHECK(o.has_server_key && strcmp(o.server_text, "rdv.example.org") == 0);
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
	setenv("P2PTCP_RENDEZVOUS", SRV_ID "@198.51.100.7", 1);
	CHECK_INT(PARSE(&o, false, "connect", ID), 0);
	CHECK(o.has_server_key && memcmp(o.server_key, k, 32) == 0);
	CHECK(strcmp(o.server_text, "198.51.100.7") == 0);
	unsetenv("P2PTCP_RENDEZVOUS");
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
}

int main(void)
{
	char d[128];

	snprintf(cfgdir, sizeof(cfgdir), "/tmp/ptcp-rdvmode-%d", (int)getpid());
	snprintf(d, sizeof(d), "%s/p2ptcp", cfgdir);
	mkdir(cfgdir, 0700);
	mkdir(d, 0700);
	setenv("XDG_CONFIG_HOME", cfgdir, 1);
	RUN(test_mode);
	RUN(test_options);
	RUN(test_pin);
	RUN(test_choose_remote);
	RUN(test_about_server);
	config(NULL);
	rmdir(d);
	rmdir(cfgdir);
	return check_summary();
}
