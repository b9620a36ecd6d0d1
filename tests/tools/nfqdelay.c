/* nfqdelay: a constant delay for the namespace lab, since this kernel has
 * no netem. Every packet that an iptables rule sends to NFQUEUE number
 * QUEUE is held for DELAY_MS milliseconds and then accepted, in the order
 * it came: a fixed propagation delay with no reordering and no loss of its
 * own.
 *
 *   nfqdelay QUEUE DELAY_MS        (in the router's namespace)
 *   iptables -A FORWARD -j NFQUEUE --queue-num QUEUE
 *
 * Put the rule on a router both directions cross (the lab's "internet")
 * and the round trip grows by twice DELAY_MS. The verdicts go out in
 * batches (one message accepts every packet up to an id), so one core
 * keeps up with a few hundred Mbit/s. Only the packet metadata is copied
 * to userspace, never the payload.
 *
 * It says "nfqdelay: queue Q, D ms" on stderr once it is bound (wait for
 * that before adding the rule: packets queued to an unbound queue are
 * dropped) and, on SIGTERM or SIGINT, how many packets it held and the
 * most at once. Exit 0, or 1 when the queue cannot be bound, 2 on usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define RING 262144               /* packets held at most */
#define QUEUE_MAXLEN 200000       /* the kernel's queue, packets */
#define SOCK_BUF (64 * 1024 * 1024)

struct held {
	uint32_t id;
	uint64_t due;  /* ns, CLOCK_MONOTONIC */
};

struct state {
	struct held *ring;
	size_t head, n, max;
	uint64_t delay;  /* ns */
	uint64_t total, overflow;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
                     void *data)
{
	struct state *st = data;
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	uint32_t id;

	(void)msg;
	if (!ph)
		return 0;
	id = ntohl(ph->packet_id);
	if (st->n == RING) {
		/* Full: this one goes at once rather than never. */
		st->overflow++;
		return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL) < 0 ? -1 : 0;
	}
	st->ring[(st->head + st->n) % RING] = (struct held){ .id = id, .due = now_ns() + st->delay };
	st->n++;
	st->total++;
	if (st->n > st->max)
		st->max = st->n;
	return 0;
}

/* Accepts every packet whose time has come, with one message for all. */
static int release(struct nfq_q_handle *qh, struct state *st, uint64_t now)
{
	uint32_t last = 0;
	bool any = false;

	while (st->n && st->ring[st->head].due <= now) {
		last = st->ring[st->head].id;
		any = true;
		st->head = (st->head + 1) % RING;
		st->n--;
	}
	if (any && nfq_set_verdict_batch(qh, last, NF_ACCEPT) < 0) {
		fprintf(stderr, "nfqdelay: verdict: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || end == s || *end || *out > max ? -1 : 0;
}

int main(int argc, char **argv)
{
	static char buf[65536];
	struct state st = { 0 };
	struct nfq_handle *h;
	struct nfq_q_handle *qh;
	unsigned long queue, delay_ms;
	struct sigaction sa;
	int fd, rc = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: nfqdelay QUEUE DELAY_MS\n");
		return 2;
	}
	if (parse_uint(argv[1], 65535, &queue) != 0) {
		fprintf(stderr, "nfqdelay: invalid queue number: '%s'\n", argv[1]);
		return 2;
	}
	if (parse_uint(argv[2], 60000, &delay_ms) != 0) {
		fprintf(stderr, "nfqdelay: invalid delay: '%s' (milliseconds, at most 60000)\n", argv[2]);
		return 2;
	}
	st.delay = (uint64_t)delay_ms * 1000000u;
	st.ring = calloc(RING, sizeof(*st.ring));
	if (!st.ring) {
		fprintf(stderr, "nfqdelay: out of memory\n");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	h = nfq_open();
	if (!h) {
		fprintf(stderr, "nfqdelay: cannot open nfnetlink: %s\n", strerror(errno));
		return 1;
	}
	qh = nfq_create_queue(h, (uint16_t)queue, on_packet, &st);
	if (!qh) {
		fprintf(stderr, "nfqdelay: cannot bind queue %lu: %s\n", queue, strerror(errno));
		nfq_close(h);
		return 1;
	}
	if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0 ||
	    nfq_set_queue_maxlen(qh, QUEUE_MAXLEN) < 0) {
		fprintf(stderr, "nfqdelay: cannot configure queue %lu: %s\n", queue, strerror(errno));
		nfq_destroy_queue(qh);
		nfq_close(h);
		return 1;
	}
	nfnl_rcvbufsiz(nfq_nfnlh(h), SOCK_BUF);
	fd = nfq_fd(h);
	fprintf(stderr, "nfqdelay: queue %lu, %lu ms\n", queue, delay_ms);

	while (!stop) {
		uint64_t now = now_ns();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct timespec ts, *tsp = NULL;

		if (release(qh, &st, now) != 0) {
			rc = 1;
			break;
		}
		if (st.n) {
			/* Sleep exactly until the next packet is due. */
			uint64_t wait = st.ring[st.head].due - now;

			ts.tv_sec = (time_t)(wait / 1000000000u);
			ts.tv_nsec = (long)(wait % 1000000000u);
			tsp = &ts;
		}
		if (ppoll(&pfd, 1, tsp, NULL) < 0 && errno != EINTR) {
			fprintf(stderr, "nfqdelay: ppoll: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (n < 0) {
				/* ENOBUFS: messages were lost to a full socket; those
				 * packets go with the next batch verdict. */
				if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS &&
				    errno != EINTR) {
					fprintf(stderr, "nfqdelay: recv: %s\n", strerror(errno));
					rc = 1;
				}
				break;
			}
			nfq_handle_packet(h, buf, (int)n);
		}
		if (rc)
			break;
	}
	/* Whatever is still held goes now. */
	(void)release(qh, &st, UINT64_MAX);
	fprintf(stderr, "nfqdelay: %llu packets held, %zu at most at once, %llu let through early\n",
		(unsigned long long)st.total, st.max, (unsigned long long)st.overflow);
	nfq_destroy_queue(qh);
	nfq_close(h);
	free(st.ring);
	return rc;
}
