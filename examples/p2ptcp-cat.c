/* p2ptcp-cat: netcat over libp2ptcp, in one file, as a tour of the API
 * (docs/library.md walks through it).
 *
 *   p2ptcp-cat -r HOST[:PORT] <peer-id>          connect to a peer by its id
 *   p2ptcp-cat -r HOST[:PORT] -l [-a <peer-id>]  wait for one peer to connect
 *
 * Standard input goes to the peer and the peer's bytes to standard output;
 * end of input ends our direction, and the program exits once both
 * directions have ended. -k DIR names the key directory (p2ptcp keygen),
 * -v logs the steps.
 *
 * Build, after `make install`:
 *   cc -o p2ptcp-cat p2ptcp-cat.c $(pkg-config --cflags --libs p2ptcp) */
/* getopt(), fileno() and friends under -std=c11 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <p2ptcp/p2ptcp.h>

struct cat {
	struct event_base *base;
	ptcp_node *node;
	ptcp_peer *peer;          /* the one peer */
	struct event *ev_in, *ev_out, *ev_int;
	char in[16384];           /* read from stdin, not yet taken by the peer */
	size_t in_off, in_len;
	bool in_eof;
	char out[16384];          /* from the peer, not yet written to stdout */
	size_t out_off, out_len;
	bool peer_eof;
	int status;
};

static void on_log(void *user, enum ptcp_log_level level, const char *line)
{
	(void)user;
	fprintf(stderr, "%s%s\n", level <= PTCP_LOG_WARN ? "p2ptcp-cat: " : "  ", line);
}

/* Standard input to the peer, while it takes bytes: a short write means
 * its send buffer is full, and peer_writable will say when to go on. */
static void push(struct cat *c)
{
	ssize_t n;

	while (c->peer) {
		if (c->in_off < c->in_len) {
			n = ptcp_peer_write(c->peer, c->in + c->in_off, c->in_len - c->in_off);
			if (n <= 0)
				return;
			c->in_off += (size_t)n;
			continue;
		}
		if (c->in_eof) {
			(void)ptcp_peer_shutdown(c->peer);
			return;
		}
		event_add(c->ev_in, NULL);   /* wait for more input */
		return;
	}
}

/* The peer's bytes to standard output, only as fast as it takes them:
 * what we do not read stays in the library and closes the peer's window. */
static void pull(struct cat *c)
{
	ssize_t n;

	while (c->peer && !c->peer_eof) {
		if (c->out_off < c->out_len) {
			n = write(STDOUT_FILENO, c->out + c->out_off, c->out_len - c->out_off);
			if (n < 0 && errno == EAGAIN) {
				event_add(c->ev_out, NULL);
				return;
			}
			if (n < 0) {
				ptcp_peer_close(c->peer);    /* nobody reads us: reset */
				c->peer = NULL;
				c->status = 1;
				event_base_loopbreak(c->base);
				return;
			}
			c->out_off += (size_t)n;
			continue;
		}
		c->out_off = c->out_len = 0;
		n = ptcp_peer_read(c->peer, c->out, sizeof(c->out));
		if (n == PTCP_ERR_EOF)
			c->peer_eof = true;      /* peer_closed follows */
		if (n <= 0)
			return;                  /* 0: peer_readable will call again */
		c->out_len = (size_t)n;
	}
}

static void on_stdin(evutil_socket_t fd, short what, void *arg)
{
	struct cat *c = arg;
	ssize_t n;

	(void)what;
	n = read(fd, c->in, sizeof(c->in));
	if (n > 0) {
		c->in_len = (size_t)n;
		c->in_off = 0;
	} else if (n == 0 || errno != EAGAIN) {
		c->in_eof = true;
	}
	push(c);
}

static void on_stdout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pull(arg);
}

/* --- the library's callbacks ---------------------------------------------- */

static void peer_new(ptcp_peer *p, void *user)
{
	struct cat *c = user;

	if (c->peer)
		ptcp_peer_close(p);          /* one peer at a time */
	else
		c->peer = p;
}

static void peer_open(ptcp_peer *p, void *user)
{
	struct cat *c = user;
	ptcp_peer_info info;
	char id[PTCP_ID_TEXT_MAX];

	ptcp_peer_get_info(p, &info);
	if (ptcp_id_format(info.id, id, sizeof(id)) < 0)
		strcpy(id, "?");
	fprintf(stderr, "p2ptcp-cat: connected to %s at %s%s\n", id, info.remote,
		info.id_proven ? " (id proven, encrypted)" : "");
	push(c);
	pull(c);
}

static void peer_readable(ptcp_peer *p, void *user)
{
	(void)p;
	pull(user);
}

