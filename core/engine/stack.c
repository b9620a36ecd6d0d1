/* The connection table: see stack.h.
 *
 * Every connection has an entry that links it into
 *   - a hash table of 4-tuples (chains, keyed SipHash, doubled when the
 *     table holds more connections than buckets),
 *   - the timer heap: a binary min-heap of entries keyed by the
 *     connection's deadline, each entry knowing its index so a change is
 *     one sift (O(log n)),
 *   - the output queue: the connections that may have a segment to send,
 *     in round-robin order,
 *   - its listener's half-open list or accept queue (passive ones),
 *   - the dirty list: entries to settle (deadline, output, release) once
 *     the call that touched them has returned.
 *
 * Connection events arrive while the engine is in the middle of a call, so
 * the event handler only bookkeeps and marks the entry dirty; everything
 * that calls back into a connection or frees one happens afterwards, when
 * the public call leaves (leave()) or in ptcp_stack_output(). */
#include "stack.h"

#include <string.h>

#include "error.h"
#include "isn.h"
#include "segment.h"

#define NO_INDEX ((size_t)-1)
#define INITIAL_BUCKETS 16
#define INITIAL_HEAP 16
#define RST_QUEUE 16               /* the table's RSTs waiting for output */

enum {
	LINK_OUT = 0,    /* the output queue */
	LINK_LISTENER,   /* a listener's half-open list or accept queue */
	LINK__COUNT
};

/* Where a passive connection stands with its listener. */
enum lstate {
	L_NONE = 0,      /* active, accepted, or detached */
	L_HALF,          /* half-open: counted against the backlog */
	L_QUEUED,        /* ESTABLISHED (or later), waiting for accept */
};

struct entry;

struct link {
	struct entry *prev, *next;
};

struct elist {
	struct entry *head, *tail;
	size_t len;
};

struct entry {
	struct ptcp_stack *st;
	struct ptcp_conn *c;
	void *user;
	uint64_t hash;             /* ptcp_tuple_hash() of its 4-tuple */
	struct entry *hnext;       /* hash chain */
	size_t heap_idx;           /* index in st->heap, NO_INDEX when not in it */
	ptcp_ts key;               /* the deadline the heap holds */
	ptcp_ts orphan_at;         /* released: abort at this time unless done */
	struct link links[LINK__COUNT];
	bool in_list[LINK__COUNT];
	struct entry *dirty_next;
	bool dirty;
	struct ptcp_listener *listener; /* until accepted */
	enum lstate lstate;
	enum ptcp_state state;     /* as the last state event said */
	bool released;             /* the owner is done with it */
	bool release_done;         /* ... and its shutdown was issued */
	uint64_t mem;              /* bytes the connection allocated */
};

struct ptcp_listener {
	struct ptcp_stack *st;
	struct ptcp_listener *next;
	struct ptcp_endpoint local;
	unsigned backlog;
	struct elist half;         /* L_HALF entries */
	struct elist queue;        /* L_QUEUED entries, oldest first */
	struct ptcp_config cfg;
	void *user;
};

/* A RST the table answers an unmatched segment with. */
struct rst_slot {
	struct ptcp_endpoint src, dst;
	struct ptcp_segment seg;
};

struct ptcp_stack {
	struct ptcp_stack_config cfg;
	struct entry **buckets;
	size_t n_buckets;          /* a power of two */
	size_t n_conns;
	struct entry **heap;
	size_t n_heap, cap_heap;
	struct elist out;
	struct entry *dirty;
	struct ptcp_listener *listeners;
	struct rst_slot rst[RST_QUEUE];
	unsigned rst_head, rst_len;
	bool rst_turn;             /* the next output turn is the RSTs' */
	unsigned busy;             /* nesting depth of public calls */
	struct entry *creating;    /* the entry whose connection is being made */
	int refused;               /* why the allocator refused it, or 0 */
	/* the 4-tuple of the last segment in and its hash: a bulk transfer
	 * sends one tuple after another, and SipHash is the dearest part of
	 * a lookup */
	struct ptcp_endpoint last_local, last_remote;
	uint64_t last_hash;
	bool last_valid;
	struct ptcp_stack_stats st;
};

const char *ptcp_stack_drop_name(enum ptcp_stack_drop d)
{
	static const char *const names[] = {
		[PTCP_STACK_DROP_MALFORMED] = "malformed",
		[PTCP_STACK_DROP_CHECKSUM] = "bad-checksum",
		[PTCP_STACK_DROP_NO_MATCH] = "no-match",
		[PTCP_STACK_DROP_BACKLOG] = "backlog-full",
		[PTCP_STACK_DROP_CONN_LIMIT] = "connection-limit",
		[PTCP_STACK_DROP_MEM_LIMIT] = "memory-limit",
		[PTCP_STACK_DROP_RST_QUEUE] = "rst-queue-full",
	};
	if ((unsigned)d >= PTCP_STACK_DROP__COUNT)
		return "?";
	return names[d];
}

void ptcp_stack_config_default(struct ptcp_stack_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	ptcp_config_default(&cfg->conn);
	cfg->max_conns = 1024;
	cfg->max_mem = 512ULL << 20;
	cfg->max_conn_mem = 4ULL << 20;
	cfg->reset_unmatched = true;
	cfg->orphan_timeout = 60 * PTCP_NS_PER_S;
}

