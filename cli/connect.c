/* p2ptcp connect: one peer, by peer id through the rendezvous server or
 * direct to an endpoint, on standard input and output. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "app.h"
#include "cmds.h"
#include "log.h"
#include "pump.h"
#include "status.h"

struct connect {
	struct ptcp_cli_opts o;
	struct ptcp_app app;
	ptcp_node *node;
	ptcp_peer *peer;
	struct ptcp_pump *pump;
	int err;                /* why the peer ended */
	bool ended;             /* peer_closed came */
	int signo;              /* SIGINT/SIGTERM: reset, exit 128+signo */
	bool hung_up;           /* SIGHUP, or our reader went away: close cleanly */
	bool finishing;         /* ptcp_node_close() was called */
};

/* Closes gracefully: our direction ends (the end record, our FIN), the
 * node keeps TIME-WAIT a moment, then the loop ends. */
static void finish(struct connect *c)
{
	if (c->finishing)
		return;
	c->finishing = true;
	if (ptcp_node_close(c->node, 3 * PTCP_NS_PER_S) != 0)
		event_base_loopbreak(c->app.base);
}

static void on_pump_error(void *user, struct ptcp_pump *pump, int sys_errno, const char *what)
{
	struct connect *c = user;

	(void)pump;
	if (sys_errno == 0) {
		/* Detached after the peer's clean end: the last bytes are out. */
		finish(c);
		return;
	}
	if (sys_errno == EPIPE) {
		/* Our reader is gone (ssh exited): nothing more can be
		 * delivered, so end as on SIGHUP. */
		ptcp_info("standard output closed by its reader: closing");
	} else {
		ptcp_error("cannot %s standard %s: %s", what, strcmp(what, "read") ? "output" : "input",
			   strerror(sys_errno));
		c->err = PTCP_ERR_SYSTEM;
	}
	c->hung_up = true;
	finish(c);
}

static void on_open(ptcp_peer *p, void *user)
{
	struct connect *c = user;

	(void)p;
	if (ptcp_pump_new(&c->pump, c->app.base, c->peer, STDIN_FILENO, STDOUT_FILENO,
			  PTCP_PUMP_OUT_DEVNULL, on_pump_error, c) != 0) {
		ptcp_error("out of memory");
		ptcp_peer_close(c->peer);
		c->peer = NULL;
		c->err = PTCP_ERR_NOMEM;
		event_base_loopbreak(c->app.base);
		return;
	}
	ptcp_pump_kick(c->pump);
}

static void on_ready(ptcp_peer *p, void *user)
{
	struct connect *c = user;

	(void)p;
	if (c->pump)
		ptcp_pump_kick(c->pump);
}

static void on_closed(ptcp_peer *p, void *user, int err, const ptcp_peer_info *info)
{
	struct connect *c = user;
	char msg[512];

	(void)p;
	c->ended = true;
	c->peer = NULL;
	if (err && !c->err) {
		c->err = err;
		if (!c->signo && !(c->hung_up && err == PTCP_ERR_ABORTED)) {
			ptcp_app_explain(&c->o, err, info, NULL, msg, sizeof(msg));
			ptcp_error("%s", msg);
		}
	}
	if (c->pump && err == 0) {
		/* Standard output may still owe the peer's last bytes. */
		ptcp_pump_detach(c->pump);
		return;
	}
	finish(c);
}

static void on_node(ptcp_node *n, void *user, enum ptcp_node_event ev, int err, uint64_t retry_in,
		    const char *detail)
{
	struct connect *c = user;

	(void)err;
	(void)retry_in;
	(void)detail;
	if (ev == PTCP_NODE_REGISTERED)
		ptcp_app_registered(&c->app, n);
	else if (ev == PTCP_NODE_CLOSED)
		event_base_loopbreak(c->app.base);
}

