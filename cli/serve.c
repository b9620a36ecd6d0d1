/* listen --exec / --forward: see serve.h. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "app.h"
#include "log.h"
#include "pump.h"
#include "serve.h"
#include "status.h"

/* How long a child may take to exit after its peer ended, before SIGTERM
 * and then SIGKILL go to its process group. */
#define CHILD_GRACE_MS 2000
#define CHILD_KILL_MS 1000

struct svc;

struct sess {
	struct svc *svc;
	struct sess *prev, *next;
	ptcp_peer *peer;              /* NULL once it ended */
	char id[PTCP_ID_TEXT_MAX];    /* the proven peer id */
	char addr[64];
	bool relayed;                 /* through the relay: addr is the relay's */
	pid_t pid;                    /* --exec: the child, 0 when reaped */
	int status;                   /* ... its wait status */
	int in_fd, out_fd;            /* the child's stdout and stdin, or the socket */
	struct event *ev_connect;     /* --forward: the connection under way */
	struct event *ev_kill;        /* the child's grace period */
	int kill_stage;               /* 0: none yet, 1: SIGTERM sent, 2: SIGKILL */
	struct ptcp_pump *pump;
	bool drained;                 /* the pump has nothing left for the child */
	bool detaching;               /* inside ptcp_pump_detach(): not to be freed */
};

struct svc {
	const struct ptcp_cli_opts *o;
	struct ptcp_app app;
	ptcp_node *node;
	struct event *ev_chld;
	struct sess *sessions;
	unsigned served, failed;
	int signo;                    /* the stop signal */
	bool busy_at_stop;            /* a session was in progress then */
	int fatal;                    /* an error that ends the service */
};

/* --- sessions -------------------------------------------------------------------- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void sess_free(struct sess *s)
{
	struct svc *v = s->svc;

	if (s->prev)
		s->prev->next = s->next;
	else
		v->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	ptcp_pump_free(s->pump);
	if (s->ev_connect)
		event_free(s->ev_connect);
	if (s->ev_kill)
		event_free(s->ev_kill);
	if (s->in_fd == s->out_fd)
		s->out_fd = -1;
	close_fd(&s->in_fd);
	close_fd(&s->out_fd);
	free(s);
}

/* A session is over when its peer ended and its child (if any) is reaped. */
static void sess_maybe_done(struct sess *s)
{
	if (!s->peer && s->pid == 0 && (!s->pump || s->drained))
		sess_free(s);
}

static void on_kill(evutil_socket_t fd, short what, void *arg)
{
	struct sess *s = arg;
	struct timeval tv = { 0, CHILD_KILL_MS * 1000 };

	(void)fd;
	(void)what;
	if (s->pid == 0)
		return;
	if (s->kill_stage == 0) {
		ptcp_info("child %d still running after its peer ended: SIGTERM", (int)s->pid);
		(void)kill(-s->pid, SIGTERM);
		s->kill_stage = 1;
		evtimer_add(s->ev_kill, &tv);
	} else if (s->kill_stage == 1) {
		ptcp_info("child %d ignores SIGTERM: SIGKILL", (int)s->pid);
		(void)kill(-s->pid, SIGKILL);
		s->kill_stage = 2;
	}
}

/* The peer ended: the child's stdin sees end of file (after what the
 * pump still holds for it), and it gets a grace period. */
static void sess_end_child(struct sess *s)
{
	struct timeval tv = { CHILD_GRACE_MS / 1000, CHILD_GRACE_MS % 1000 * 1000 };

	if (s->pid == 0)
		return;
	if (!s->ev_kill)
		s->ev_kill = evtimer_new(s->svc->app.base, on_kill, s);
	if (s->ev_kill)
		evtimer_add(s->ev_kill, &tv);
}

