#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/uio.h>

#include <event2/event.h>

#include "pump.h"

#define IO_BUF (64 * 1024)   /* bytes moved per read(2)/write(2) */

struct ptcp_pump {
	struct event_base *base;
	ptcp_peer *peer;
	int in_fd, out_fd;
	enum ptcp_pump_out_end out_end;
	ptcp_pump_done_fn *on_error;
	void *user;

	struct event *ev_in, *ev_out;
	bool in_poll, out_poll;      /* the descriptor works with epoll */
	bool in_armed, out_armed;
	int in_flags, out_flags;     /* fcntl flags to restore, -1 = untouched */

	uint8_t *in_buf;             /* read from in_fd, not yet taken by the peer */
	size_t in_off, in_len;
	bool in_eof;                 /* in_fd ended (or was ended) */
	bool shut;                   /* ptcp_peer_shutdown() called */

	uint8_t *out_buf;            /* from the peer, not yet written */
	size_t out_off, out_len;
	bool peer_eof;               /* the peer's stream ended */
	bool out_broken;             /* out_fd's reader went away (EPIPE): what
	                                the peer sends is read and dropped, the
	                                other direction goes on */
	bool out_done;               /* ... and out_fd was told */
	bool failed;
	uint64_t bytes_in;
};

/* Regular files and /dev/null make epoll_ctl fail with EPERM. */
static bool pollable(int fd)
{
	struct epoll_event ev;
	int ep;
	bool ok;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return false;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ok = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0;
	close(ep);
	return ok;
}

static void make_nonblocking(int fd, int *saved)
{
	int fl = fcntl(fd, F_GETFL);

	*saved = -1;
	if (fl < 0 || (fl & O_NONBLOCK))
		return;
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0)
		*saved = fl;
}

static void set_armed(struct event *ev, bool *armed, bool want)
{
	if (want == *armed)
		return;
	if (want)
		event_add(ev, NULL);
	else
		event_del(ev);
	*armed = want;
}

static void fail(struct ptcp_pump *pp, int err, const char *what)
{
	if (pp->failed)
		return;
	pp->failed = true;
	set_armed(pp->ev_in, &pp->in_armed, false);
	set_armed(pp->ev_out, &pp->out_armed, false);
	if (pp->on_error)
		pp->on_error(pp->user, pp, err, what);
}

static void end_out(struct ptcp_pump *pp)
{
	int null;

	if (pp->out_done)
		return;
	pp->out_done = true;
	set_armed(pp->ev_out, &pp->out_armed, false);
	switch (pp->out_end) {
	case PTCP_PUMP_OUT_SHUTDOWN:
		(void)shutdown(pp->out_fd, SHUT_WR);
		break;
	case PTCP_PUMP_OUT_CLOSE:
		/* The pump still owns the number until it is freed. */
		null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0) {
			(void)dup2(null, pp->out_fd);
			close(null);
		}
		break;
	case PTCP_PUMP_OUT_DEVNULL:
		/* Replace rather than close, so the number is not reused by a
		 * later open. The reader of a pipe sees end of file now. */
		null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0) {
			if (pp->out_flags >= 0)
				(void)fcntl(pp->out_fd, F_SETFL, pp->out_flags);
			pp->out_flags = -1;
			(void)dup2(null, pp->out_fd);
			close(null);
		}
		break;
	}
	pp->out_poll = false;
}

/* What a write(2) or writev(2) of the peer's bytes to out_fd returned:
 * 1 go on, 0 stop for now (out_fd is full: its event is armed), -1 the
 * pump failed. A reader that left (EPIPE) has the rest discarded. */
static int wrote(struct ptcp_pump *pp, ssize_t n)
{
	if (n >= 0 || errno == EINTR)
		return 1;
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		set_armed(pp->ev_out, &pp->out_armed, true);
		return 0;
	}
	if (errno == EPIPE && !pp->out_broken) {
		/* A child that does not read its input (echo), or a reader
		 * that left: its output, or our owner's decision, still
		 * counts. */
		pp->out_broken = true;
		pp->out_off = pp->out_len = 0;
		if (pp->on_error)
			pp->on_error(pp->user, pp, EPIPE, "write");
		return 1;
	}
	fail(pp, errno, "write");
	return -1;
}

/* The peer's bytes to out_fd, as far as out_fd takes them: written
 * straight from the library's buffers (ptcp_peer_peek()), so that each
 * byte is copied once on its way, into out_fd; only what is discarded for
 * a reader that left is read into out_buf. */
static void pump_out(struct ptcp_pump *pp)
{
	struct iovec iov[2];
	ssize_t n, w;
	int cnt;

	while (!pp->out_done && !pp->failed) {
		if (pp->out_broken)
			pp->out_off = pp->out_len;
		if (pp->out_off < pp->out_len) {
			n = write(pp->out_fd, pp->out_buf + pp->out_off, pp->out_len - pp->out_off);
			if (wrote(pp, n) <= 0)
				return;
			if (n > 0)
				pp->out_off += (size_t)n;
			continue;
		}
		pp->out_off = pp->out_len = 0;
		if (pp->peer_eof || !pp->peer) {
			end_out(pp);
			if (!pp->peer && pp->on_error)
				pp->on_error(pp->user, pp, 0, "drained");
			return;
		}
		if (!pp->out_broken) {
			/* What out_fd does not take stays in the library, and
			 * the peer's window shrinks. */
			n = ptcp_peer_peek(pp->peer, iov, &cnt);
			if (n == PTCP_ERR_EOF) {
				pp->peer_eof = true;
				continue;
			}
			if (n <= 0)
				return;      /* nothing now (readable follows), or the peer failed */
			w = writev(pp->out_fd, iov, cnt);
			if (wrote(pp, w) <= 0)
				return;
			if (w > 0) {
				if (ptcp_peer_consume(pp->peer, (size_t)w) != 0)
					return;
				pp->bytes_in += (uint64_t)w;
			}
			continue;
		}
		n = ptcp_peer_read(pp->peer, pp->out_buf, IO_BUF);
		if (n == PTCP_ERR_EOF) {
			pp->peer_eof = true;
			continue;
		}
		if (n <= 0)
			return;
		pp->out_len = (size_t)n;
		pp->bytes_in += (uint64_t)n;
	}
}