/* ------------------------------------------------------------- memory */

static void *table_alloc(struct ptcp_stack *st, size_t size)
{
	void *p = st->cfg.alloc.alloc(st->cfg.alloc.ctx, size);

	if (p)
		st->st.mem_table += size;
	return p;
}

static void table_free(struct ptcp_stack *st, void *p, size_t size)
{
	if (!p)
		return;
	st->st.mem_table -= size;
	st->cfg.alloc.free(st->cfg.alloc.ctx, p, size);
}

/* The allocator the connections get: it counts what they hold and
 * refuses what would pass a bound, noting which one. */
static void *conn_mem_alloc(void *ctx, size_t size)
{
	struct ptcp_stack *st = ctx;
	struct entry *e = st->creating;
	void *p;

	if (size > st->cfg.max_mem - st->st.mem_conns || (e && size > st->cfg.max_conn_mem - e->mem)) {
		st->refused = PTCP_ERR_MEM_LIMIT;
		return NULL;
	}
	p = st->cfg.alloc.alloc(st->cfg.alloc.ctx, size);
	if (!p)
		return NULL;
	st->st.mem_conns += size;
	if (e)
		e->mem += size;
	return p;
}

static void conn_mem_free(void *ctx, void *p, size_t size)
{
	struct ptcp_stack *st = ctx;

	st->st.mem_conns -= size;
	st->cfg.alloc.free(st->cfg.alloc.ctx, p, size);
}

static void *refuse_alloc(void *ctx, size_t size)
{
	(void)ctx;
	(void)size;
	return NULL;
}

static void refuse_free(void *ctx, void *p, size_t size)
{
	(void)ctx;
	(void)p;
	(void)size;
}

/* Whether ptcp_conn_new() takes cfg, without allocating: with an
 * allocator that refuses everything a valid config gets as far as
 * PTCP_ERR_NOMEM. */
static bool conn_config_ok(const struct ptcp_config *cfg)
{
	struct ptcp_config c = *cfg;
	struct ptcp_endpoint ep;
	struct ptcp_conn *conn;

	c.alloc = (struct ptcp_alloc){ refuse_alloc, refuse_free, NULL };
	ptcp_endpoint_ipv4(&ep, 0, 1);
	return ptcp_conn_new(&conn, &c, &ep, NULL) == PTCP_ERR_NOMEM;
}

/* ---------------------------------------------------------------- lists */

static void list_append(struct elist *l, struct entry *e, int which)
{
	struct link *k = &e->links[which];

	k->prev = l->tail;
	k->next = NULL;
	if (l->tail)
		l->tail->links[which].next = e;
	else
		l->head = e;
	l->tail = e;
	l->len++;
	e->in_list[which] = true;
}

static void list_remove(struct elist *l, struct entry *e, int which)
{
	struct link *k = &e->links[which];

	if (!e->in_list[which])
		return;
	if (k->prev)
		k->prev->links[which].next = k->next;
	else
		l->head = k->next;
	if (k->next)
		k->next->links[which].prev = k->prev;
	else
		l->tail = k->prev;
	k->prev = k->next = NULL;
	l->len--;
	e->in_list[which] = false;
}

/* ------------------------------------------------------------ the heap */

static void heap_place(struct ptcp_stack *st, size_t i, struct entry *e)
{
	st->heap[i] = e;
	e->heap_idx = i;
}

