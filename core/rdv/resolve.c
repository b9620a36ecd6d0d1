/* c-ares on libevent: see resolve.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <ares.h>
#include <event2/event.h>

#include "rdvclient.h"
#include "resolve.h"

#define MAX_SOCKS 16

struct watch {
	ares_socket_t fd;       /* ARES_SOCKET_BAD: free slot */
	struct event *ev;
};

struct ptcp_resolve {
	struct event_base *base;
	ares_channel ch;
	bool have_ch;
	struct watch w[MAX_SOCKS];
	struct event *timer;    /* c-ares' own retransmission deadline */
	struct event *limit;    /* the whole look-up */
	struct event *done_ev;  /* reports outside c-ares' call stack */
	ptcp_resolve_cb cb;
	void *user;
	char host[256];
	uint16_t port;          /* the port to report */
	unsigned timeout_ms;
	bool pending_aaaa;      /* a getaddrinfo is outstanding */
	bool reported;          /* the callback ran: never a second time */
	struct ptcp_endpoint eps[PTCP_RESOLVE_MAX];
	unsigned n;
	char msg[320];
};

static void rearm_timer(struct ptcp_resolve *r)
{
	struct timeval tv, *t;

	t = ares_timeout(r->ch, NULL, &tv);
	if (t)
		event_add(r->timer, t);
	else
		event_del(r->timer);
}

static void on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct ptcp_resolve *r = arg;

	ares_process_fd(r->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	rearm_timer(r);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ptcp_resolve *r = arg;

	(void)fd;
	(void)what;
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm_timer(r);
}

/* c-ares opens, closes and changes interest in its sockets here. */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct ptcp_resolve *r = data;
	struct watch *w = NULL, *free_w = NULL;
	short what = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
	int i;

	for (i = 0; i < MAX_SOCKS; i++) {
		if (r->w[i].fd == fd)
			w = &r->w[i];
		else if (r->w[i].fd == ARES_SOCKET_BAD && !free_w)
			free_w = &r->w[i];
	}
	if (w) {
		event_free(w->ev);
		w->ev = NULL;
		w->fd = ARES_SOCKET_BAD;
	}
	if (!what)
		return;
	if (!w)
		w = free_w;
	if (!w)
		return;   /* more sockets than we watch: c-ares times them out */
	w->ev = event_new(r->base, fd, (short)(what | EV_PERSIST), on_sock, r);
	if (!w->ev || event_add(w->ev, NULL) != 0)
		return;
	w->fd = fd;
}

static void finish(struct ptcp_resolve *r)
{
	event_active(r->done_ev, 0, 0);
}

/* The one call of the callback (which may free r). */
static void report(struct ptcp_resolve *r)
{
	if (r->reported)
		return;
	r->reported = true;
	r->cb(r->user, r->eps, r->n, r->n ? "" : r->msg);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct ptcp_resolve *r = arg;

	(void)fd;
	(void)what;
	event_del(r->limit);
	report(r);
}

static void on_limit(evutil_socket_t fd, short what, void *arg)
{
	struct ptcp_resolve *r = arg;

	(void)fd;
	(void)what;
	r->n = 0;
	snprintf(r->msg, sizeof(r->msg), "cannot resolve '%s': no answer within %u ms", r->host,
		 r->timeout_ms);
	/* c-ares still has its queries out, and would report them when its
	 * own tries give up (or an answer comes) later: end them now (their
	 * callbacks see ARES_ECANCELLED and do nothing), and an answer that
	 * finished in this same loop turn is not reported either. */
	if (r->have_ch)
		ares_cancel(r->ch);
	event_del(r->done_ev);
	report(r);
}

/* host as a numeric IPv4 or IPv6 address, into r->eps[0]. c-ares 1.18
 * would first ask DNS for it, as a name (A and AAAA), so the resolver
 * never hands it one: no query leaves for an address known already. */
static bool numeric(struct ptcp_resolve *r)
{
	struct ptcp_endpoint *ep = &r->eps[0];

	memset(ep, 0, sizeof(*ep));
	if (inet_pton(AF_INET, r->host, ep->addr) == 1)
		ep->family = PTCP_AF_INET;
	else if (inet_pton(AF_INET6, r->host, ep->addr) == 1)
		ep->family = PTCP_AF_INET6;
	else
		return false;
	ep->port = r->port;
	r->n = 1;
	return true;
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct ptcp_resolve *r = arg;
	struct ares_addrinfo_node *nd;
	struct ptcp_endpoint ep;

	(void)timeouts;
	r->pending_aaaa = false;
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
		ares_freeaddrinfo(ai);
		return;
	}
	if (status != ARES_SUCCESS || !ai) {
		snprintf(r->msg, sizeof(r->msg), "cannot resolve '%s': %s", r->host,
			 ares_strerror(status));
		ares_freeaddrinfo(ai);
		finish(r);
		return;
	}
	/* IPv4 first: the engine speaks IPv4 only so far. */
	for (int fam = 0; fam < 2; fam++) {
		for (nd = ai->nodes; nd && r->n < PTCP_RESOLVE_MAX; nd = nd->ai_next) {
			if ((fam == 0) != (nd->ai_family == AF_INET))
				continue;
			if (ptcp_rdv_from_sockaddr(&ep, nd->ai_addr, (socklen_t)nd->ai_addrlen) != 0)
				continue;
			ep.port = r->port;
			r->eps[r->n++] = ep;
		}
	}
	if (r->n == 0)
		snprintf(r->msg, sizeof(r->msg), "cannot resolve '%s': no IPv4 or IPv6 address",
			 r->host);
	ares_freeaddrinfo(ai);
	finish(r);
}