static void on_pump(void *user, struct ptcp_pump *pump, int sys_errno, const char *what)
{
	struct sess *s = user;

	(void)pump;
	if (sys_errno == 0) {
		s->drained = true;
		if (s->in_fd != s->out_fd)
			close_fd(&s->out_fd);
		if (!s->detaching)
			sess_maybe_done(s);
		return;
	}
	/* The child closed its input (or never read it): what the peer still
	 * sends is dropped, and its output goes on to the peer. */
	if (sys_errno == EPIPE)
		return;
	ptcp_info("peer %.12s: cannot %s %s: %s", s->id, what,
		  s->svc->o->exec_cmd ? "the child's pipe" : "the forwarded connection",
		  strerror(sys_errno));
	/* The child or the target failed: the peer's session ends with our
	 * FIN. */
	if (s->peer)
		(void)ptcp_peer_shutdown(s->peer);
}

static int start_pump(struct sess *s, int in_fd, int out_fd, enum ptcp_pump_out_end end)
{
	if (ptcp_pump_new(&s->pump, s->svc->app.base, s->peer, in_fd, out_fd, end, on_pump, s) != 0) {
		ptcp_error("out of memory");
		return -1;
	}
	ptcp_pump_kick(s->pump);
	return 0;
}

/* Serves an empty connection rather than none: the peer sees a clean
 * end at once, not a hang. */
static void serve_empty(struct sess *s)
{
	s->in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	s->out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (s->in_fd < 0 || s->out_fd < 0 ||
	    start_pump(s, s->in_fd, s->out_fd, PTCP_PUMP_OUT_CLOSE) != 0)
		ptcp_peer_close(s->peer);
}

/* --exec: /bin/sh -c CMD with pipes for its stdin and stdout, in a process
 * group of its own (a terminal's ^C reaches the server, which then ends
 * the children, and not a half-served command). */
static void start_child(struct sess *s)
{
	const struct ptcp_cli_opts *o = s->svc->o;
	int to_child[2] = { -1, -1 }, from_child[2] = { -1, -1 };
	pid_t pid;

	if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0)
		goto fail;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		(void)setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (dup2(to_child[0], STDIN_FILENO) < 0 || dup2(from_child[1], STDOUT_FILENO) < 0)
			_exit(127);
		if (s->id[0])
			setenv("P2PTCP_PEER_ID", s->id, 1);
		else
			unsetenv("P2PTCP_PEER_ID");
		setenv("P2PTCP_PEER_ADDR", s->addr, 1);
		if (s->relayed)
			setenv("P2PTCP_RELAYED", "1", 1);
		else
			unsetenv("P2PTCP_RELAYED");
		execl("/bin/sh", "sh", "-c", o->exec_cmd, (char *)NULL);
		ptcp_error("cannot run /bin/sh: %s", strerror(errno));
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	s->pid = pid;
	s->out_fd = to_child[1];
	s->in_fd = from_child[0];
	ptcp_info("peer %.12s: child %d runs '%s'", s->id, (int)pid, o->exec_cmd);
	if (start_pump(s, s->in_fd, s->out_fd, PTCP_PUMP_OUT_CLOSE) != 0)
		ptcp_peer_close(s->peer);
	return;
fail:
	ptcp_error("cannot start the child for peer %s: %s", s->id, strerror(errno));
	close_fd(&to_child[0]);
	close_fd(&to_child[1]);
	close_fd(&from_child[0]);
	close_fd(&from_child[1]);
	serve_empty(s);
}

static void on_connected(evutil_socket_t fd, short what, void *arg)
{
	struct sess *s = arg;
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	(void)what;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
		soerr = errno;
	if (!s->peer)
		return;
	if (soerr != 0) {
		ptcp_error("--forward %s: cannot connect: %s", s->svc->o->forward, strerror(soerr));
		close_fd(&s->in_fd);
		s->out_fd = -1;
		serve_empty(s);
		return;
	}
	ptcp_info("peer %.12s: forwarding to %s", s->id, s->svc->o->forward);
	if (start_pump(s, s->in_fd, s->in_fd, PTCP_PUMP_OUT_SHUTDOWN) != 0)
		ptcp_peer_close(s->peer);
}