/* in_fd's bytes to the peer while it takes them. */
static void pump_in(struct ptcp_pump *pp)
{
	bool wait_fd = false;
	ssize_t n;
	int guard = 0;

	while (!pp->failed && pp->peer) {
		if (pp->in_off < pp->in_len) {
			n = ptcp_peer_write(pp->peer, pp->in_buf + pp->in_off, pp->in_len - pp->in_off);
			if (n <= 0)
				break;     /* full (writable follows), or the peer failed */
			pp->in_off += (size_t)n;
			continue;
		}
		pp->in_off = pp->in_len = 0;
		if (pp->in_eof) {
			if (!pp->shut) {
				pp->shut = true;
				(void)ptcp_peer_shutdown(pp->peer);
			}
			break;
		}
		/* Non-blocking: a pipe or socket with nothing says EAGAIN and
		 * we wait for it; a file is read a bounded number of times per
		 * kick. */
		n = read(pp->in_fd, pp->in_buf, IO_BUF);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				wait_fd = true;
				break;
			}
			fail(pp, errno, "read");
			return;
		}
		if (n == 0) {
			pp->in_eof = true;
			continue;
		}
		pp->in_len = (size_t)n;
		if (!pp->in_poll && ++guard >= 64) {
			/* A file never says "ready": come back from the loop. */
			event_active(pp->ev_in, EV_READ, 0);
			break;
		}
	}
	if (pp->in_poll)
		set_armed(pp->ev_in, &pp->in_armed, !pp->failed && !pp->in_eof && wait_fd);
}

void ptcp_pump_kick(struct ptcp_pump *pp)
{
	if (pp->failed)
		return;
	pump_out(pp);
	pump_in(pp);
}

static void on_in(evutil_socket_t fd, short what, void *arg)
{
	struct ptcp_pump *pp = arg;

	(void)fd;
	(void)what;
	pp->in_armed = false;
	ptcp_pump_kick(pp);
}

static void on_out(evutil_socket_t fd, short what, void *arg)
{
	struct ptcp_pump *pp = arg;

	(void)fd;
	(void)what;
	pp->out_armed = false;
	ptcp_pump_kick(pp);
}

int ptcp_pump_new(struct ptcp_pump **out, struct event_base *base, ptcp_peer *peer, int in_fd,
		  int out_fd, enum ptcp_pump_out_end out_end, ptcp_pump_done_fn *on_error, void *user)
{
	struct ptcp_pump *pp = calloc(1, sizeof(*pp));

	*out = NULL;
	if (!pp)
		return -ENOMEM;
	pp->base = base;
	pp->peer = peer;
	pp->in_fd = in_fd;
	pp->out_fd = out_fd;
	pp->out_end = out_end;
	pp->on_error = on_error;
	pp->user = user;
	pp->in_flags = pp->out_flags = -1;
	pp->in_poll = pollable(in_fd);
	pp->out_poll = pollable(out_fd);
	if (pp->in_poll)
		make_nonblocking(in_fd, &pp->in_flags);
	if (pp->out_poll && out_fd != in_fd)
		make_nonblocking(out_fd, &pp->out_flags);
	pp->in_buf = malloc(IO_BUF);
	pp->out_buf = malloc(IO_BUF);
	pp->ev_in = event_new(base, in_fd, EV_READ, on_in, pp);
	pp->ev_out = event_new(base, out_fd, EV_WRITE, on_out, pp);
	if (!pp->in_buf || !pp->out_buf || !pp->ev_in || !pp->ev_out) {
		ptcp_pump_free(pp);
		return -ENOMEM;
	}
	*out = pp;
	return 0;
}

void ptcp_pump_detach(struct ptcp_pump *pp)
{
	pp->peer = NULL;
	pp->in_eof = true;
	set_armed(pp->ev_in, &pp->in_armed, false);
	if (pp->out_done || pp->failed) {
		if (pp->on_error)
			pp->on_error(pp->user, pp, 0, "drained");
		return;
	}
	pump_out(pp);
}

void ptcp_pump_end_input(struct ptcp_pump *pp)
{
	pp->in_eof = true;
	pp->in_len = pp->in_off = 0;
	set_armed(pp->ev_in, &pp->in_armed, false);
	ptcp_pump_kick(pp);
}

bool ptcp_pump_out_done(const struct ptcp_pump *pp)
{
	return pp->out_done;
}

uint64_t ptcp_pump_bytes_in(const struct ptcp_pump *pp)
{
	return pp->bytes_in;
}

void ptcp_pump_free(struct ptcp_pump *pp)
{
	if (!pp)
		return;
	if (pp->ev_in)
		event_free(pp->ev_in);
	if (pp->ev_out)
		event_free(pp->ev_out);
	if (pp->in_flags >= 0)
		(void)fcntl(pp->in_fd, F_SETFL, pp->in_flags);
	if (pp->out_flags >= 0)
		(void)fcntl(pp->out_fd, F_SETFL, pp->out_flags);
	free(pp->in_buf);
	free(pp->out_buf);
	free(pp);
}
