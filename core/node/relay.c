/* A peer's stream through the relay: see relay.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "node_priv.h"
#include "rdvclient.h"
#include "relay.h"

/* Bytes queued towards the relay before send says "full", and read
 * ahead of the channel before the socket is left alone (then TCP's own
 * window holds the relay back). */
#define OUT_CAP (1024 * 1024)
#define IN_CAP (1024 * 1024)
/* One read or write of the socket at most. */
#define IO_CHUNK (256 * 1024)

enum rc_state {
	RC_CONNECTING,   /* the TCP connection to the relay opens */
	RC_JOINING,      /* JOIN sent: READY awaited */
	RC_READY,        /* the stream */
	RC_FAILED,
};

struct ptcp_relay_conn {
	struct ptcp_node *n;
	struct bufferevent *bev;
	enum rc_state st;
	int err;                          /* RC_FAILED */
	char detail[256];
	struct ptcp_endpoint relay, local;
	ptcp_ts deadline;                 /* RC_CONNECTING, RC_JOINING */
	uint8_t join[PTCP_RELAY_MSG_MAX];
	size_t join_len;
	bool eof;                         /* the relay's FIN came */
	bool shut_wanted, shut_done;      /* ours */
};

static void fail(struct ptcp_relay_conn *rc, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct ptcp_relay_conn *rc, int err, const char *fmt, ...)
{
	va_list ap;

	if (rc->st == RC_FAILED)
		return;
	va_start(ap, fmt);
	vsnprintf(rc->detail, sizeof(rc->detail), fmt, ap);
	va_end(ap);
	rc->st = RC_FAILED;
	rc->err = err;
	bufferevent_disable(rc->bev, EV_READ | EV_WRITE);
	nlog_info(rc->n, "%s", rc->detail);
	ptcp_node_kick(rc->n);
}

static const char *relay_str(const struct ptcp_relay_conn *rc, char buf[64])
{
	return ptcp_endpoint_format(&rc->relay, buf, 64);
}

/* A relay ERROR: refused, or the other peer did not come. */
static void on_refusal(struct ptcp_relay_conn *rc, const struct ptcp_relay_msg *m)
{
	char r[64];

	if (m->error.code == PTCP_RELAY_E_TIMEOUT)
		fail(rc, PTCP_ERR_RELAY_TIMEOUT, "relay %s: %s", relay_str(rc, r), m->error.text);
	else
		fail(rc, PTCP_ERR_RELAY_REFUSED, "relay %s refused us: %s (%s)", relay_str(rc, r),
		     m->error.text, ptcp_relay_strerror(m->error.code));
}

static void joining_read(struct ptcp_relay_conn *rc)
{
	struct evbuffer *in = bufferevent_get_input(rc->bev);
	size_t len = evbuffer_get_length(in), n = len < PTCP_RELAY_MSG_MAX ? len : PTCP_RELAY_MSG_MAX;
	const uint8_t *p = evbuffer_pullup(in, (ssize_t)n);
	struct ptcp_relay_msg m;
	char r[64];
	int k;

	if (!p)
		return;
	k = ptcp_relay_frame(p, n);
	if (k == 0)
		return;
	if (k < 0 || ptcp_relay_parse(&m, p, (size_t)k) != 0 || m.type == PTCP_RELAY_JOIN) {
		fail(rc, PTCP_ERR_RELAY, "relay %s broke the relay protocol: %s", relay_str(rc, r),
		     k < 0 ? ptcp_relay_strerror(k) : "an unexpected message");
		return;
	}
	evbuffer_drain(in, (size_t)k);
	if (m.type == PTCP_RELAY_ERROR) {
		on_refusal(rc, &m);
		return;
	}
	/* READY: what follows in the input is the other peer's. */
	rc->st = RC_READY;
	rc->deadline = PTCP_TS_NEVER;
	bufferevent_setwatermark(rc->bev, EV_READ, 0, IN_CAP);
	nlog_info(rc->n, "relay %s: the other peer is in, the stream is open", relay_str(rc, r));
	ptcp_node_kick(rc->n);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct ptcp_relay_conn *rc = arg;

	(void)bev;
	if (rc->st == RC_JOINING)
		joining_read(rc);
	else if (rc->st == RC_READY)
		ptcp_node_kick(rc->n);
}