static void lookup_addr(struct ptcp_resolve *r, const char *name)
{
	struct ares_addrinfo_hints hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* no sorting: it would open UDP sockets to every address */
	hints.ai_flags = ARES_AI_NOSORT;
	r->pending_aaaa = true;
	ares_getaddrinfo(r->ch, name, NULL, &hints, on_addrinfo, r);
}

static void on_srv(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct ptcp_resolve *r = arg;
	struct ares_srv_reply *srv = NULL, *s, *best = NULL;
	char target[256];

	(void)timeouts;
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED)
		return;
	if (status == ARES_SUCCESS && ares_parse_srv_reply(abuf, alen, &srv) == ARES_SUCCESS) {
		/* RFC 2782: lowest priority first; weights are ignored
		 * (one server is tried at a time anyway). */
		for (s = srv; s; s = s->next)
			if (!best || s->priority < best->priority)
				best = s;
	}
	if (best && strcmp(best->host, ".") != 0 && best->port != 0) {
		snprintf(target, sizeof(target), "%s", best->host);
		r->port = best->port;
		ares_free_data(srv);
		lookup_addr(r, target);
		return;
	}
	if (srv)
		ares_free_data(srv);
	lookup_addr(r, r->host);
}

int ptcp_resolve_split(const char *s, char *host, size_t cap, uint16_t *port,
                       char *err, size_t errlen)
{
	const char *h = s, *end, *colon;
	size_t hl;
	char *e;
	unsigned long p;

	*port = 0;
	if (*s == '[') {
		end = strchr(s, ']');
		if (!end)
			goto bad;
		h = s + 1;
		hl = (size_t)(end - h);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (!colon && end[1] != '\0')
			goto bad;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			colon = NULL;   /* a bare IPv6 address */
		hl = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (hl == 0 || hl >= cap)
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon) {
		errno = 0;
		p = strtoul(colon + 1, &e, 10);
		if (colon[1] < '0' || colon[1] > '9' || *e || errno || p == 0 || p > 65535) {
			snprintf(err, errlen, "invalid port: '%s'", colon + 1);
			return -EINVAL;
		}
		*port = (uint16_t)p;
	}
	return 0;
bad:
	snprintf(err, errlen, "invalid rendezvous address: '%s'", s);
	return -EINVAL;
}

int ptcp_resolve_start(struct ptcp_resolve **out, struct event_base *base, const char *host,
                       uint16_t port, uint16_t default_port, unsigned timeout_ms,
                       ptcp_resolve_cb cb, void *user)
{
	static bool lib_ready;
	struct ares_options ao;
	struct ptcp_resolve *r;
	struct timeval tv;
	char name[300];
	int i;

	if (!base || !host || !*host || !cb || strlen(host) >= sizeof(r->host))
		return -EINVAL;
	if (!lib_ready) {
		if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
			return -EIO;
		lib_ready = true;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->base = base;
	r->cb = cb;
	r->user = user;
	r->timeout_ms = timeout_ms ? timeout_ms : 5000;
	snprintf(r->host, sizeof(r->host), "%s", host);
	r->port = port ? port : default_port;
	for (i = 0; i < MAX_SOCKS; i++)
		r->w[i].fd = ARES_SOCKET_BAD;
	r->timer = evtimer_new(base, on_timer, r);
	r->limit = evtimer_new(base, on_limit, r);
	r->done_ev = event_new(base, -1, 0, on_done, r);
	if (!r->timer || !r->limit || !r->done_ev) {
		ptcp_resolve_free(r);
		return -ENOMEM;
	}
	if (numeric(r)) {
		/* reported from the loop, as any answer */
		finish(r);
		*out = r;
		return 0;
	}
	memset(&ao, 0, sizeof(ao));
	ao.sock_state_cb = sock_state;
	ao.sock_state_cb_data = r;
	ao.timeout = 1000;      /* ms per try (ARES_OPT_TIMEOUTMS) */
	ao.tries = 2;
	if (ares_init_options(&r->ch, &ao,
			      ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) !=
	    ARES_SUCCESS) {
		ptcp_resolve_free(r);
		return -EIO;
	}
	r->have_ch = true;
	tv.tv_sec = r->timeout_ms / 1000;
	tv.tv_usec = (suseconds_t)(r->timeout_ms % 1000) * 1000;
	event_add(r->limit, &tv);
	if (port == 0) {
		snprintf(name, sizeof(name), "_p2ptcp._tcp.%s", host);
		ares_query(r->ch, name, ns_c_in, ns_t_srv, on_srv, r);
	} else {
		lookup_addr(r, host);
	}
	rearm_timer(r);
	*out = r;
	return 0;
}

void ptcp_resolve_free(struct ptcp_resolve *r)
{
	int i;

	if (!r)
		return;
	/* ares_destroy() runs the callbacks with ARES_EDESTRUCTION and closes
	 * the sockets (sock_state frees their events). */
	if (r->have_ch)
		ares_destroy(r->ch);
	for (i = 0; i < MAX_SOCKS; i++)
		if (r->w[i].ev)
			event_free(r->w[i].ev);
	if (r->timer)
		event_free(r->timer);
	if (r->limit)
		event_free(r->limit);
	if (r->done_ev)
		event_free(r->done_ev);
	free(r);
}
