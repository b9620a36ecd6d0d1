/* The seeded two-engine simulation: see netsim.h. */
#include "netsim.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "stack.h"

#define NS_PER_S ((uint64_t)1000000000)
#define SIM_EPOCH ((uint64_t)NS_PER_S)    /* nothing happens at the suspicious time 0 */
#define IP_HDR 20               /* counted in serialisation, not carried */
#define OBUF_CAP 4096           /* >= 60 + any MSS the tests use */
#define SEG_RING 32             /* segments kept for the failure trace */
#define EV_RING 24              /* engine events kept for the failure trace */
#define DRAIN_MAX 100000        /* segments one drain may produce */
#define A_PORT 4000             /* A's port of connection j is A_PORT + j */
#define B_PORT 5000

/* ---- PRNG ---------------------------------------------------------------- */

uint64_t netsim_mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void netsim_rng_seed(struct netsim_rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t netsim_rng_next(struct netsim_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return netsim_mix64(r->s);
}

uint64_t netsim_rng_below(struct netsim_rng *r, uint64_t n)
{
	/* The modulo bias is irrelevant for a simulation. */
	return n ? netsim_rng_next(r) % n : 0;
}

uint64_t netsim_rng_range(struct netsim_rng *r, uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + netsim_rng_below(r, hi - lo + 1);
}

bool netsim_rng_ppm(struct netsim_rng *r, uint32_t ppm)
{
	return ppm && netsim_rng_below(r, 1000000) < ppm;
}

/* ---- counting allocator -------------------------------------------------- */

#define ALLOC_MAGIC 0x70746370616c6c63ULL

/* A header in front of every block remembers its size, so a free with the
 * wrong size (or of a foreign pointer) is noticed. 16 bytes keep the
 * block aligned for anything. */
struct alloc_hdr {
	uint64_t size;
	uint64_t magic;
};

static void *sim_alloc(void *ctx, size_t size)
{
	struct netsim_alloc *a = ctx;
	struct alloc_hdr *h = malloc(sizeof(*h) + size);

	if (!h)
		return NULL;
	h->size = size;
	h->magic = ALLOC_MAGIC;
	/* Garbage, so an engine that relies on zeroed memory shows up. */
	memset(h + 1, 0xa5, size);
	a->allocs++;
	a->live_blocks++;
	a->live_bytes += size;
	if (a->live_bytes > a->peak_bytes)
		a->peak_bytes = a->live_bytes;
	return h + 1;
}

static void sim_free(void *ctx, void *ptr, size_t size)
{
	struct netsim_alloc *a = ctx;
	struct alloc_hdr *h;

	if (!ptr)
		return;
	h = (struct alloc_hdr *)ptr - 1;
	if (h->magic != ALLOC_MAGIC || h->size != size) {
		a->bad_frees++;
		return; /* leak it rather than corrupt the heap */
	}
	h->magic = 0;
	a->live_blocks--;
	a->live_bytes -= size;
	free(h);
}

struct ptcp_alloc netsim_alloc_iface(struct netsim_alloc *a)
{
	return (struct ptcp_alloc){ .alloc = sim_alloc, .free = sim_free, .ctx = a };
}

/* ---- parameters ---------------------------------------------------------- */

void netsim_params_default(struct netsim_params *p, uint64_t seed)
{
	memset(p, 0, sizeof(*p));
	p->seed = seed;
	p->name = "default";
	p->ab.delay = p->ba.delay = 10 * PTCP_NS_PER_MS;
	p->a.bytes = p->b.bytes = 64 * 1024;
	p->a.sndbuf = p->b.sndbuf = 64 * 1024;
	p->a.rcvbuf = p->b.rcvbuf = 64 * 1024;
	p->a.write_max = p->b.write_max = 8192;
	p->a.read_cap = p->b.read_cap = 8192;
	p->a.isn = 1000;
	p->b.isn = 5000;
	p->open = NETSIM_OPEN_SIMULTANEOUS;
	p->close = NETSIM_CLOSE_WHEN_DONE;
	p->mss = 1460;
	p->sack = true;
	p->window_scale = true;
	p->timestamps = true;
	p->msl = 30 * PTCP_NS_PER_S;
	p->max_time = 3600 * PTCP_NS_PER_S;
	p->max_events = 20 * 1000 * 1000;
}

static void print_link(FILE *f, const char *name, const struct netsim_link *l)
{
	fprintf(f, "  link %s: delay %.3f ms, jitter %.3f ms, loss %.2f%%, dup %.2f%%, corrupt %.2f%%",
		name, l->delay / 1e6, l->jitter / 1e6, l->loss_ppm / 1e4, l->dup_ppm / 1e4,
		l->corrupt_ppm / 1e4);
	if (l->rate)
		fprintf(f, ", rate %" PRIu64 " B/s, queue %" PRIu32 " B", l->rate, l->queue_bytes);
	if (l->blackout_until > l->blackout_from)
		fprintf(f, ", blackout %.3f-%.3f s", l->blackout_from / 1e9, l->blackout_until / 1e9);
	fputc('\n', f);
}

static void print_side(FILE *f, const char *name, const struct netsim_side *s)
{
	fprintf(f,
		"  %s: sends %" PRIu64 " B, sndbuf %" PRIu32 ", rcvbuf %" PRIu32 ", write_max %" PRIu32
		", read_cap %" PRIu32 ", read_interval %.3f ms, isn %" PRIu32 "\n",
		name, s->bytes, s->sndbuf, s->rcvbuf, s->write_max, s->read_cap,
		s->read_interval / 1e6, s->isn);
}

void netsim_params_print(const struct netsim_params *p, FILE *f)
{
	fprintf(f, "  seed %" PRIu64 " class %s: open %s%s%s, close %s, B opens at +%.3f ms\n",
		p->seed, p->name ? p->name : "?",
		p->open == NETSIM_OPEN_SIMULTANEOUS ? "simultaneous" : "active/passive",
		p->open == NETSIM_OPEN_ACTIVE_PASSIVE && p->b_wildcard ? " (wildcard listen)" : "",
		p->punching ? " (punching)" : "",
		p->close == NETSIM_CLOSE_WHEN_DONE ? "when-done" : "B-after-EOF",
		p->b_open_at / 1e6);
	fprintf(f, "  mss %u, sack %d, wscale %d, timestamps %d, %s, delack %.3f ms, msl %.3f s\n",
		p->mss, p->sack, p->window_scale, p->timestamps,
		p->cc == PTCP_CC_CUBIC ? "cubic" : p->cc == PTCP_CC_BBR ? "bbr" : "newreno",
		p->delack / 1e6, p->msl / 1e9);
	if (p->conns)
		fprintf(f, "  %u connections through two tables, each side's bytes per connection\n",
			p->conns);
	print_link(f, "A->B", &p->ab);
	print_link(f, "B->A", &p->ba);
	print_side(f, "A", &p->a);
	print_side(f, "B", &p->b);
}

/* ---- the simulation ------------------------------------------------------ */

/* ---- the simulation ------------------------------------------------------ */

enum ev_kind {
	EV_DELIVER,  /* a segment arrives at side */
	EV_READ,     /* peer[peer]'s slow reader wakes up */
	EV_OPEN_B,   /* B opens (simultaneous open with an offset) */
};

struct event {
	ptcp_ts at;
	uint64_t serial;     /* ties broken by insertion order: determinism */
	uint8_t kind;
	uint8_t side;        /* 0 = A, 1 = B: where it happens */
	uint16_t peer;       /* EV_READ: index in sim.peer[] */
	bool corrupted;
	uint32_t len;
	uint8_t *buf;
	struct ptcp_endpoint src, dst; /* EV_DELIVER: the packet's addresses */
	uint8_t hdr[PTCP_TCP_HDR_MAX]; /* the segment before corruption */
};

struct heap {
	struct event *v;
	size_t n, cap;
};

enum fate {
	F_DELIVERED,
	F_CORRUPTED,
	F_LOST,
	F_QUEUE_DROP,
};

struct seg_trace {
	ptcp_ts at;
	uint8_t from;        /* 0 = A sent it, 1 = B */
	uint8_t fate;
	uint8_t hdrlen;
	uint32_t len;
	uint8_t hdr[PTCP_TCP_HDR_MAX];
};

struct ev_trace {
	uint8_t side;
	int16_t pair;        /* -1: a connection no application has (yet) */
	struct ptcp_event ev;
};

struct sim;

/* One end of one connection and its application. In the two-engine mode
 * peer[0] is A and peer[1] is B; with tables, peer[2j] is A's end of
 * connection j and peer[2j + 1] B's. */
struct peer {
	struct sim *sim;
	int idx;                  /* index in sim.peer[] */
	int side;                 /* 0 = A, 1 = B */
	int pair;                 /* connection number */
	char name[16];            /* "A", "B" or "A3", "B3" */
	struct ptcp_conn *c;      /* NULL once the table freed it */
	struct netsim_alloc alloc;/* two-engine mode: the connection's memory */
	struct ptcp_endpoint local, remote;
	const struct netsim_side *app;
	uint64_t key;             /* generates the bytes this side sends */
	uint64_t peer_key;        /* ... and those it receives */
	uint64_t expect;          /* bytes the peer application sends */
	uint64_t sent, sent_hash;
	uint64_t rcvd, rcvd_hash;
	bool shut, eof;
	bool read_armed;          /* an EV_READ is queued */
	bool closed_seen;         /* PTCP_EV_CLOSED reported */
	int close_error;          /* ... with this error */
	bool released;            /* tables: handed back with ptcp_stack_release */
	bool has_final;           /* final holds the connection's last counters */
	struct ptcp_stats final;
	uint8_t *rdbuf, *wrbuf;
};

/* One host: with tables, its table and what it allocates. */
struct host {
	struct sim *sim;
	int side;
	struct ptcp_stack *st;
	struct ptcp_listener *lst;
	struct netsim_alloc alloc;
};

struct sim {
	const struct netsim_params *p;
	struct netsim_result *r;
	struct netsim_rng rng;
	ptcp_ts now;
	uint64_t serial;
	struct heap q;
	bool tables;              /* p->conns > 0 */
	struct peer *peer;
	size_t n_peer;
	struct host host[2];
	ptcp_ts busy_until[2];    /* each side's outgoing link serialises until then */
	uint8_t obuf[OBUF_CAP];
	bool failed;

	struct seg_trace segs[SEG_RING];
	uint64_t n_segs;
	struct ev_trace evs[EV_RING];
	uint64_t n_evs;
};

static void fail(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct sim *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->failed)
		return;
	s->failed = true;
	n = snprintf(s->r->why, sizeof(s->r->why), "t=%.6f s: ", (s->now - SIM_EPOCH) / 1e9);
	if (n < 0 || (size_t)n >= sizeof(s->r->why))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(s->r->why + n, sizeof(s->r->why) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* -- event queue: a binary min-heap on (at, serial) -- */

static bool ev_before(const struct event *a, const struct event *b)
{
	return a->at < b->at || (a->at == b->at && a->serial < b->serial);
}

static void heap_push(struct sim *s, struct event *e)
{
	struct heap *h = &s->q;
	size_t i;

	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 256;
		struct event *v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			abort();
		h->v = v;
		h->cap = cap;
	}
	e->serial = s->serial++;
	i = h->n++;
	while (i > 0 && ev_before(e, &h->v[(i - 1) / 2])) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = *e;
}

static void heap_pop(struct heap *h, struct event *out)
{
	struct event last;
	size_t i = 0;

	*out = h->v[0];
	last = h->v[--h->n];
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < h->n && ev_before(&h->v[l], &last))
			m = l;
		if (l + 1 < h->n && ev_before(&h->v[l + 1], m == i ? &last : &h->v[l]))
			m = l + 1;
		if (m == i)
			break;
		h->v[i] = h->v[m];
		i = m;
	}
	if (h->n > 0)
		h->v[i] = last;
}