/* --forward: a non-blocking connection to HOST:PORT, looked up now. */
static void start_forward(struct sess *s)
{
	const struct ptcp_cli_opts *o = s->svc->o;
	struct addrinfo hints, *ai = NULL;
	int rv, fd;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	rv = getaddrinfo(o->forward_host, o->forward_port, &hints, &ai);
	if (rv != 0) {
		ptcp_error("--forward %s: %s", o->forward, gai_strerror(rv));
		serve_empty(s);
		return;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)) {
		ptcp_error("--forward %s: cannot connect: %s", o->forward, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		serve_empty(s);
		return;
	}
	freeaddrinfo(ai);
	s->in_fd = s->out_fd = fd;
	s->ev_connect = event_new(s->svc->app.base, fd, EV_WRITE, on_connected, s);
	if (!s->ev_connect || event_add(s->ev_connect, NULL) != 0) {
		ptcp_error("out of memory");
		ptcp_peer_close(s->peer);
	}
}

/* --- the peers' callbacks ---------------------------------------------------------- */

static void on_new(ptcp_peer *p, void *user)
{
	struct svc *v = user;
	struct sess *s = calloc(1, sizeof(*s));

	if (!s) {
		ptcp_peer_close(p);
		return;
	}
	s->svc = v;
	s->peer = p;
	s->in_fd = s->out_fd = -1;
	s->next = v->sessions;
	if (v->sessions)
		v->sessions->prev = s;
	v->sessions = s;
	ptcp_peer_set_user(p, s);
}

static void on_open(ptcp_peer *p, void *user)
{
	struct sess *s = user;
	ptcp_peer_info info;

	ptcp_peer_get_info(p, &info);
	/* The id the secure channel proved, never the server's word: with
	 * --no-encrypt there is none, and the child gets no P2PTCP_PEER_ID. */
	s->id[0] = '\0';
	if (info.id_proven && ptcp_id_format(info.id, s->id, sizeof(s->id)) < 0)
		s->id[0] = '\0';
	snprintf(s->addr, sizeof(s->addr), "%s", info.remote);
	s->relayed = info.relayed;
	if (s->svc->o->exec_cmd)
		start_child(s);
	else
		start_forward(s);
}

static void on_ready(ptcp_peer *p, void *user)
{
	struct sess *s = user;

	(void)p;
	if (s && s->pump)
		ptcp_pump_kick(s->pump);
}

static void on_closed(ptcp_peer *p, void *user, int err, const ptcp_peer_info *info)
{
	struct sess *s = user;
	struct svc *v;

	(void)p;
	(void)info;
	if (!s)
		return;
	v = s->svc;
	s->peer = NULL;
	if (err == 0)
		v->served++;
	else
		v->failed++;
	sess_end_child(s);
	if (s->pump && err == 0) {
		/* The child still gets the last bytes. */
		s->detaching = true;
		ptcp_pump_detach(s->pump);
		s->detaching = false;
	} else {
		ptcp_pump_free(s->pump);
		s->pump = NULL;
		if (s->in_fd == s->out_fd)
			s->out_fd = -1;
		close_fd(&s->in_fd);
		close_fd(&s->out_fd);
	}
	sess_maybe_done(s);
}

static void on_node(ptcp_node *n, void *user, enum ptcp_node_event ev, int err, uint64_t retry_in,
		    const char *detail)
{
	struct svc *v = user;
	char msg[512];

	if (ev == PTCP_NODE_REGISTERED) {
		ptcp_app_registered(&v->app, n);
	} else if (ev == PTCP_NODE_RDV_LOST && retry_in > 0) {
		ptcp_app_rdv_lost(&v->app, err);
	} else if (ev == PTCP_NODE_CLOSED) {
		event_base_loopbreak(v->app.base);
	} else if (ev == PTCP_NODE_RDV_LOST && retry_in == 0) {
		/* Nothing more will be tried: a symmetric NAT, say. */
		ptcp_app_explain(v->o, err, NULL, detail, msg, sizeof(msg));
		ptcp_error("%s", msg);
		v->fatal = err;
		(void)ptcp_node_close(v->node, 3 * PTCP_NS_PER_S);
	}
}

