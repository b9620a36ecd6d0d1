/* p2ptcp listen: one peer on standard input and output (direct mode, or
 * through the rendezvous server like nc -l), or, with --exec or
 * --forward, the service of serve.c. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "app.h"
#include "cmds.h"
#include "log.h"
#include "pump.h"
#include "serve.h"
#include "status.h"

struct listen {
	struct ptcp_cli_opts o;
	struct ptcp_app app;
	ptcp_node *node;
	ptcp_peer *peer;              /* the one we serve */
	struct ptcp_pump *pump;
	struct event *ev_timeout;     /* --timeout: no peer came */
	int err;
	int signo;
	bool hung_up;
	bool finishing;
	bool timed_out;
};

static void finish(struct listen *l)
{
	if (l->finishing)
		return;
	l->finishing = true;
	if (ptcp_node_close(l->node, 3 * PTCP_NS_PER_S) != 0)
		event_base_loopbreak(l->app.base);
}

static void on_pump_error(void *user, struct ptcp_pump *pump, int sys_errno, const char *what)
{
	struct listen *l = user;

	(void)pump;
	if (sys_errno && sys_errno != EPIPE) {
		ptcp_error("cannot %s standard %s: %s", what, strcmp(what, "read") ? "output" : "input",
			   strerror(sys_errno));
		l->err = PTCP_ERR_SYSTEM;
	}
	l->hung_up = sys_errno != 0;
	finish(l);
}

/* The first peer is ours; any other that comes meanwhile is refused. */
static void on_new(ptcp_peer *p, void *user)
{
	struct listen *l = user;

	if (l->peer || l->finishing) {
		ptcp_peer_close(p);
		return;
	}
	l->peer = p;
	ptcp_peer_set_user(p, l);
	if (l->ev_timeout)
		evtimer_del(l->ev_timeout);
}

static void on_open(ptcp_peer *p, void *user)
{
	struct listen *l = user;

	if (p != l->peer)
		return;
	if (ptcp_pump_new(&l->pump, l->app.base, p, STDIN_FILENO, STDOUT_FILENO,
			  PTCP_PUMP_OUT_DEVNULL, on_pump_error, l) != 0) {
		ptcp_error("out of memory");
		ptcp_peer_close(p);
		l->peer = NULL;
		l->err = PTCP_ERR_NOMEM;
		finish(l);
		return;
	}
	ptcp_pump_kick(l->pump);
}

static void on_ready(ptcp_peer *p, void *user)
{
	struct listen *l = user;

	if (p == l->peer && l->pump)
		ptcp_pump_kick(l->pump);
}

static void on_closed(ptcp_peer *p, void *user, int err, const ptcp_peer_info *info)
{
	struct listen *l = user;
	char msg[512];

	if (p != l->peer)
		return;
	l->peer = NULL;
	if (err && !l->err) {
		l->err = err;
		if (!l->signo && !(l->hung_up && err == PTCP_ERR_ABORTED)) {
			ptcp_app_explain(&l->o, err, info, NULL, msg, sizeof(msg));
			ptcp_error("%s", msg);
		}
	}
	if (l->pump && err == 0) {
		ptcp_pump_detach(l->pump);
		return;
	}
	finish(l);
}

static void on_node(ptcp_node *n, void *user, enum ptcp_node_event ev, int err, uint64_t retry_in,
		    const char *detail)
{
	struct listen *l = user;
	char msg[512];

	if (ev == PTCP_NODE_REGISTERED) {
		ptcp_app_registered(&l->app, n);
	} else if (ev == PTCP_NODE_RDV_LOST && retry_in > 0) {
		ptcp_app_rdv_lost(&l->app, err);
	} else if (ev == PTCP_NODE_CLOSED) {
		event_base_loopbreak(l->app.base);
	} else if (ev == PTCP_NODE_RDV_LOST && retry_in == 0 && !l->peer) {
		ptcp_app_explain(&l->o, err, NULL, detail, msg, sizeof(msg));
		ptcp_error("%s", msg);
		l->err = err;
		finish(l);
	}
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct listen *l = arg;

	(void)fd;
	(void)what;
	ptcp_error("no peer %s within %.0f s", l->o.direct ? "connected" : "asked for us",
		   (double)l->o.timeout / PTCP_NS_PER_S);
	l->timed_out = true;
	finish(l);
}