/* -- traces -- */

static void trace_seg(struct sim *s, int from, enum fate fate, const uint8_t *hdr, size_t len)
{
	struct seg_trace *t = &s->segs[s->n_segs++ % SEG_RING];

	t->at = s->now;
	t->from = (uint8_t)from;
	t->fate = (uint8_t)fate;
	t->len = (uint32_t)len;
	t->hdrlen = (uint8_t)(len < PTCP_TCP_HDR_MAX ? len : PTCP_TCP_HDR_MAX);
	memcpy(t->hdr, hdr, t->hdrlen);
}

/* An engine event of side's connection; pe is its application's end (NULL
 * for a half-open connection nobody accepted yet). */
static void record_event(struct sim *s, int side, struct peer *pe, const struct ptcp_event *ev)
{
	struct ev_trace *t;

	if (pe && ev->type == PTCP_EV_CLOSED) {
		pe->closed_seen = true;
		pe->close_error = ev->error;
	}
	/* Drops are frequent on a lossy link and are counted anyway; keep
	 * the trace for what explains a failure. */
	if (ev->type == PTCP_EV_DROP && ev->drop == PTCP_DROP_CHECKSUM)
		return;
	t = &s->evs[s->n_evs++ % EV_RING];
	t->side = (uint8_t)side;
	t->pair = (int16_t)(pe ? pe->pair : -1);
	t->ev = *ev;
}