static void on_signal(struct ptcp_app *app, int signo)
{
	struct connect *c = app->user;

	if (signo == SIGHUP) {
		/* ssh's way of saying it is done with us: end cleanly, so the
		 * far side's child sees end of file rather than a hang. */
		ptcp_info("SIGHUP: closing the connection");
		c->hung_up = true;
		if (c->pump)
			ptcp_pump_end_input(c->pump);
		else if (c->peer)
			(void)ptcp_peer_shutdown(c->peer);
		finish(c);
		return;
	}
	ptcp_info("%s: resetting the connection", signo == SIGINT ? "SIGINT" : "SIGTERM");
	c->signo = signo;
	if (c->peer) {
		ptcp_peer_close(c->peer);
		c->peer = NULL;
	}
	ptcp_pump_free(c->pump);
	c->pump = NULL;
	event_base_loopbreak(app->base);
}

static int start(struct connect *c)
{
	static const ptcp_callbacks cb = {
		.log = ptcp_app_log,
		.node_event = on_node,
		.peer_open = on_open,
		.peer_readable = on_ready,
		.peer_writable = on_ready,
		.peer_closed = on_closed,
	};
	union {
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} sa;
	ptcp_settings s;
	ptcp_direct d;
	int rv;

	ptcp_app_settings(&c->o, &s);
	rv = ptcp_node_new(&c->node, c->app.base, &s, &cb, c);
	if (rv != 0)
		return rv;
	if (!c->o.direct)
		return ptcp_node_connect(c->node, c->o.peer_id, c, &c->peer);
	memset(&sa, 0, sizeof(sa));
	memset(&d, 0, sizeof(d));
	if (c->o.peer.family == PTCP_AF_INET6) {
		sa.in6.sin6_family = AF_INET6;
		memcpy(&sa.in6.sin6_addr, c->o.peer.addr, 16);
		sa.in6.sin6_port = htons(c->o.peer.port);
		d.remote_len = sizeof(sa.in6);
	} else {
		sa.in.sin_family = AF_INET;
		memcpy(&sa.in.sin_addr, c->o.peer.addr, 4);
		sa.in.sin_port = htons(c->o.peer.port);
		d.remote_len = sizeof(sa.in);
	}
	d.remote = (const struct sockaddr *)&sa;
	d.active = c->o.active;
	d.has_isn = c->o.has_isn;
	d.isn = c->o.isn;
	d.has_peer_isn = c->o.has_peer_isn;
	d.peer_isn = c->o.peer_isn;
	d.open_timeout = c->o.has_timeout ? c->o.timeout : 30 * PTCP_NS_PER_S;
	return ptcp_node_connect_direct(c->node, &d, c, &c->peer);
}

int ptcp_cmd_connect(int argc, char *argv[])
{
	struct connect c;
	char err[512];
	int rv;

	memset(&c, 0, sizeof(c));
	if (ptcp_cli_parse(&c.o, false, argc, argv, err, sizeof(err)) != 0) {
		ptcp_error("%s", err);
		fprintf(stderr, "See 'p2ptcp connect --help'.\n");
		ptcp_cli_opts_free(&c.o);
		return PTCP_EXIT_USAGE;
	}
	if (c.o.help) {
		fputs(ptcp_cli_usage(false, c.o.direct), stdout);
		ptcp_cli_opts_free(&c.o);
		return PTCP_EXIT_OK;
	}
	if (ptcp_app_init(&c.app, &c.o, PTCP_LOG_WARN, on_signal, &c) != 0) {
		ptcp_app_fini(&c.app);
		return PTCP_EXIT_SYSTEM;
	}
	rv = start(&c);
	if (rv != 0) {
		/* The library logged the detail at error level already for
		 * setup failures; a refused request gets its own sentence. */
		if (rv == PTCP_ERR_SELF) {
			snprintf(err, sizeof(err), "'%s' is our own peer id", c.o.peer_text);
			ptcp_error("%s", err);
		}
		c.err = rv;
	} else {
		event_base_dispatch(c.app.base);
	}
	ptcp_pump_free(c.pump);
	ptcp_node_free(c.node);
	ptcp_app_fini(&c.app);
	ptcp_cli_opts_free(&c.o);
	if (c.signo)
		return PTCP_EXIT_SIGNAL + c.signo;
	if (c.hung_up && (c.err == 0 || c.err == PTCP_ERR_ABORTED))
		return PTCP_EXIT_OK;
	return ptcp_cli_exit_code(c.err);
}