static void do_shutdown(struct ptcp_relay_conn *rc)
{
	if (!rc->shut_wanted || rc->shut_done || evbuffer_get_length(bufferevent_get_output(rc->bev)))
		return;
	rc->shut_done = true;
	shutdown(bufferevent_getfd(rc->bev), SHUT_WR);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct ptcp_relay_conn *rc = arg;

	(void)bev;
	if (rc->st != RC_READY)
		return;
	do_shutdown(rc);
	ptcp_node_kick(rc->n);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct ptcp_relay_conn *rc = arg;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1;
	char r[64];

	if (what & BEV_EVENT_CONNECTED) {
		if (getsockname(bufferevent_getfd(bev), (struct sockaddr *)&ss, &len) == 0)
			(void)ptcp_rdv_from_sockaddr(&rc->local, (struct sockaddr *)&ss, len);
		/* Records go out as they are sealed. */
		(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		rc->st = RC_JOINING;
		if (bufferevent_write(bev, rc->join, rc->join_len) != 0)
			fail(rc, PTCP_ERR_NOMEM, "relay %s: out of memory", relay_str(rc, r));
		else
			nlog_info(rc->n, "relay %s: connected, joined; waiting for the other peer",
				  relay_str(rc, r));
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (rc->st == RC_READY) {
			rc->eof = true;
			ptcp_node_kick(rc->n);
			return;
		}
		fail(rc, PTCP_ERR_RELAY, "relay %s closed the connection before the stream began",
		     relay_str(rc, r));
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		int e = EVUTIL_SOCKET_ERROR();

		if (rc->st == RC_CONNECTING)
			fail(rc, PTCP_ERR_RELAY, "relay %s cannot be reached: %s", relay_str(rc, r),
			     strerror(e));
		else
			fail(rc, PTCP_ERR_RELAY, "the relayed stream through %s broke: %s",
			     relay_str(rc, r), strerror(e));
	}
}

int ptcp_relay_conn_new(struct ptcp_relay_conn **out, struct ptcp_node *n,
                        const struct ptcp_endpoint *relay, const uint8_t token[PTCP_RELAY_TOKEN_LEN],
                        ptcp_ts now)
{
	struct ptcp_relay_conn *rc;
	struct ptcp_relay_msg m;
	struct sockaddr_storage ss;
	uint8_t t[PTCP_RELAY_TRANSCRIPT_LEN];
	int len, k;
	char r[64];

	*out = NULL;
	if (!n->has_id || n->key_wiped)
		return PTCP_ERR_IDENTITY;
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return PTCP_ERR_NOMEM;
	rc->n = n;
	rc->relay = *relay;
	rc->deadline = ptcp_ts_add(now, PTCP_RELAY_CONN_WAIT);
	memset(&m, 0, sizeof(m));
	m.type = PTCP_RELAY_JOIN;
	memcpy(m.join.token, token, PTCP_RELAY_TOKEN_LEN);
	memcpy(m.join.key, n->id.pk, PTCP_RELAY_KEY_LEN);
	ptcp_relay_transcript(t, token, n->id.pk);
	if (ptcp_identity_sign(&n->id, t, sizeof(t), m.join.sig) != 0 ||
	    (k = ptcp_relay_emit(&m, rc->join, sizeof(rc->join))) < 0) {
		free(rc);
		return PTCP_ERR_IDENTITY;
	}
	rc->join_len = (size_t)k;
	len = ptcp_rdv_to_sockaddr(relay, &ss);
	rc->bev = bufferevent_socket_new(n->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (len <= 0 || !rc->bev) {
		ptcp_relay_conn_free(rc);
		return PTCP_ERR_NOMEM;
	}
	bufferevent_setcb(rc->bev, on_read, on_write, on_event, rc);
	bufferevent_set_max_single_read(rc->bev, IO_CHUNK);
	bufferevent_set_max_single_write(rc->bev, IO_CHUNK);
	/* The relay's answer at most, until READY. */
	bufferevent_setwatermark(rc->bev, EV_READ, 0, PTCP_RELAY_MSG_MAX);
	bufferevent_setwatermark(rc->bev, EV_WRITE, OUT_CAP / 2, 0);
	bufferevent_enable(rc->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(rc->bev, (struct sockaddr *)&ss, len) != 0) {
		nlog_error(n, "cannot connect to the relay %s: %s", relay_str(rc, r),
			   strerror(EVUTIL_SOCKET_ERROR()));
		ptcp_relay_conn_free(rc);
		return PTCP_ERR_SYSTEM;
	}
	nlog_info(n, "connecting to the relay %s", relay_str(rc, r));
	*out = rc;
	return 0;
}

void ptcp_relay_conn_free(struct ptcp_relay_conn *rc)
{
	if (!rc)
		return;
	if (rc->bev)
		bufferevent_free(rc->bev);
	free(rc);
}

int ptcp_relay_conn_status(const struct ptcp_relay_conn *rc, const char **detail)
{
	if (detail)
		*detail = rc->detail;
	switch (rc->st) {
	case RC_READY:
		return 1;
	case RC_FAILED:
		return rc->err;
	default:
		return 0;
	}
}

ptcp_ts ptcp_relay_conn_deadline(const struct ptcp_relay_conn *rc)
{
	return rc->st == RC_CONNECTING || rc->st == RC_JOINING ? rc->deadline : PTCP_TS_NEVER;
}

void ptcp_relay_conn_endpoints(const struct ptcp_relay_conn *rc, struct ptcp_endpoint *local,
                               struct ptcp_endpoint *remote)
{
	*local = rc->local;
	*remote = rc->relay;
}

ptcp_ssize ptcp_relay_conn_send(struct ptcp_relay_conn *rc, const uint8_t *buf, size_t len)
{
	size_t room = ptcp_relay_conn_send_space(rc);

	if (rc->st == RC_FAILED)
		return rc->err;
	if (rc->st != RC_READY || rc->shut_wanted)
		return PTCP_ERR_STATE;
	if (len > room)
		len = room;
	if (len && bufferevent_write(rc->bev, buf, len) != 0)
		return PTCP_ERR_NOMEM;
	return (ptcp_ssize)len;
}

ptcp_ssize ptcp_relay_conn_recv(struct ptcp_relay_conn *rc, uint8_t *buf, size_t cap)
{
	int k;

	if (rc->st == RC_FAILED)
		return rc->err;
	if (rc->st != RC_READY)
		return 0;
	k = evbuffer_remove(bufferevent_get_input(rc->bev), buf, cap);
	return k < 0 ? 0 : k;
}

unsigned ptcp_relay_conn_recv_peek(struct ptcp_relay_conn *rc, const uint8_t *base[2], size_t len[2])
{
	struct evbuffer_iovec v[2];
	int n;

	if (rc->st != RC_READY)
		return 0;
	n = evbuffer_peek(bufferevent_get_input(rc->bev), -1, NULL, v, 2);
	if (n > 2)
		n = 2;      /* the first two chunks: the rest next time */
	for (int i = 0; i < n; i++) {
		base[i] = v[i].iov_base;
		len[i] = v[i].iov_len;
	}
	return n > 0 ? (unsigned)n : 0;
}

ptcp_ssize ptcp_relay_conn_recv_consume(struct ptcp_relay_conn *rc, size_t n)
{
	if (rc->st == RC_FAILED)
		return rc->err;
	if (rc->st != RC_READY || n > evbuffer_get_length(bufferevent_get_input(rc->bev)))
		return n ? PTCP_ERR_INVAL : 0;
	return evbuffer_drain(bufferevent_get_input(rc->bev), n) == 0 ? (ptcp_ssize)n : PTCP_ERR_INVAL;
}

size_t ptcp_relay_conn_recv_ready(const struct ptcp_relay_conn *rc)
{
	if (rc->st != RC_READY)
		return 0;
	return evbuffer_get_length(bufferevent_get_input(rc->bev));
}

bool ptcp_relay_conn_recv_eof(const struct ptcp_relay_conn *rc)
{
	return rc->st == RC_READY && rc->eof && ptcp_relay_conn_recv_ready(rc) == 0;
}

size_t ptcp_relay_conn_send_space(const struct ptcp_relay_conn *rc)
{
	size_t q;

	if (rc->st != RC_READY)
		return 0;
	q = evbuffer_get_length(bufferevent_get_output(rc->bev));
	return q < OUT_CAP ? OUT_CAP - q : 0;
}

void ptcp_relay_conn_shutdown(struct ptcp_relay_conn *rc)
{
	if (rc->st != RC_READY)
		return;
	rc->shut_wanted = true;
	do_shutdown(rc);
}

bool ptcp_relay_conn_done(const struct ptcp_relay_conn *rc)
{
	return rc->st == RC_READY && rc->shut_done && rc->eof;
}