static void on_event(void *user, struct ptcp_conn *conn, const struct ptcp_event *ev)
{
	struct peer *pe = user;

	(void)conn;
	record_event(pe->sim, pe->side, pe, ev);
}

/* -- application byte streams -- */

/* Byte off of the stream keyed key: a pure function of both, so sender
 * and receiver agree without sharing a buffer. */
static void stream_fill(uint64_t key, uint64_t off, uint8_t *buf, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint64_t blk = (off + i) >> 3;
		uint64_t w = netsim_mix64(key ^ (blk * 0x9e3779b97f4a7c15ULL));
		unsigned b = (unsigned)((off + i) & 7);

		for (; b < 8 && i < n; b++, i++)
			buf[i] = (uint8_t)(w >> (8 * b));
	}
}

/* FNV-1a, 64 bit: a running hash of a stream. */
static uint64_t hash_update(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define HASH_INIT 0xcbf29ce484222325ULL

/* -- the links -- */

/* Puts a segment that side sent from src to dst on its link. */
static void transmit(struct sim *s, int side, const struct ptcp_endpoint *src,
                     const struct ptcp_endpoint *dst, const uint8_t *buf, size_t len)
{
	const struct netsim_link *l = side ? &s->p->ba : &s->p->ab;
	ptcp_ts depart = s->now;
	unsigned copies, i;

	s->r->segments++;
	/* Header bytes 13 (flags) and 14-15 (window); len >= 20 here. */
	if (len >= PTCP_TCP_HDR_MIN) {
		if ((buf[13] & PTCP_TH_ACK) && !(buf[13] & PTCP_TH_RST) && buf[14] == 0 && buf[15] == 0)
			s->r->zero_windows++;
		if (buf[13] & PTCP_TH_SYN)
			s->r->syns++;
	}
	if (l->rate) {
		ptcp_ts start = s->busy_until[side] > s->now ? s->busy_until[side] : s->now;
		uint64_t backlog_ns = start - s->now;
		uint64_t backlog = backlog_ns / 1000 * (l->rate / 1000) / 1000;

		if (l->queue_bytes && backlog + len + IP_HDR > l->queue_bytes) {
			s->r->queue_drops++;
			trace_seg(s, side, F_QUEUE_DROP, buf, len);
			return;
		}
		s->busy_until[side] = start + (len + IP_HDR) * NS_PER_S / l->rate;
		depart = s->busy_until[side];
	}
	if (netsim_rng_ppm(&s->rng, l->loss_ppm) ||
	    (s->now >= SIM_EPOCH + l->blackout_from && s->now < SIM_EPOCH + l->blackout_until)) {
		s->r->lost++;
		trace_seg(s, side, F_LOST, buf, len);
		return;
	}
	copies = 1 + netsim_rng_ppm(&s->rng, l->dup_ppm);
	s->r->duplicated += copies - 1;
	for (i = 0; i < copies; i++) {
		struct event e = { .kind = EV_DELIVER, .side = (uint8_t)!side, .len = (uint32_t)len,
		                   .src = *src, .dst = *dst };

		e.at = depart + l->delay + netsim_rng_below(&s->rng, l->jitter);
		e.buf = malloc(len);
		if (!e.buf)
			abort();
		memcpy(e.buf, buf, len);
		memcpy(e.hdr, buf, len < sizeof(e.hdr) ? len : sizeof(e.hdr));
		if (netsim_rng_ppm(&s->rng, l->corrupt_ppm)) {
			uint64_t bit = netsim_rng_below(&s->rng, (uint64_t)len * 8);

			e.buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			e.corrupted = true;
			s->r->corrupted++;
		}
		heap_push(s, &e);
	}
}

/* -- driving the engines -- */

/* Sends everything a connection (two-engine mode) or a host's table has
 * due. */
static void drain(struct sim *s, int side, struct peer *pe)
{
	for (unsigned k = 0;; k++) {
		struct ptcp_stack_tx tx = { 0 };   /* info.caps: none */
		int n;

		if (s->tables) {
			n = ptcp_stack_output(s->host[side].st, s->obuf, sizeof(s->obuf), &tx, s->now);
		} else {
			n = ptcp_conn_output(pe->c, s->obuf, sizeof(s->obuf), &tx.info, s->now);
			tx.src = pe->local;
			tx.dst = pe->remote;
		}
		if (n < 0) {
			fail(s, "%s: output returned %d (%s)", pe ? pe->name : side ? "B" : "A", n,
			     ptcp_strerror(n));
			return;
		}
		if (n == 0)
			return;
		if (k >= DRAIN_MAX) {
			fail(s, "%s: output produced more than %d segments at once",
			     pe ? pe->name : side ? "B" : "A", DRAIN_MAX);
			return;
		}
		transmit(s, side, &tx.src, &tx.dst, s->obuf, (size_t)n);
	}
}

/* Whether pe's application still has a connection to work on. */
static bool app_active(const struct peer *pe)
{
	return pe->c && !pe->released;
}

/* ptcp_conn_recv() through the lending calls: what they lend, up to
 * read_cap, copied into rdbuf (for the checks below), then consumed. */
static ptcp_ssize lend_read(struct peer *pe, ptcp_ts now)
{
	const uint8_t *base[2];
	size_t len[2], n = 0;
	unsigned k = ptcp_conn_recv_peek(pe->c, base, len);

	for (unsigned i = 0; i < k && n < pe->app->read_cap; i++) {
		size_t m = len[i] < pe->app->read_cap - n ? len[i] : pe->app->read_cap - n;

		memcpy(pe->rdbuf + n, base[i], m);
		n += m;
	}
	return n ? ptcp_conn_recv_consume(pe->c, n, now) : 0;
}

static void app_read(struct sim *s, struct peer *pe, bool all)
{
	uint8_t want[4096];

	if (!app_active(pe))
		return;
	for (;;) {
		ptcp_ssize n = pe->app->lend ? lend_read(pe, s->now)
					     : ptcp_conn_recv(pe->c, pe->rdbuf, pe->app->read_cap, s->now);
		size_t done;

		if (n < 0) {
			fail(s, "%s: ptcp_conn_recv returned %td (%s)", pe->name, n, ptcp_strerror((int)n));
			return;
		}
		if ((size_t)n > pe->app->read_cap) {
			fail(s, "%s: ptcp_conn_recv returned %td for a buffer of %" PRIu32, pe->name, n,
			     pe->app->read_cap);
			return;
		}
		if (pe->rcvd + (uint64_t)n > pe->expect) {
			fail(s, "%s: received %" PRIu64 " bytes, more than the %" PRIu64 " sent", pe->name,
			     pe->rcvd + (uint64_t)n, pe->expect);
			return;
		}
		for (done = 0; done < (size_t)n;) {
			size_t m = (size_t)n - done < sizeof(want) ? (size_t)n - done : sizeof(want);

			stream_fill(pe->peer_key, pe->rcvd + done, want, m);
			if (memcmp(want, pe->rdbuf + done, m) != 0) {
				size_t i = 0;

				while (want[i] == pe->rdbuf[done + i])
					i++;
				fail(s, "%s: received byte %" PRIu64 " is 0x%02x, sent 0x%02x", pe->name,
				     pe->rcvd + done + i, pe->rdbuf[done + i], want[i]);
				return;
			}
			done += m;
		}
		pe->rcvd_hash = hash_update(pe->rcvd_hash, pe->rdbuf, (size_t)n);
		pe->rcvd += (uint64_t)n;
		if (n > 0 && pe->rcvd == pe->expect)
			s->r->done_at[pe == &s->peer[0]] = s->now - SIM_EPOCH;
		if (n == 0 || !all)
			break;
	}
	if (!pe->eof && ptcp_conn_recv_eof(pe->c)) {
		pe->eof = true;
		if (pe->rcvd != pe->expect)
			fail(s, "%s: end of stream after %" PRIu64 " of %" PRIu64 " bytes", pe->name,
			     pe->rcvd, pe->expect);
	}
}

static void app_write(struct sim *s, struct peer *pe)
{
	enum ptcp_state st;

	if (!app_active(pe))
		return;
	st = ptcp_conn_state(pe->c);
	if (pe->shut || st == PTCP_CLOSED || st == PTCP_LISTEN)
		return;
	while (pe->sent < pe->app->bytes) {
		uint64_t left = pe->app->bytes - pe->sent;
		size_t want = (size_t)netsim_rng_range(&s->rng, 1, pe->app->write_max);
		ptcp_ssize n;

		if (want > left)
			want = (size_t)left;
		stream_fill(pe->key, pe->sent, pe->wrbuf, want);
		n = ptcp_conn_send(pe->c, pe->wrbuf, want, s->now);
		if (n < 0) {
			fail(s, "%s: ptcp_conn_send returned %td (%s)", pe->name, n, ptcp_strerror((int)n));
			return;
		}
		if ((size_t)n > want) {
			fail(s, "%s: ptcp_conn_send took %td of %zu bytes", pe->name, n, want);
			return;
		}
		pe->sent_hash = hash_update(pe->sent_hash, pe->wrbuf, (size_t)n);
		pe->sent += (uint64_t)n;
		if ((size_t)n < want)
			break; /* backpressure: the send buffer is full */
	}
}

static void app_shutdown(struct sim *s, struct peer *pe)
{
	enum ptcp_state st;
	int rv;

	if (!app_active(pe) || pe->shut || pe->sent < pe->app->bytes)
		return;
	st = ptcp_conn_state(pe->c);
	/* In SYN-SENT a shutdown deletes the TCB (RFC 9293 3.10.4): wait. */
	if (st == PTCP_CLOSED || st == PTCP_LISTEN || st == PTCP_SYN_SENT)
		return;
	if (pe->side == 1 && s->p->close == NETSIM_CLOSE_B_AFTER_EOF && !pe->eof)
		return;
	rv = ptcp_conn_shutdown(pe->c, s->now);
	if (rv != 0) {
		fail(s, "%s: ptcp_conn_shutdown returned %d (%s)", pe->name, rv, ptcp_strerror(rv));
		return;
	}
	pe->shut = true;
}

/* The application's turn after anything happened: read, write, shut
 * down; with a table, tell it, and hand the connection back once both
 * directions are done (the table sees the close through). */
static void app_step(struct sim *s, struct peer *pe)
{
	if (!app_active(pe))
		return;
	if (pe->app->read_interval == 0) {
		app_read(s, pe, true);
	} else if (!pe->read_armed && !pe->eof) {
		struct event e = { .kind = EV_READ, .side = (uint8_t)pe->side, .peer = (uint16_t)pe->idx };

		e.at = s->now + pe->app->read_interval;
		heap_push(s, &e);
		pe->read_armed = true;
	}
	app_write(s, pe);
	app_shutdown(s, pe);
	if (!s->tables)
		return;
	if (ptcp_stack_touch(s->host[pe->side].st, pe->c, s->now) != 0)
		fail(s, "%s: ptcp_stack_touch failed", pe->name);
	if (pe->shut && pe->eof) {
		pe->released = true;
		if (ptcp_stack_release(s->host[pe->side].st, pe->c, s->now) != 0)
			fail(s, "%s: ptcp_stack_release failed", pe->name);
	}
}

/* What a driver does after anything happened on a side (to one
 * connection, pe, without tables): let the applications act, then send
 * what is due. */
static void service(struct sim *s, int side, struct peer *pe)
{
	ptcp_ts exp;

	if (s->tables) {
		for (size_t i = (size_t)side; i < s->n_peer; i += 2)
			app_step(s, &s->peer[i]);
	} else {
		app_step(s, pe);
	}
	drain(s, side, pe);
	/* A timer due right now is fine (it runs next); one in the past is
	 * not. */
	exp = s->tables ? ptcp_stack_expiry(s->host[side].st) : ptcp_conn_expiry(pe->c);
	if (exp < s->now)
		fail(s, "%s: expiry %.6f s lies in the past", side ? "B" : "A", (exp - SIM_EPOCH) / 1e9);
	for (size_t i = (size_t)side; i < s->n_peer; i += 2) {
		struct peer *q = &s->peer[i];

		if (q->closed_seen && q->close_error != 0)
			fail(s, "%s: connection failed: %s", q->name, ptcp_strerror(q->close_error));
	}
}

/* The ISN of pair's end on side. */
static ptcp_seq isn_of(const struct netsim_params *p, int side, int pair)
{
	return (side ? p->b.isn : p->a.isn) + (ptcp_seq)pair * 0x9e3779b9u;
}

static void open_peer(struct sim *s, struct peer *pe, bool active)
{
	struct ptcp_open o = { .isn = isn_of(s->p, pe->side, pe->pair) };
	int rv;

	if (active) {
		/* Simultaneous open: the ISNs were agreed beforehand. */
		if (s->p->open == NETSIM_OPEN_SIMULTANEOUS) {
			o.has_peer_isn = true;
			o.peer_isn = isn_of(s->p, !pe->side, pe->pair);
		}
		if (s->tables)
			rv = ptcp_stack_connect(s->host[pe->side].st, &pe->c, &pe->local, &pe->remote, &o,
			                        NULL, pe, s->now);
		else
			rv = ptcp_conn_open_active(pe->c, &o, s->now);
	} else {
		rv = ptcp_conn_open_passive(pe->c, &o, s->now);
	}
	if (rv != 0)
		fail(s, "%s: open returned %d (%s)", pe->name, rv, ptcp_strerror(rv));
	service(s, pe->side, pe);
}

/* Opens every connection end of side (actively). */
static void open_side(struct sim *s, int side)
{
	if (!s->tables) {
		open_peer(s, &s->peer[side], true);
		return;
	}
	for (size_t i = (size_t)side; i < s->n_peer && !s->failed; i += 2)
		open_peer(s, &s->peer[i], true);
}

static void deliver(struct sim *s, struct event *e)
{
	struct peer *to = s->tables ? NULL : &s->peer[e->side];
	int rv;

	trace_seg(s, !e->side, e->corrupted ? F_CORRUPTED : F_DELIVERED, e->hdr, e->len);
	if (s->tables)
		rv = ptcp_stack_input(s->host[e->side].st, e->buf, e->len, &e->src, &e->dst, s->now);
	else
		rv = ptcp_conn_input_bytes(to->c, e->buf, e->len, &to->remote, s->now);
	if (e->corrupted && rv >= 0)
		fail(s, "%s: a segment with a flipped bit was accepted", e->side ? "B" : "A");
	else if (!e->corrupted && rv < 0)
		fail(s, "%s: input rejected a clean segment: %d (%s)", e->side ? "B" : "A", rv,
		     ptcp_strerror(rv));
	service(s, e->side, to);
}

static void conn_config(const struct sim *s, int side, struct ptcp_config *cfg)
{
	const struct netsim_params *p = s->p;
	const struct netsim_side *app = side ? &p->b : &p->a;

	ptcp_config_default(cfg);
	cfg->sndbuf = app->sndbuf;
	cfg->rcvbuf = app->rcvbuf;
	cfg->mss = p->mss;
	cfg->sack = p->sack;
	cfg->window_scale = p->window_scale;
	cfg->timestamps = p->timestamps;
	cfg->cc = p->cc;
	cfg->delack = p->delack;
	cfg->msl = p->msl;
	cfg->punching = p->punching;
}

/* -- with tables -- */

static struct peer *peer_of_conn(struct sim *s, int side, const struct ptcp_conn *c)
{
	for (size_t i = (size_t)side; i < s->n_peer; i += 2)
		if (s->peer[i].c == c)
			return &s->peer[i];
	return NULL;
}

static void on_stack_event(void *user, struct ptcp_stack *st, const struct ptcp_stack_event *ev)
{
	struct host *h = user;
	struct sim *s = h->sim;
	struct peer *pe = peer_of_conn(s, h->side, ev->conn);
	struct ptcp_conn *c;
	long pair;

	switch (ev->type) {
	case PTCP_STACK_EV_CONN:
		record_event(s, h->side, pe, ev->ev);
		break;
	case PTCP_STACK_EV_ACCEPTABLE:
		/* B's listener: the connection goes to the application of
		 * its pair, which A dialled from port A_PORT + pair. */
		if (ptcp_stack_accept(st, h->lst, &c, NULL) != 0 || c != ev->conn) {
			fail(s, "B: ptcp_stack_accept did not give the acceptable connection");
			break;
		}
		pair = (long)ptcp_conn_remote(c)->port - A_PORT;
		if (pair < 0 || 2 * (size_t)pair + 1 >= s->n_peer || s->peer[2 * pair + 1].c) {
			fail(s, "B: a connection from port %u that no application expects",
			     ptcp_conn_remote(c)->port);
			break;
		}
		pe = &s->peer[2 * pair + 1];
		pe->c = c;
		ptcp_stack_set_user(st, c, pe);
		break;
	case PTCP_STACK_EV_FREED:
		if (pe) {
			ptcp_conn_stats(pe->c, &pe->final);
			pe->has_final = true;
			pe->c = NULL;
		}
		break;
	}
}

static bool host_init(struct sim *s, int side)
{
	struct host *h = &s->host[side];
	struct ptcp_stack_config cfg;
	int rv;

	h->sim = s;
	h->side = side;
	ptcp_stack_config_default(&cfg);
	cfg.alloc = netsim_alloc_iface(&h->alloc);
	cfg.on_event = on_stack_event;
	cfg.user = h;
	conn_config(s, side, &cfg.conn);
	cfg.max_conns = (uint32_t)s->p->conns * 2;
	/* The applications release once their streams are done; the
	 * close may take long on a harsh link and must not be cut. */
	cfg.orphan_timeout = 0;
	for (int i = 0; i < 16; i++) {
		cfg.hash_key[i] = (uint8_t)netsim_mix64(s->p->seed + (uint64_t)(side * 32 + i));
		cfg.isn_secret[i] = (uint8_t)netsim_mix64(s->p->seed + (uint64_t)(side * 32 + 16 + i));
	}
	rv = ptcp_stack_new(&h->st, &cfg);
	if (rv != 0) {
		fail(s, "%s: ptcp_stack_new returned %d (%s)", side ? "B" : "A", rv, ptcp_strerror(rv));
		return false;
	}
	if (side == 1 && s->p->open == NETSIM_OPEN_ACTIVE_PASSIVE) {
		struct ptcp_endpoint any = { .family = PTCP_AF_NONE, .port = B_PORT };

		rv = ptcp_stack_listen(h->st, &h->lst, s->p->b_wildcard ? &any : &s->peer[1].local,
		                       s->p->conns, NULL, NULL);
		if (rv != 0) {
			fail(s, "B: ptcp_stack_listen returned %d (%s)", rv, ptcp_strerror(rv));
			return false;
		}
	}
	return true;
}

static bool peer_init(struct sim *s, struct peer *pe, int idx)
{
	const struct netsim_params *p = s->p;
	struct ptcp_config cfg;
	struct ptcp_endpoint a, b;
	const struct ptcp_endpoint *remote;
	int rv;

	pe->sim = s;
	pe->idx = idx;
	pe->side = idx % 2;
	pe->pair = idx / 2;
	if (s->tables)
		snprintf(pe->name, sizeof(pe->name), "%c%d", pe->side ? 'B' : 'A', pe->pair);
	else
		snprintf(pe->name, sizeof(pe->name), "%c", pe->side ? 'B' : 'A');
	/* Connection j: A's port A_PORT + j to B's B_PORT, so B's ends all
	 * share a local port and differ only in the remote one. */
	ptcp_endpoint_ipv4(&a, 0x0a000001, (uint16_t)(A_PORT + pe->pair));
	ptcp_endpoint_ipv4(&b, 0x0a000002, B_PORT);
	pe->local = pe->side ? b : a;
	pe->remote = pe->side ? a : b;
	pe->app = pe->side ? &p->b : &p->a;
	pe->expect = pe->side ? p->a.bytes : p->b.bytes;
	pe->key = netsim_mix64(p->seed * 2 + (uint64_t)idx + 1);
	pe->peer_key = netsim_mix64(p->seed * 2 + (uint64_t)(idx ^ 1) + 1);
	pe->sent_hash = pe->rcvd_hash = HASH_INIT;
	pe->rdbuf = malloc(pe->app->read_cap ? pe->app->read_cap : 1);
	pe->wrbuf = malloc(pe->app->write_max ? pe->app->write_max : 1);
	if (!pe->rdbuf || !pe->wrbuf)
		abort();
	if (s->tables)
		return true; /* the tables make the connections */

	conn_config(s, pe->side, &cfg);
	cfg.alloc = netsim_alloc_iface(&pe->alloc);
	cfg.on_event = on_event;
	cfg.user = pe;
	remote = &pe->remote;
	if (pe->side == 1 && p->open == NETSIM_OPEN_ACTIVE_PASSIVE && p->b_wildcard)
		remote = NULL;
	rv = ptcp_conn_new(&pe->c, &cfg, &pe->local, remote);
	if (rv != 0) {
		fail(s, "%s: ptcp_conn_new returned %d (%s)", pe->name, rv, ptcp_strerror(rv));
		return false;
	}
	return true;
}

static void print_stats(FILE *f, const struct peer *pe)
{
	struct ptcp_stats st;
	char local[48], remote[48];
	bool any = false;

	if (pe->c)
		ptcp_conn_stats(pe->c, &st);
	else if (pe->has_final)
		st = pe->final;
	else
		return;
	fprintf(f, "  %s %s -> %s: %s, error %d (%s)\n", pe->name,
		ptcp_endpoint_format(&pe->local, local, sizeof(local)),
		ptcp_endpoint_format(pe->c ? ptcp_conn_remote(pe->c) : &pe->remote, remote,
		                     sizeof(remote)),
		pe->c ? ptcp_state_name(ptcp_conn_state(pe->c)) : "freed",
		pe->c ? ptcp_conn_error(pe->c) : pe->close_error,
		ptcp_strerror(pe->c ? ptcp_conn_error(pe->c) : pe->close_error));
	fprintf(f,
		"    app: sent %" PRIu64 "/%" PRIu64 "%s, received %" PRIu64 "/%" PRIu64 "%s%s; "
		"engine: send pending %zu, recv ready %zu, expiry %s\n",
		pe->sent, pe->app->bytes, pe->shut ? " +shutdown" : "", pe->rcvd, pe->expect,
		pe->eof ? " +eof" : "", pe->released ? " +released" : "",
		pe->c ? ptcp_conn_send_pending(pe->c) : 0, pe->c ? ptcp_conn_recv_ready(pe->c) : 0,
		pe->c && ptcp_conn_expiry(pe->c) != PTCP_TS_NEVER ? "set" : "never");
	fprintf(f,
		"    segs in %" PRIu64 " out %" PRIu64 ", bytes in %" PRIu64 " out %" PRIu64
		", rtx %" PRIu64 " (rto %" PRIu64 ", fast %" PRIu64 "), dupacks %" PRIu64
		", challenge acks %" PRIu64 "\n",
		st.segs_in, st.segs_out, st.bytes_in, st.bytes_out, st.retransmits, st.rto_count,
		st.fast_retransmits, st.dup_acks, st.challenge_acks);
	fprintf(f,
		"    srtt %.3f ms, rttvar %.3f ms, rto %.3f ms, cwnd %" PRIu32 ", ssthresh %" PRIu32
		", snd_wnd %" PRIu32 ", rcv_wnd %" PRIu32 ", mss %u\n    drops:",
		st.srtt / 1e6, st.rttvar / 1e6, st.rto / 1e6, st.cwnd, st.ssthresh, st.snd_wnd,
		st.rcv_wnd, st.snd_mss);
	for (int d = 0; d < PTCP_DROP__COUNT; d++) {
		if (st.drops[d]) {
			fprintf(f, " %s %" PRIu64, ptcp_drop_name((enum ptcp_drop)d), st.drops[d]);
			any = true;
		}
	}
	fprintf(f, "%s\n", any ? "" : " none");
}

static void print_host(FILE *f, const struct host *h)
{
	struct ptcp_stack_stats st;

	if (!h->st)
		return;
	ptcp_stack_stats(h->st, &st);
	fprintf(f, "  table %s: %" PRIu64 " connections (%" PRIu64 " released), created %" PRIu64
		", freed %" PRIu64 ", rsts %" PRIu64 ", drops:", h->side ? "B" : "A", st.conns,
		st.released, st.created, st.freed, st.rsts_out);
	for (int d = 0; d < PTCP_STACK_DROP__COUNT; d++)
		if (st.drops[d])
			fprintf(f, " %s %" PRIu64, ptcp_stack_drop_name((enum ptcp_stack_drop)d),
				st.drops[d]);
	fputc('\n', f);
}

static void print_event(FILE *f, const struct sim *s, const struct ev_trace *t)
{
	const struct ptcp_event *ev = &t->ev;
	char who[16];

	if (!s->tables)
		snprintf(who, sizeof(who), "%s", t->side ? "B" : "A");
	else if (t->pair < 0)
		snprintf(who, sizeof(who), "%s?", t->side ? "B" : "A");
	else
		snprintf(who, sizeof(who), "%s%d", t->side ? "B" : "A", t->pair);
	fprintf(f, "  %12.6f %s ", (ev->now - SIM_EPOCH) / 1e9, who);
	switch (ev->type) {
	case PTCP_EV_STATE:
		fprintf(f, "state %s -> %s\n", ptcp_state_name(ev->from), ptcp_state_name(ev->to));
		break;
	case PTCP_EV_DROP:
		fprintf(f, "drop %s\n", ptcp_drop_name(ev->drop));
		break;
	case PTCP_EV_ISN_MISMATCH:
		fprintf(f, "isn mismatch %" PRIu32 " (%s)\n", ev->seq,
			ev->accepted ? "accepted" : "rejected");
		break;
	case PTCP_EV_RETRANSMIT:
		fprintf(f, "retransmission timeout, seq %" PRIu32 ", backoff %u\n", ev->seq,
			ev->backoff);
		break;
	case PTCP_EV_FAST_RETRANSMIT:
		fprintf(f, "fast retransmit, seq %" PRIu32 "\n", ev->seq);
		break;
	case PTCP_EV_CLOSED:
		fprintf(f, "closed, error %d (%s)\n", ev->error, ptcp_strerror(ev->error));
		break;
	default:
		fprintf(f, "event %d\n", (int)ev->type);
		break;
	}
}

static void print_trace(struct sim *s, FILE *f)
{
	static const char *const fates[] = { "", " (corrupted)", " LOST", " QUEUE-DROP" };
	uint64_t i = s->n_segs > SEG_RING ? s->n_segs - SEG_RING : 0;

	fprintf(f, "  last %" PRIu64 " segments (time in s since open):\n", s->n_segs - i);
	for (; i < s->n_segs; i++) {
		const struct seg_trace *t = &s->segs[i % SEG_RING];
		struct ptcp_segment seg;
		char line[256];

		if (ptcp_segment_parse(&seg, t->hdr, t->hdrlen, NULL, NULL) == 0) {
			size_t hl = ptcp_segment_header_len(&seg);

			seg.len = t->len > hl ? t->len - hl : 0;
			ptcp_segment_format(&seg, line, sizeof(line));
		} else {
			snprintf(line, sizeof(line), "(%" PRIu32 " bytes, not parsable)", t->len);
		}
		fprintf(f, "  %12.6f %s %s%s\n", (t->at - SIM_EPOCH) / 1e9, t->from ? "B>A" : "A>B",
			line, fates[t->fate]);
	}
	i = s->n_evs > EV_RING ? s->n_evs - EV_RING : 0;
	fprintf(f, "  last %" PRIu64 " engine events:\n", s->n_evs - i);
	for (; i < s->n_evs; i++)
		print_event(f, s, &s->evs[i % EV_RING]);
}

static void collect(struct sim *s)
{
	for (size_t i = 0; i < s->n_peer; i++) {
		struct peer *pe = &s->peer[i];
		struct ptcp_stats st;

		if (pe->c)
			ptcp_conn_stats(pe->c, &st);
		else if (pe->has_final)
			st = pe->final;
		else
			continue;
		s->r->retransmits += st.retransmits;
		s->r->rtos += st.rto_count;
		s->r->fast_retransmits += st.fast_retransmits;
		s->r->recoveries += st.recoveries;
		s->r->loss_probes += st.loss_probes;
		s->r->undos += st.undos;
		/* moved[0] counts A -> B: what the B ends received. */
		s->r->moved[!pe->side] += pe->rcvd;
	}
}

/* The end state: every connection CLOSED cleanly (with tables: and
 * freed), every byte across, both hashes equal. */
static void check_end(struct sim *s)
{
	for (size_t i = 0; i < s->n_peer && !s->failed; i++) {
		struct peer *pe = &s->peer[i], *other = &s->peer[i ^ 1];

		if (pe->c && ptcp_conn_state(pe->c) != PTCP_CLOSED)
			fail(s, "%s ended in %s, not CLOSED", pe->name,
			     ptcp_state_name(ptcp_conn_state(pe->c)));
		else if (s->tables && pe->c)
			fail(s, "%s: CLOSED but still in the table", pe->name);
		else if (!pe->closed_seen)
			fail(s, "%s reached CLOSED without a PTCP_EV_CLOSED event", pe->name);
		else if (pe->close_error != 0)
			fail(s, "%s closed with error %d (%s)", pe->name, pe->close_error,
			     ptcp_strerror(pe->close_error));
		else if (pe->sent != pe->app->bytes)
			fail(s, "%s wrote only %" PRIu64 " of %" PRIu64 " bytes", pe->name, pe->sent,
			     pe->app->bytes);
		else if (!other->eof)
			fail(s, "%s never saw the end of %s's stream", other->name, pe->name);
		else if (other->rcvd != pe->sent || other->rcvd_hash != pe->sent_hash)
			fail(s, "%s received %" PRIu64 " bytes hash %016" PRIx64 ", %s sent %" PRIu64
			     " hash %016" PRIx64, other->name, other->rcvd, other->rcvd_hash,
			     pe->name, pe->sent, pe->sent_hash);
	}
	for (int h = 0; h < 2 && s->tables && !s->failed; h++) {
		struct ptcp_stack_stats st;

		ptcp_stack_stats(s->host[h].st, &st);
		if (st.conns != 0 || st.created != st.freed)
			fail(s, "table %s holds %" PRIu64 " connections at the end", h ? "B" : "A",
			     st.conns);
	}
}

static ptcp_ts side_expiry(const struct sim *s, int side)
{
	if (s->tables)
		return ptcp_stack_expiry(s->host[side].st);
	return ptcp_conn_expiry(s->peer[side].c);
}

/* Whether everything is over: no connection left to run, no reader
 * waiting. What is still in flight meets closed doors. */
static bool all_done(const struct sim *s)
{
	for (size_t i = 0; i < s->n_peer; i++) {
		const struct peer *pe = &s->peer[i];

		if (pe->read_armed)
			return false;
		if (s->tables ? pe->c != NULL || !pe->released : ptcp_conn_state(pe->c) != PTCP_CLOSED)
			return false;
	}
	return true;
}

/* A's congestion state, one line (netsim_params.trace_every). */
static void trace_state(const struct sim *s)
{
	struct ptcp_stats st;

	ptcp_conn_stats(s->peer[0].c, &st);
	fprintf(stderr,
		"t=%8.3f cwnd %8u pipe %8u rate %6.1f Mbit/s pacing %6.1f btlbw %6.1f min_rtt %6.2f ms"
		" state %u rtx %6" PRIu64 " dsack %5" PRIu64 " rto %3" PRIu64 " rec %5" PRIu64 " snd_wnd %8u sent %9" PRIu64 "\n",
		(s->now - SIM_EPOCH) / 1e9, st.cwnd, st.pipe, st.delivery_rate * 8 / 1e6,
		st.pacing_rate * 8 / 1e6, st.bbr_btlbw * 8 / 1e6, st.bbr_min_rtt / 1e6, st.bbr_state,
		st.retransmits, st.dsacks, st.rto_count, st.recoveries, st.snd_wnd, st.bytes_out);
}

static void sim_loop(struct sim *s)
{
	const struct netsim_params *p = s->p;
	ptcp_ts limit = SIM_EPOCH + p->max_time, next_trace = SIM_EPOCH;

	while (!s->failed) {
		ptcp_ts ta = side_expiry(s, 0);
		ptcp_ts tb = side_expiry(s, 1);
		ptcp_ts th = s->q.n ? s->q.v[0].at : PTCP_TS_NEVER;
		ptcp_ts t = ptcp_ts_min(th, ptcp_ts_min(ta, tb));

		if (all_done(s))
			return;
		if (t == PTCP_TS_NEVER) {
			if (s->tables)
				fail(s, "stalled: no segment in flight and no timer");
			else
				fail(s, "stalled: no segment in flight and no timer, A %s, B %s",
				     ptcp_state_name(ptcp_conn_state(s->peer[0].c)),
				     ptcp_state_name(ptcp_conn_state(s->peer[1].c)));
			return;
		}
		if (t > limit) {
			fail(s, "virtual time limit of %.0f s reached", p->max_time / 1e9);
			return;
		}
		if (++s->r->events > p->max_events) {
			fail(s, "event limit of %" PRIu64 " reached", p->max_events);
			return;
		}
		s->now = t;
		if (p->trace_every && !s->tables && t >= next_trace) {
			trace_state(s);
			next_trace = t + p->trace_every;
		}
		if (th == t) {
			struct event e;
			struct peer *pe;

			heap_pop(&s->q, &e);
			switch (e.kind) {
			case EV_DELIVER:
				deliver(s, &e);
				free(e.buf);
				break;
			case EV_READ:
				pe = &s->peer[e.peer];
				pe->read_armed = false;
				app_read(s, pe, false);
				service(s, pe->side, pe);
				break;
			case EV_OPEN_B:
				open_side(s, 1);
				break;
			}
		} else {
			int side = ta == t ? 0 : 1;
			int rv = s->tables ? ptcp_stack_handle_expiry(s->host[side].st, s->now)
			                   : ptcp_conn_handle_expiry(s->peer[side].c, s->now);

			if (rv != 0)
				fail(s, "%s: handle_expiry returned %d", side ? "B" : "A", rv);
			else if (side_expiry(s, side) <= s->now)
				fail(s, "%s: timer still due after handle_expiry", side ? "B" : "A");
			service(s, side, s->tables ? NULL : &s->peer[side]);
		}
	}
}

/* Frees what the run allocated and checks the engines gave back every
 * byte. */
static void teardown(struct sim *s, FILE *diag)
{
	struct netsim_alloc *allocs[2 + 2 * 64];
	const char *names[2 + 2 * 64];
	size_t n = 0;
	bool was_failed = s->failed;

	for (size_t i = 0; i < s->n_peer; i++) {
		if (!s->tables) {
			ptcp_conn_free(s->peer[i].c);
			allocs[n] = &s->peer[i].alloc;
			names[n++] = s->peer[i].name;
		}
		free(s->peer[i].rdbuf);
		free(s->peer[i].wrbuf);
	}
	for (int h = 0; h < 2 && s->tables; h++) {
		ptcp_stack_free(s->host[h].st);
		allocs[n] = &s->host[h].alloc;
		names[n++] = h ? "table B" : "table A";
	}
	for (size_t i = 0; i < n; i++) {
		if (allocs[i]->live_bytes || allocs[i]->live_blocks)
			fail(s, "%s: %zu bytes in %lu blocks not freed", names[i], allocs[i]->live_bytes,
			     allocs[i]->live_blocks);
		if (allocs[i]->bad_frees)
			fail(s, "%s: %lu frees with a wrong size or pointer", names[i],
			     allocs[i]->bad_frees);
	}
	if (!was_failed && s->failed && diag)
		fprintf(diag, "netsim failure: %s\n", s->r->why);
}

bool netsim_run(const struct netsim_params *p, struct netsim_result *r, FILE *diag)
{
	struct sim *s = calloc(1, sizeof(*s));
	bool ok = true;

	if (!s)
		abort();
	memset(r, 0, sizeof(*r));
	s->p = p;
	s->r = r;
	s->now = SIM_EPOCH;
	s->tables = p->conns > 0;
	s->n_peer = s->tables ? 2 * (size_t)p->conns : 2;
	netsim_rng_seed(&s->rng, p->seed);
	if (p->conns > NETSIM_MAX_CONNS) {
		fail(s, "at most %d connections", NETSIM_MAX_CONNS);
		s->n_peer = 0;
		ok = false;
	}
	s->peer = calloc(s->n_peer ? s->n_peer : 1, sizeof(*s->peer));
	if (!s->peer)
		abort();
	for (size_t i = 0; i < s->n_peer && ok; i++)
		ok = peer_init(s, &s->peer[i], (int)i);
	for (int h = 0; h < 2 && s->tables && ok; h++)
		ok = host_init(s, h);
	if (ok) {
		if (p->open == NETSIM_OPEN_ACTIVE_PASSIVE) {
			if (!s->tables)
				open_peer(s, &s->peer[1], false);
			open_side(s, 0);
		} else if (p->b_open_at == 0) {
			open_side(s, 0);
			open_side(s, 1);
		} else {
			struct event e = { .kind = EV_OPEN_B, .side = 1, .at = s->now + p->b_open_at };

			heap_push(s, &e);
			open_side(s, 0);
		}
		sim_loop(s);
		if (!s->failed)
			check_end(s);
	}
	r->vtime = s->now - SIM_EPOCH;
	collect(s);
	if (s->failed && diag) {
		fprintf(diag, "netsim failure: %s\n", r->why);
		netsim_params_print(p, diag);
		print_trace(s, diag);
		for (size_t i = 0; i < s->n_peer; i++)
			print_stats(diag, &s->peer[i]);
		print_host(diag, &s->host[0]);
		print_host(diag, &s->host[1]);
	}
	teardown(s, diag);
	for (size_t i = 0; i < s->q.n; i++)
		free(s->q.v[i].buf);
	free(s->q.v);
	free(s->peer);
	r->ok = !s->failed;
	free(s);
	return r->ok;
}