static void sift_up(struct ptcp_stack *st, size_t i)
{
	struct entry *e = st->heap[i];

	while (i > 0 && e->key < st->heap[(i - 1) / 2]->key) {
		heap_place(st, i, st->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_place(st, i, e);
}

static void sift_down(struct ptcp_stack *st, size_t i)
{
	struct entry *e = st->heap[i];

	for (;;) {
		size_t l = 2 * i + 1, m = l;

		if (l >= st->n_heap)
			break;
		if (l + 1 < st->n_heap && st->heap[l + 1]->key < st->heap[l]->key)
			m = l + 1;
		if (st->heap[m]->key >= e->key)
			break;
		heap_place(st, i, st->heap[m]);
		i = m;
	}
	heap_place(st, i, e);
}

static void heap_remove(struct ptcp_stack *st, struct entry *e)
{
	size_t i = e->heap_idx;
	struct entry *last;

	if (i == NO_INDEX)
		return;
	e->heap_idx = NO_INDEX;
	last = st->heap[--st->n_heap];
	if (last == e)
		return;
	heap_place(st, i, last);
	sift_up(st, i);
	sift_down(st, last->heap_idx);
}

/* Gives e the deadline key. The heap has room for every entry (see
 * reserve_entry), so this never allocates. */
static void heap_update(struct ptcp_stack *st, struct entry *e, ptcp_ts key)
{
	if (key == PTCP_TS_NEVER) {
		heap_remove(st, e);
		e->key = key;
		return;
	}
	if (e->heap_idx == NO_INDEX) {
		e->key = key;
		heap_place(st, st->n_heap++, e);
		sift_up(st, e->heap_idx);
		return;
	}
	if (key == e->key)
		return;
	e->key = key;
	sift_up(st, e->heap_idx);
	sift_down(st, e->heap_idx);
}

static void resched(struct ptcp_stack *st, struct entry *e)
{
	heap_update(st, e, ptcp_ts_min(ptcp_conn_expiry(e->c), e->orphan_at));
}

/* ------------------------------------------------------- the hash table */

static uint64_t tuple_hash(const struct ptcp_stack *st, const struct ptcp_endpoint *local,
                           const struct ptcp_endpoint *remote)
{
	return ptcp_tuple_hash(st->cfg.hash_key, local, remote);
}

/* tuple_hash() of a segment's tuple (or a looked-up one), remembered for
 * the next one. */
static uint64_t input_hash(struct ptcp_stack *st, const struct ptcp_endpoint *local,
			   const struct ptcp_endpoint *remote)
{
	if (!st->last_valid || !ptcp_endpoint_equal(&st->last_local, local) ||
	    !ptcp_endpoint_equal(&st->last_remote, remote)) {
		st->last_local = *local;
		st->last_remote = *remote;
		st->last_hash = tuple_hash(st, local, remote);
		st->last_valid = true;
	}
	return st->last_hash;
}

static struct entry *lookup(const struct ptcp_stack *st, const struct ptcp_endpoint *local,
                            const struct ptcp_endpoint *remote, uint64_t h)
{
	struct entry *e;

	for (e = st->buckets[h & (st->n_buckets - 1)]; e; e = e->hnext)
		if (e->hash == h && ptcp_endpoint_equal(ptcp_conn_local(e->c), local) &&
		    ptcp_endpoint_equal(ptcp_conn_remote(e->c), remote))
			return e;
	return NULL;
}

static void conn_event(void *user, struct ptcp_conn *c, const struct ptcp_event *ev);

/* The entry of c, if c is a connection of this table: the one create()
 * gave it as its event user, so no hash per call (this is on every
 * segment's path, several times). */
static struct entry *entry_of(const struct ptcp_stack *st, const struct ptcp_conn *c)
{
	struct entry *e;

	if (!st || !c)
		return NULL;
	e = ptcp_conn_event_user(c, conn_event);
	return e && e->st == st && e->c == c ? e : NULL;
}

static void hash_insert(struct ptcp_stack *st, struct entry *e)
{
	struct entry **b = &st->buckets[e->hash & (st->n_buckets - 1)];

	e->hnext = *b;
	*b = e;
}

static void hash_remove(struct ptcp_stack *st, struct entry *e)
{
	struct entry **p = &st->buckets[e->hash & (st->n_buckets - 1)];

	while (*p && *p != e)
		p = &(*p)->hnext;
	if (*p)
		*p = e->hnext;
}

/* Doubles the buckets once there are more connections than buckets. If
 * that allocation fails the chains just grow longer. */
static void hash_grow(struct ptcp_stack *st)
{
	size_t n = st->n_buckets * 2, i;
	struct entry **b, *e, *next;

	if (st->n_conns <= st->n_buckets || n > SIZE_MAX / sizeof(*b))
		return;
	b = table_alloc(st, n * sizeof(*b));
	if (!b)
		return;
	memset(b, 0, n * sizeof(*b));
	for (i = 0; i < st->n_buckets; i++) {
		for (e = st->buckets[i]; e; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	table_free(st, st->buckets, st->n_buckets * sizeof(*b));
	st->buckets = b;
	st->n_buckets = n;
}

/* ------------------------------------------------------------- events */

static void notify(struct ptcp_stack *st, struct entry *e, enum ptcp_stack_event_type type,
                  const struct ptcp_event *ev, ptcp_ts now)
{
	struct ptcp_stack_event sev = {
		.type = type,
		.now = now,
		.conn = e->c,
		.conn_user = e->user,
		.listener = e->listener,
		.listener_user = e->listener ? e->listener->user : NULL,
		.ev = ev,
	};

	if (st->cfg.on_event)
		st->cfg.on_event(st->cfg.user, st, &sev);
}

static void mark(struct ptcp_stack *st, struct entry *e)
{
	if (e->dirty)
		return;
	e->dirty = true;
	e->dirty_next = st->dirty;
	st->dirty = e;
}

/* A passive connection leaves its listener's lists. */
static void detach(struct entry *e)
{
	struct ptcp_listener *l = e->listener;

	if (!l)
		return;
	if (e->lstate == L_HALF)
		list_remove(&l->half, e, LINK_LISTENER);
	else if (e->lstate == L_QUEUED)
		list_remove(&l->queue, e, LINK_LISTENER);
	e->lstate = L_NONE;
	e->listener = NULL;
}

/* The owner will never see e (a half-open connection that died, one of a
 * closed listener): it goes as soon as it is CLOSED. */
static void orphan(struct ptcp_stack *st, struct entry *e)
{
	if (!e->released)
		st->st.released++;
	e->released = true;
	e->release_done = true;
	e->user = NULL;
}

static void conn_event(void *user, struct ptcp_conn *c, const struct ptcp_event *ev)
{
	struct entry *e = user;
	struct ptcp_stack *st = e->st;
	bool acceptable = false, dead = false;

	(void)c;
	if (ev->type == PTCP_EV_STATE) {
		st->st.by_state[e->state]--;
		st->st.by_state[ev->to]++;
		e->state = ev->to;
		if (e->lstate == L_HALF && ev->to >= PTCP_ESTABLISHED) {
			/* The handshake completed: into the accept queue. */
			list_remove(&e->listener->half, e, LINK_LISTENER);
			list_append(&e->listener->queue, e, LINK_LISTENER);
			e->lstate = L_QUEUED;
			acceptable = true;
		} else if (e->lstate == L_HALF &&
		           (ev->to == PTCP_CLOSED || (ev->to == PTCP_LISTEN && ev->from != PTCP_CLOSED))) {
			/* A RST, a new SYN (back to LISTEN: RFC 9293 3.10.7.4)
			 * or the SYN-ACK's retransmissions ran out. */
			dead = true;
		}
	}
	mark(st, e);
	notify(st, e, PTCP_STACK_EV_CONN, ev, ev->now);
	if (acceptable)
		notify(st, e, PTCP_STACK_EV_ACCEPTABLE, NULL, ev->now);
	if (dead) {
		detach(e);
		orphan(st, e);
	}
}

/* ---------------------------------------------------------- lifecycle */

int ptcp_stack_new(struct ptcp_stack **out, const struct ptcp_stack_config *cfg)
{
	struct ptcp_stack *st;

	if (!out)
		return PTCP_ERR_INVAL;
	*out = NULL;
	if (!cfg || !cfg->alloc.alloc || !cfg->alloc.free || cfg->max_conns == 0 ||
	    cfg->max_mem == 0 || cfg->max_conn_mem == 0 || !conn_config_ok(&cfg->conn))
		return PTCP_ERR_INVAL;
	st = cfg->alloc.alloc(cfg->alloc.ctx, sizeof(*st));
	if (!st)
		return PTCP_ERR_NOMEM;
	memset(st, 0, sizeof(*st));
	st->cfg = *cfg;
	st->st.mem_table = sizeof(*st);
	st->buckets = table_alloc(st, INITIAL_BUCKETS * sizeof(*st->buckets));
	st->heap = table_alloc(st, INITIAL_HEAP * sizeof(*st->heap));
	if (!st->buckets || !st->heap) {
		ptcp_stack_free(st);
		return PTCP_ERR_NOMEM;
	}
	memset(st->buckets, 0, INITIAL_BUCKETS * sizeof(*st->buckets));
	st->n_buckets = INITIAL_BUCKETS;
	st->cap_heap = INITIAL_HEAP;
	*out = st;
	return 0;
}

/* Unlinks e from everything and frees it with its connection. */
static void free_entry(struct ptcp_stack *st, struct entry *e, bool announce, ptcp_ts now)
{
	if (announce)
		notify(st, e, PTCP_STACK_EV_FREED, NULL, now);
	if (e->dirty) {
		struct entry **p = &st->dirty;

		while (*p != e)
			p = &(*p)->dirty_next;
		*p = e->dirty_next;
	}
	hash_remove(st, e);
	heap_remove(st, e);
	list_remove(&st->out, e, LINK_OUT);
	detach(e);
	st->st.by_state[e->state]--;
	st->st.released -= e->released;
	st->st.freed++;
	st->n_conns--;
	ptcp_conn_free(e->c);
	table_free(st, e, sizeof(*e));
}

void ptcp_stack_free(struct ptcp_stack *st)
{
	struct ptcp_listener *l, *next;
	size_t i;

	if (!st)
		return;
	for (i = 0; st->buckets && i < st->n_buckets; i++)
		while (st->buckets[i])
			free_entry(st, st->buckets[i], false, 0);
	for (l = st->listeners; l; l = next) {
		next = l->next;
		table_free(st, l, sizeof(*l));
	}
	table_free(st, st->buckets, st->n_buckets * sizeof(*st->buckets));
	table_free(st, st->heap, st->cap_heap * sizeof(*st->heap));
	st->cfg.alloc.free(st->cfg.alloc.ctx, st, sizeof(*st));
}

/* Makes sure the heap can hold one more entry, so that heap_update()
 * never has to allocate. */
static int reserve_entry(struct ptcp_stack *st)
{
	size_t cap = st->cap_heap * 2;
	struct entry **h;

	if (st->n_conns < st->cap_heap)
		return 0;
	if (cap > SIZE_MAX / sizeof(*h))
		return PTCP_ERR_NOMEM;
	h = table_alloc(st, cap * sizeof(*h));
	if (!h)
		return PTCP_ERR_NOMEM;
	memcpy(h, st->heap, st->n_heap * sizeof(*h));
	table_free(st, st->heap, st->cap_heap * sizeof(*h));
	st->heap = h;
	st->cap_heap = cap;
	return 0;
}

/* A new connection in CLOSED with its entry, in the hash table. */
static int create(struct ptcp_stack *st, struct entry **out, const struct ptcp_config *cfg,
                  const struct ptcp_endpoint *local, const struct ptcp_endpoint *remote, uint64_t h,
                  void *user)
{
	struct ptcp_config c = *cfg;
	struct entry *e;
	int rv;

	if (st->n_conns >= st->cfg.max_conns)
		return PTCP_ERR_CONN_LIMIT;
	if ((rv = reserve_entry(st)) != 0)
		return rv;
	e = table_alloc(st, sizeof(*e));
	if (!e)
		return PTCP_ERR_NOMEM;
	memset(e, 0, sizeof(*e));
	e->st = st;
	e->user = user;
	e->hash = h;
	e->heap_idx = NO_INDEX;
	e->key = PTCP_TS_NEVER;
	e->orphan_at = PTCP_TS_NEVER;
	e->state = PTCP_CLOSED;
	c.alloc = (struct ptcp_alloc){ conn_mem_alloc, conn_mem_free, st };
	c.on_event = conn_event;
	c.user = e;
	st->creating = e;
	st->refused = 0;
	rv = ptcp_conn_new(&e->c, &c, local, remote);
	st->creating = NULL;
	if (rv != 0) {
		table_free(st, e, sizeof(*e));
		return rv == PTCP_ERR_NOMEM && st->refused ? st->refused : rv;
	}
	hash_insert(st, e);
	st->n_conns++;
	st->st.by_state[PTCP_CLOSED]++;
	st->st.created++;
	hash_grow(st);
	*out = e;
	return 0;
}

/* ------------------------------------------------------------ settling */

static bool reapable(const struct entry *e)
{
	return e->released && (e->state == PTCP_CLOSED || e->state == PTCP_LISTEN);
}

/* What follows any activity of e, outside the engine's call stack: the
 * release's shutdown (or abort: unread data, RFC 1122 4.2.2.13), the
 * deadline, and a place in the output queue. */
static void settle(struct ptcp_stack *st, struct entry *e, ptcp_ts now)
{
	if (e->released && e->state != PTCP_CLOSED && ptcp_conn_recv_ready(e->c) > 0) {
		e->release_done = true;
		ptcp_conn_abort(e->c, now);
	} else if (e->released && !e->release_done) {
		e->release_done = true;
		(void)ptcp_conn_shutdown(e->c, now); /* PTCP_ERR_CLOSED: done before */
	}
	resched(st, e);
	if (!e->in_list[LINK_OUT])
		list_append(&st->out, e, LINK_OUT);
}

static void enter(struct ptcp_stack *st)
{
	st->busy++;
}

/* Ends a public call. The outermost one settles what became dirty
 * (settling may raise events that dirty more: the loop takes them too). */
static void leave(struct ptcp_stack *st, ptcp_ts now)
{
	struct entry *e;

	if (st->busy > 1) {
		st->busy--;
		return;
	}
	while ((e = st->dirty) != NULL) {
		st->dirty = e->dirty_next;
		e->dirty = false;
		settle(st, e, now);
	}
	st->busy = 0;
}

/* ------------------------------------------------------------ listeners */

static size_t addr_len(uint8_t family)
{
	return family == PTCP_AF_INET ? 4 : 16;
}

static bool addr_any(const struct ptcp_endpoint *ep)
{
	uint8_t d = 0;

	for (size_t i = 0; i < addr_len(ep->family); i++)
		d |= ep->addr[i];
	return d == 0;
}

/* How well listener address la covers local address a: 3 exactly, 2 as
 * the any-address of its family, 1 as the any-address of both, 0 not. */
static int listen_rank(const struct ptcp_endpoint *la, const struct ptcp_endpoint *a)
{
	struct ptcp_endpoint x;

	if (la->family == PTCP_AF_NONE)
		return 1;
	if (la->family != a->family)
		return 0;
	if (addr_any(la))
		return 2;
	x = *a;
	x.port = la->port;
	return ptcp_endpoint_equal(la, &x) ? 3 : 0;
}

static struct ptcp_listener *find_listener(const struct ptcp_stack *st,
                                           const struct ptcp_endpoint *local)
{
	struct ptcp_listener *l, *best = NULL;
	int best_rank = 0;

	for (l = st->listeners; l; l = l->next) {
		int r = l->local.port == local->port ? listen_rank(&l->local, local) : 0;

		if (r > best_rank) {
			best = l;
			best_rank = r;
		}
	}
	return best;
}

static bool listener_of(const struct ptcp_stack *st, const struct ptcp_listener *l)
{
	const struct ptcp_listener *p;

	for (p = st ? st->listeners : NULL; p; p = p->next)
		if (p == l)
			return true;
	return false;
}

static bool same_listen_address(const struct ptcp_endpoint *a, const struct ptcp_endpoint *b)
{
	struct ptcp_endpoint x;

	if (a->family == PTCP_AF_NONE || b->family == PTCP_AF_NONE)
		return a->family == b->family && a->port == b->port;
	x = *b;
	x.port = a->port;
	return a->port == b->port && ptcp_endpoint_equal(a, &x);
}

int ptcp_stack_listen(struct ptcp_stack *st, struct ptcp_listener **out,
                      const struct ptcp_endpoint *local, unsigned backlog,
                      const struct ptcp_config *cfg, void *user)
{
	struct ptcp_listener *l;

	if (!st || !out || !local)
		return PTCP_ERR_INVAL;
	*out = NULL;
	if (!cfg)
		cfg = &st->cfg.conn;
	if (local->port == 0 || backlog == 0 ||
	    (local->family != PTCP_AF_NONE && local->family != PTCP_AF_INET &&
	     local->family != PTCP_AF_INET6) ||
	    !conn_config_ok(cfg))
		return PTCP_ERR_INVAL;
	for (l = st->listeners; l; l = l->next)
		if (same_listen_address(&l->local, local))
			return PTCP_ERR_EXISTS;
	l = table_alloc(st, sizeof(*l));
	if (!l)
		return PTCP_ERR_NOMEM;
	memset(l, 0, sizeof(*l));
	l->st = st;
	l->local = *local;
	l->backlog = backlog;
	l->cfg = *cfg;
	l->user = user;
	l->next = st->listeners;
	st->listeners = l;
	st->st.listeners++;
	*out = l;
	return 0;
}

/* Aborts and lets go of every connection in list (of a closing listener). */
static void abort_all(struct ptcp_stack *st, struct elist *list, ptcp_ts now)
{
	struct entry *e;

	while ((e = list->head) != NULL) {
		detach(e);
		orphan(st, e);
		ptcp_conn_abort(e->c, now);
		mark(st, e);
	}
}

int ptcp_stack_listen_close(struct ptcp_stack *st, struct ptcp_listener *l, ptcp_ts now)
{
	struct ptcp_listener **p;

	if (!listener_of(st, l))
		return PTCP_ERR_NOTFOUND;
	enter(st);
	abort_all(st, &l->half, now);
	abort_all(st, &l->queue, now);
	for (p = &st->listeners; *p != l; p = &(*p)->next)
		;
	*p = l->next;
	st->st.listeners--;
	table_free(st, l, sizeof(*l));
	leave(st, now);
	return 0;
}

int ptcp_stack_accept(struct ptcp_stack *st, struct ptcp_listener *l, struct ptcp_conn **out,
                      void *user)
{
	struct entry *e;

	if (!out)
		return PTCP_ERR_INVAL;
	*out = NULL;
	if (!listener_of(st, l) || !(e = l->queue.head))
		return PTCP_ERR_NOTFOUND;
	detach(e);
	e->user = user;
	st->st.accepted++;
	*out = e->c;
	return 0;
}

/* ------------------------------------------------------------ opening */

static bool endpoint_ok(const struct ptcp_endpoint *ep)
{
	return ep && (ep->family == PTCP_AF_INET || ep->family == PTCP_AF_INET6) && ep->port != 0 &&
	       !addr_any(ep);
}

int ptcp_stack_connect(struct ptcp_stack *st, struct ptcp_conn **out,
                       const struct ptcp_endpoint *local, const struct ptcp_endpoint *remote,
                       const struct ptcp_open *o, const struct ptcp_config *cfg, void *user,
                       ptcp_ts now)
{
	struct ptcp_open own;
	struct entry *e;
	uint64_t h;
	int rv;

	if (!st || !out)
		return PTCP_ERR_INVAL;
	*out = NULL;
	if (!endpoint_ok(local) || !endpoint_ok(remote) || local->family != remote->family)
		return PTCP_ERR_INVAL;
	h = tuple_hash(st, local, remote);
	if (lookup(st, local, remote, h))
		return PTCP_ERR_EXISTS;
	if (!o) {
		own = (struct ptcp_open){ .isn = ptcp_isn_generate(st->cfg.isn_secret, local, remote, now) };
		o = &own;
	}
	enter(st);
	rv = create(st, &e, cfg ? cfg : &st->cfg.conn, local, remote, h, user);
	if (rv == 0) {
		rv = ptcp_conn_open_active(e->c, o, now);
		mark(st, e);
		*out = e->c;
	}
	leave(st, now);
	return rv;
}

/* A SYN for a listener: a half-open connection (RFC 9293 3.10.7.2 in a
 * connection of its own, so that the listener stays in LISTEN). */
static void passive_open(struct ptcp_stack *st, struct ptcp_listener *l,
                         const struct ptcp_segment *seg, const struct ptcp_endpoint *local,
                         const struct ptcp_endpoint *remote, uint64_t h, ptcp_ts now)
{
	struct ptcp_open o = { .isn = ptcp_isn_generate(st->cfg.isn_secret, local, remote, now) };
	struct entry *e;
	int rv;

	if (l->half.len + l->queue.len >= l->backlog) {
		st->st.drops[PTCP_STACK_DROP_BACKLOG]++;
		return;
	}
	rv = create(st, &e, &l->cfg, local, remote, h, NULL);
	if (rv != 0) {
		st->st.drops[rv == PTCP_ERR_CONN_LIMIT ? PTCP_STACK_DROP_CONN_LIMIT
		                                       : PTCP_STACK_DROP_MEM_LIMIT]++;
		return;
	}
	e->listener = l;
	e->lstate = L_HALF;
	list_append(&l->half, e, LINK_LISTENER);
	ptcp_conn_open_passive(e->c, &o, now);
	ptcp_conn_input(e->c, seg, remote, now);
	mark(st, e);
	if (e->state != PTCP_SYN_RECEIVED && e->lstate == L_HALF) {
		detach(e);
		orphan(st, e);
	}
}

/* A segment that found no connection (RFC 9293 3.10.7.1): a RST unless it
 * is one, or unless the table is told to keep quiet. */
static void unmatched(struct ptcp_stack *st, const struct ptcp_segment *seg,
                      const struct ptcp_endpoint *local, const struct ptcp_endpoint *remote)
{
	struct rst_slot *r;

	st->st.drops[PTCP_STACK_DROP_NO_MATCH]++;
	if (!st->cfg.reset_unmatched || (seg->flags & PTCP_TH_RST))
		return;
	if (st->rst_len == RST_QUEUE) {
		st->st.drops[PTCP_STACK_DROP_RST_QUEUE]++;
		return;
	}
	r = &st->rst[(st->rst_head + st->rst_len++) % RST_QUEUE];
	r->src = *local;
	r->dst = *remote;
	ptcp_reset_for(seg, &r->seg);
}

/* ---------------------------------------------------------------- input */

static int input(struct ptcp_stack *st, const uint8_t *buf, size_t len,
		 const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst, bool verify,
		 ptcp_ts now);

int ptcp_stack_input(struct ptcp_stack *st, const uint8_t *buf, size_t len,
                     const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst,
                     ptcp_ts now)
{
	return input(st, buf, len, src, dst, true, now);
}

int ptcp_stack_input_verified(struct ptcp_stack *st, const uint8_t *buf, size_t len,
			      const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst,
			      ptcp_ts now)
{
	return input(st, buf, len, src, dst, false, now);
}

/* ptcp_stack_input() and ptcp_stack_input_verified(): verify says
 * whether the checksum is still to be checked. */
static int input(struct ptcp_stack *st, const uint8_t *buf, size_t len,
		 const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst, bool verify,
		 ptcp_ts now)
{
	struct ptcp_endpoint local, remote;
	struct ptcp_segment seg;
	struct ptcp_listener *l;
	struct entry *e;
	uint64_t h;
	int rv;

	if (!st || (!buf && len) || !src || !dst || src->family != dst->family ||
	    (src->family != PTCP_AF_INET && src->family != PTCP_AF_INET6))
		return PTCP_ERR_INVAL;
	st->st.segs_in++;
	rv = verify ? ptcp_segment_parse(&seg, buf, len, src, dst)
		    : ptcp_segment_parse(&seg, buf, len, NULL, NULL);
	if (rv != 0) {
		st->st.drops[rv == PTCP_ERR_CHECKSUM ? PTCP_STACK_DROP_CHECKSUM
		                                     : PTCP_STACK_DROP_MALFORMED]++;
		return rv;
	}
	local = *dst;
	local.port = seg.dport;
	remote = *src;
	remote.port = seg.sport;
	h = input_hash(st, &local, &remote);
	enter(st);
	e = lookup(st, &local, &remote, h);
	if (e && e->released && e->state == PTCP_LISTEN) {
		/* A half-open connection that went back to LISTEN and was not
		 * reaped yet (no output call since): it has nothing to send,
		 * and the listener, not it, takes what comes now. */
		free_entry(st, e, true, now);
		e = NULL;
	}
	if (e) {
		ptcp_conn_input(e->c, &seg, &remote, now);
		mark(st, e);
	} else if ((l = find_listener(st, &local)) != NULL) {
		/* RFC 9293 3.10.7.2: a RST is ignored, an ACK draws a RST, a
		 * SYN opens; anything else is dropped. */
		if ((seg.flags & (PTCP_TH_SYN | PTCP_TH_ACK | PTCP_TH_RST | PTCP_TH_FIN)) == PTCP_TH_SYN)
			passive_open(st, l, &seg, &local, &remote, h, now);
		else if ((seg.flags & PTCP_TH_ACK) && !(seg.flags & PTCP_TH_RST))
			unmatched(st, &seg, &local, &remote);
		else
			st->st.drops[PTCP_STACK_DROP_NO_MATCH]++;
	} else {
		unmatched(st, &seg, &local, &remote);
	}
	leave(st, now);
	return 0;
}

/* --------------------------------------------------------------- output */

static int emit_rst(struct ptcp_stack *st, uint8_t *buf, size_t cap, struct ptcp_stack_tx *tx)
{
	struct rst_slot *r = &st->rst[st->rst_head];
	int n = ptcp_segment_emit(&r->seg, buf, cap, &r->src, &r->dst);

	if (n < 0)
		return n;
	memset(tx, 0, sizeof(*tx));
	tx->src = r->src;
	tx->dst = r->dst;
	st->rst_head = (st->rst_head + 1) % RST_QUEUE;
	st->rst_len--;
	st->rst_turn = false;
	st->st.rsts_out++;
	return n;
}

int ptcp_stack_output_gso(struct ptcp_stack *st, uint8_t *buf, size_t cap, unsigned max_segs,
                          struct ptcp_stack_tx *tx, ptcp_ts now)
{
	struct entry *e;
	int n = 0;

	if (!st || !buf || !tx || max_segs == 0)
		return PTCP_ERR_INVAL;
	enter(st);
	for (;;) {
		if (st->rst_len && (st->rst_turn || !st->out.head)) {
			n = emit_rst(st, buf, cap, tx);
			break;
		}
		if ((e = st->out.head) == NULL) {
			n = 0;
			break;
		}
		/* The table sends its own RSTs (emit_rst), and every segment
		 * it hands out needs its checksum: no capability of the
		 * caller's passes through (nor an uninitialised one). */
		tx->info.caps = 0;
		n = ptcp_conn_output_gso(e->c, buf, cap, max_segs, &tx->info, now);
		if (n < 0)
			break; /* PTCP_ERR_NOBUF: e keeps its turn */
		resched(st, e); /* sending arms the retransmission timer */
		list_remove(&st->out, e, LINK_OUT);
		if (n == 0) {
			if (reapable(e))
				free_entry(st, e, true, now);
			continue;
		}
		/* One segment per turn: to the back of the queue. */
		list_append(&st->out, e, LINK_OUT);
		tx->src = *ptcp_conn_local(e->c);
		tx->dst = *ptcp_conn_remote(e->c);
		tx->conn = e->c;
		st->rst_turn = true;
		break;
	}
	if (n > 0)
		st->st.segs_out++;
	leave(st, now);
	return n;
}

int ptcp_stack_output(struct ptcp_stack *st, uint8_t *buf, size_t cap, struct ptcp_stack_tx *tx,
                      ptcp_ts now)
{
	return ptcp_stack_output_gso(st, buf, cap, 1, tx, now);
}

/* --------------------------------------------------------------- timers */

ptcp_ts ptcp_stack_expiry(const struct ptcp_stack *st)
{
	return st && st->n_heap ? st->heap[0]->key : PTCP_TS_NEVER;
}

int ptcp_stack_handle_expiry(struct ptcp_stack *st, ptcp_ts now)
{
	size_t budget;

	if (!st)
		return PTCP_ERR_INVAL;
	enter(st);
	/* Each due connection once: one whose deadline did not move past now
	 * (which the engine never does) cannot keep this loop going. */
	for (budget = st->n_heap; budget > 0 && st->n_heap && st->heap[0]->key <= now; budget--) {
		struct entry *e = st->heap[0];

		st->st.expiry_visits++;
		if (e->orphan_at <= now) {
			e->orphan_at = PTCP_TS_NEVER;
			if (e->state != PTCP_CLOSED && e->state != PTCP_TIME_WAIT) {
				st->st.orphans_aborted++;
				ptcp_conn_abort(e->c, now);
			}
		}
		if (ptcp_conn_expiry(e->c) <= now)
			ptcp_conn_handle_expiry(e->c, now);
		resched(st, e);
		mark(st, e);
	}
	leave(st, now);
	return 0;
}

/* ---------------------------------------------------------- application */

int ptcp_stack_touch(struct ptcp_stack *st, struct ptcp_conn *c, ptcp_ts now)
{
	struct entry *e = entry_of(st, c);

	if (!e || e->released)
		return PTCP_ERR_NOTFOUND;
	enter(st);
	mark(st, e);
	leave(st, now);
	return 0;
}

int ptcp_stack_release(struct ptcp_stack *st, struct ptcp_conn *c, ptcp_ts now)
{
	struct entry *e = entry_of(st, c);

	if (!e || e->released)
		return PTCP_ERR_NOTFOUND;
	enter(st);
	detach(e); /* released without being accepted: it never will be */
	e->released = true;
	e->user = NULL;
	st->st.released++;
	if (st->cfg.orphan_timeout)
		e->orphan_at = ptcp_ts_add(now, st->cfg.orphan_timeout);
	mark(st, e);
	leave(st, now);
	return 0;
}

/* -------------------------------------------------------------- queries */

struct ptcp_conn *ptcp_stack_find(struct ptcp_stack *st, const struct ptcp_endpoint *local,
                                  const struct ptcp_endpoint *remote)
{
	struct entry *e;

	if (!st || !local || !remote)
		return NULL;
	e = lookup(st, local, remote, input_hash(st, local, remote));
	return e ? e->c : NULL;
}

struct ptcp_conn *ptcp_stack_next(const struct ptcp_stack *st, const struct ptcp_conn *prev)
{
	size_t i = 0;

	if (!st)
		return NULL;
	if (prev) {
		struct entry *e = entry_of(st, prev);

		if (!e)
			return NULL;
		if (e->hnext)
			return e->hnext->c;
		i = (e->hash & (st->n_buckets - 1)) + 1;
	}
	for (; i < st->n_buckets; i++)
		if (st->buckets[i])
			return st->buckets[i]->c;
	return NULL;
}

int ptcp_stack_set_user(struct ptcp_stack *st, struct ptcp_conn *c, void *user)
{
	struct entry *e = entry_of(st, c);

	if (!e || e->released)
		return PTCP_ERR_NOTFOUND;
	e->user = user;
	return 0;
}

void *ptcp_stack_user(const struct ptcp_stack *st, const struct ptcp_conn *c)
{
	struct entry *e = entry_of(st, c);

	return e ? e->user : NULL;
}

ptcp_ts ptcp_stack_conn_expiry(const struct ptcp_stack *st, const struct ptcp_conn *c)
{
	struct entry *e = entry_of(st, c);

	return e ? e->key : PTCP_TS_NEVER;
}

void ptcp_stack_stats(const struct ptcp_stack *st, struct ptcp_stack_stats *out)
{
	if (!st || !out)
		return;
	*out = st->st;
	out->conns = st->n_conns;
}