static void on_signal(struct ptcp_app *app, int signo)
{
	struct listen *l = app->user;

	if (signo == SIGHUP && l->peer) {
		l->hung_up = true;
		if (l->pump)
			ptcp_pump_end_input(l->pump);
		finish(l);
		return;
	}
	l->signo = signo;
	if (l->peer) {
		ptcp_peer_close(l->peer);
		l->peer = NULL;
	}
	ptcp_pump_free(l->pump);
	l->pump = NULL;
	event_base_loopbreak(app->base);
}

static int start(struct listen *l)
{
	static const ptcp_callbacks cb = {
		.log = ptcp_app_log,
		.node_event = on_node,
		.peer_new = on_new,
		.peer_open = on_open,
		.peer_readable = on_ready,
		.peer_writable = on_ready,
		.peer_closed = on_closed,
	};
	ptcp_settings s;
	int rv;

	ptcp_app_settings(&l->o, &s);
	s.max_peers = 1;
	rv = ptcp_node_new(&l->node, l->app.base, &s, &cb, l);
	if (rv != 0)
		return rv;
	if (l->o.timeout) {
		struct timeval tv = { (time_t)(l->o.timeout / PTCP_NS_PER_S),
				      (suseconds_t)(l->o.timeout % PTCP_NS_PER_S / 1000) };

		l->ev_timeout = evtimer_new(l->app.base, on_timeout, l);
		if (!l->ev_timeout)
			return PTCP_ERR_NOMEM;
		evtimer_add(l->ev_timeout, &tv);
	}
	if (l->o.direct)
		return ptcp_node_listen_direct(l->node, 1);
	return ptcp_node_listen(l->node, (const uint8_t(*)[PTCP_ID_LEN])l->o.allow, l->o.n_allow);
}

int ptcp_cmd_listen(int argc, char *argv[])
{
	struct listen l;
	char err[512];
	int rv;

	memset(&l, 0, sizeof(l));
	if (ptcp_cli_parse(&l.o, true, argc, argv, err, sizeof(err)) != 0) {
		ptcp_error("%s", err);
		fprintf(stderr, "See 'p2ptcp listen --help'.\n");
		ptcp_cli_opts_free(&l.o);
		return PTCP_EXIT_USAGE;
	}
	if (l.o.help) {
		fputs(ptcp_cli_usage(true, l.o.direct), stdout);
		ptcp_cli_opts_free(&l.o);
		return PTCP_EXIT_OK;
	}
	if (l.o.exec_cmd || l.o.forward) {
		rv = ptcp_serve(&l.o);
		ptcp_cli_opts_free(&l.o);
		return rv;
	}
	if (ptcp_app_init(&l.app, &l.o, PTCP_LOG_WARN, on_signal, &l) != 0) {
		ptcp_app_fini(&l.app);
		return PTCP_EXIT_SYSTEM;
	}
	rv = start(&l);
	if (rv != 0)
		l.err = rv;
	else
		event_base_dispatch(l.app.base);
	ptcp_pump_free(l.pump);
	ptcp_node_free(l.node);
	if (l.ev_timeout)
		event_free(l.ev_timeout);
	ptcp_app_fini(&l.app);
	ptcp_cli_opts_free(&l.o);
	if (l.signo)
		return PTCP_EXIT_SIGNAL + l.signo;
	if (l.timed_out)
		return PTCP_EXIT_TIMEOUT;
	if (l.hung_up && (l.err == 0 || l.err == PTCP_ERR_ABORTED))
		return PTCP_EXIT_OK;
	return ptcp_cli_exit_code(l.err);
}