static void peer_writable(ptcp_peer *p, void *user)
{
	(void)p;
	push(user);
}

static void peer_closed(ptcp_peer *p, void *user, int err, const ptcp_peer_info *info)
{
	struct cat *c = user;

	(void)p;
	if (err)
		fprintf(stderr, "p2ptcp-cat: %s%s%s\n", ptcp_strerror(err), info->detail[0] ? ": " : "",
			info->detail);
	c->peer = NULL;
	c->status = err ? 1 : 0;
	/* Keep TIME-WAIT a moment, then node_event says PTCP_NODE_CLOSED. */
	(void)ptcp_node_close(c->node, 2000000000ULL);
}

static void node_event(ptcp_node *n, void *user, enum ptcp_node_event ev, int err,
                       uint64_t retry_in, const char *detail)
{
	struct cat *c = user;

	(void)n;
	if (ev == PTCP_NODE_CLOSED)
		event_base_loopbreak(c->base);
	else if (ev == PTCP_NODE_RDV_LOST)
		fprintf(stderr, "p2ptcp-cat: %s (%s)%s\n", detail, ptcp_strerror(err),
			retry_in ? "; trying again" : "");
}

static void on_sigint(evutil_socket_t fd, short what, void *arg)
{
	struct cat *c = arg;

	(void)fd;
	(void)what;
	c->status = 130;
	event_base_loopbreak(c->base);
}

static int usage(void)
{
	fprintf(stderr, "usage: p2ptcp-cat -r HOST[:PORT] [-k DIR] [-v] <peer-id>\n"
			"       p2ptcp-cat -r HOST[:PORT] [-k DIR] [-v] -l [-a <peer-id>]\n");
	return 2;
}

int main(int argc, char *argv[])
{
	static const ptcp_callbacks cb = {
		.log = on_log,
		.node_event = node_event,
		.peer_new = peer_new,
		.peer_open = peer_open,
		.peer_readable = peer_readable,
		.peer_writable = peer_writable,
		.peer_closed = peer_closed,
	};
	struct cat c;
	ptcp_settings s;
	uint8_t id[PTCP_ID_LEN], allow[1][PTCP_ID_LEN];
	bool listen = false, has_allow = false;
	char err[256];
	int opt, rv;

	memset(&c, 0, sizeof(c));
	ptcp_settings_default(&s);
	s.log_level = PTCP_LOG_WARN;
	while ((opt = getopt(argc, argv, "r:k:la:v")) != -1) {
		switch (opt) {
		case 'r':
			s.rendezvous = optarg;
			break;
		case 'k':
			s.key_dir = optarg;
			break;
		case 'l':
			listen = true;
			break;
		case 'a':
			if (ptcp_id_parse(allow[0], optarg, err, sizeof(err)) != 0) {
				fprintf(stderr, "p2ptcp-cat: %s\n", err);
				return 2;
			}
			has_allow = true;
			break;
		case 'v':
			s.log_level = PTCP_LOG_INFO;
			break;
		default:
			return usage();
		}
	}
	if (!s.rendezvous || listen == (optind < argc) || optind + (listen ? 0 : 1) != argc)
		return usage();
	if (!listen && ptcp_id_parse(id, argv[optind], err, sizeof(err)) != 0) {
		fprintf(stderr, "p2ptcp-cat: %s\n", err);
		return 2;
	}
	/* The caller owns the loop, the signals and stdio; the library only
	 * adds its own events to the base. */
	signal(SIGPIPE, SIG_IGN);
	c.base = event_base_new();
	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	c.ev_in = event_new(c.base, STDIN_FILENO, EV_READ, on_stdin, &c);
	c.ev_out = event_new(c.base, STDOUT_FILENO, EV_WRITE, on_stdout, &c);
	c.ev_int = evsignal_new(c.base, SIGINT, on_sigint, &c);
	evsignal_add(c.ev_int, NULL);

	rv = ptcp_node_new(&c.node, c.base, &s, &cb, &c);
	if (rv == 0)
		rv = listen ? ptcp_node_listen(c.node, has_allow ? allow : NULL, has_allow)
			    : ptcp_node_connect(c.node, id, &c, &c.peer);
	if (rv != 0) {
		fprintf(stderr, "p2ptcp-cat: %s\n", ptcp_strerror(rv));
		c.status = 1;
	} else {
		event_base_dispatch(c.base);
	}
	ptcp_node_free(c.node);
	event_free(c.ev_in);
	event_free(c.ev_out);
	event_free(c.ev_int);
	event_base_free(c.base);
	return c.status;
}