/* --- signals -------------------------------------------------------------------------- */

static void on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct svc *v = arg;
	struct sess *s, *next;
	int status;
	pid_t pid;

	(void)sig;
	(void)what;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (s = v->sessions; s; s = next) {
			next = s->next;
			if (s->pid != pid)
				continue;
			s->pid = 0;
			s->status = status;
			if (WIFEXITED(status))
				ptcp_info("child %d exited with status %d", (int)pid, WEXITSTATUS(status));
			else if (WIFSIGNALED(status))
				ptcp_info("child %d killed by signal %d", (int)pid, WTERMSIG(status));
			if (s->ev_kill)
				evtimer_del(s->ev_kill);
			sess_maybe_done(s);
			break;
		}
	}
}

static void on_signal(struct ptcp_app *app, int signo)
{
	struct svc *v = app->user;

	if (signo == SIGHUP) {
		ptcp_info("SIGHUP: ignored (stop with SIGTERM)");
		return;
	}
	if (v->signo)
		return;
	v->signo = signo;
	v->busy_at_stop = ptcp_node_peer_count(v->node) > 0;
	ptcp_info("stopping on signal %d: %u peers to close", signo, ptcp_node_peer_count(v->node));
	(void)ptcp_node_close(v->node, 3 * PTCP_NS_PER_S);
}

int ptcp_serve(const struct ptcp_cli_opts *o)
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
	struct svc v;
	ptcp_settings s;
	int rv;

	memset(&v, 0, sizeof(v));
	v.o = o;
	if (ptcp_app_init(&v.app, o, PTCP_LOG_NOTICE, on_signal, &v) != 0) {
		ptcp_app_fini(&v.app);
		return PTCP_EXIT_SYSTEM;
	}
	v.ev_chld = evsignal_new(v.app.base, SIGCHLD, on_sigchld, &v);
	if (!v.ev_chld || evsignal_add(v.ev_chld, NULL) != 0) {
		ptcp_error("cannot set up the event loop");
		rv = PTCP_EXIT_SYSTEM;
		goto out;
	}
	ptcp_app_settings(o, &s);
	rv = ptcp_node_new(&v.node, v.app.base, &s, &cb, &v);
	if (rv == 0)
		rv = ptcp_node_listen(v.node, (const uint8_t(*)[PTCP_ID_LEN])o->allow, o->n_allow);
	if (rv != 0) {
		rv = ptcp_cli_exit_code(rv);
		goto out;
	}
	event_base_dispatch(v.app.base);
	if (v.signo)
		ptcp_info("stopped by signal %d after %u peers served, %u failed", v.signo, v.served,
			  v.failed);
	else
		ptcp_info("stopped after %u peers served, %u failed", v.served, v.failed);
	if (v.fatal)
		rv = ptcp_cli_exit_code(v.fatal);
	else
		rv = v.signo && v.busy_at_stop ? PTCP_EXIT_SIGNAL + v.signo : PTCP_EXIT_OK;
out:
	ptcp_node_free(v.node);
	/* Children still running are ended with their sessions. */
	while (v.sessions) {
		struct sess *sx = v.sessions;

		if (sx->pid > 0) {
			struct timespec ts = { 0, 20 * 1000 * 1000 };
			int i;

			(void)kill(-sx->pid, SIGTERM);
			for (i = 0; i < 50 && waitpid(sx->pid, NULL, WNOHANG) == 0; i++)
				nanosleep(&ts, NULL);
			if (i == 50) {
				(void)kill(-sx->pid, SIGKILL);
				(void)waitpid(sx->pid, NULL, 0);
			}
		}
		sx->pid = 0;
		sess_free(sx);
	}
	if (v.ev_chld)
		event_free(v.ev_chld);
	ptcp_app_fini(&v.app);
	return rv;
}
