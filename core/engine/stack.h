/* A connection table: many TCP connections (struct ptcp_conn) on behalf of
 * one driver, sans-IO like the rest of the engine.
 *
 * The table
 *   - demultiplexes incoming segments by 4-tuple (IPv4 and IPv6) through a
 *     hash table keyed with a per-table secret (SipHash, isn.h), so a peer
 *     cannot aim collisions at it;
 *   - has listening endpoints (the local address may be a wildcard) with a
 *     bounded backlog: a SYN for no connection creates a half-open
 *     connection in SYN-RECEIVED with an RFC 6528 ISN; once ESTABLISHED it
 *     waits in the listener's accept queue (PTCP_STACK_EV_ACCEPTABLE);
 *   - opens connections actively (with an agreed ISN and peer ISN: the
 *     simultaneous open of hole punching);
 *   - bounds the number of connections and the memory they allocate, per
 *     connection and in total, refusing with PTCP_ERR_CONN_LIMIT or
 *     PTCP_ERR_MEM_LIMIT;
 *   - keeps one next deadline for all of them in a binary min-heap, so
 *     finding it is O(1) and a change of one connection's deadline is
 *     O(log n); ptcp_stack_handle_expiry() visits only the connections
 *     that are due;
 *   - writes segments round-robin between the connections that have
 *     something to send, and answers segments that match nothing with a
 *     RST (RFC 9293 3.10.7.1) unless told to stay silent;
 *   - keeps a connection the owner released through TIME-WAIT (a
 *     retransmitted FIN is still answered) and frees it once CLOSED.
 *
 * The driver's loop:
 *
 *     ptcp_stack_input(st, pkt_tcp, len, &ip_src, &ip_dst, now);
 *     ... application: ptcp_conn_send/recv/shutdown/abort(c, ...), then
 *         ptcp_stack_touch(st, c, now) for each connection it used ...
 *     if (now >= ptcp_stack_expiry(st))
 *             ptcp_stack_handle_expiry(st, now);
 *     while ((n = ptcp_stack_output(st, buf, sizeof(buf), &tx, now)) > 0)
 *             send_raw(&tx.src, &tx.dst, buf, n, tx.info.ttl);
 *     arm_timer(ptcp_stack_expiry(st));
 *
 * The application calls ptcp_conn_*() on the connections the table hands
 * out (ptcp_stack_connect, ptcp_stack_accept) directly, and afterwards
 * tells the table with ptcp_stack_touch() so that it re-reads the
 * connection's deadline and looks for its output. It never calls
 * ptcp_conn_free() on them: ptcp_stack_release() hands a connection back.
 *
 * Callbacks: every event reaches cfg.on_event. Inside it the owner may call
 * ptcp_stack_accept(), ptcp_stack_set_user(), ptcp_stack_release() and
 * ptcp_stack_touch(); anything that feeds or drains a connection
 * (ptcp_conn_*, ptcp_stack_input/output/handle_expiry/connect) must wait
 * until the call that raised the event has returned.
 *
 * No globals, no clock, no random source: the two secrets come in through
 * the config, time through `now`, memory through the injected allocator. */
#ifndef PTCP_STACK_H
#define PTCP_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "conn.h"
#include "tstamp.h"

struct ptcp_stack;
struct ptcp_listener;

/* Why the table discarded a segment before any connection saw it
 * (counted in struct ptcp_stack_stats.drops[]). */
enum ptcp_stack_drop {
	PTCP_STACK_DROP_MALFORMED = 0, /* parse failed */
	PTCP_STACK_DROP_CHECKSUM,      /* checksum mismatch */
	PTCP_STACK_DROP_NO_MATCH,      /* no connection, no listener took it (answered
	                                  with a RST unless it is one or
	                                  cfg.reset_unmatched is off) */
	PTCP_STACK_DROP_BACKLOG,       /* a SYN to a listener whose backlog is full */
	PTCP_STACK_DROP_CONN_LIMIT,    /* a SYN while the table holds max_conns */
	PTCP_STACK_DROP_MEM_LIMIT,     /* a SYN whose connection would pass a memory
	                                  bound (or the allocator refused it) */
	PTCP_STACK_DROP_RST_QUEUE,     /* a RST to send did not fit in the queue */
	PTCP_STACK_DROP__COUNT
};

/* A short name for a drop reason ("backlog-full"). */
const char *ptcp_stack_drop_name(enum ptcp_stack_drop d);

enum ptcp_stack_event_type {
	PTCP_STACK_EV_CONN = 1,    /* an event of a connection: ev (conn.h) */
	PTCP_STACK_EV_ACCEPTABLE,  /* a connection from listener reached
	                              ESTABLISHED and waits in its accept queue */
	PTCP_STACK_EV_FREED,       /* the table frees conn now (released and
	                              CLOSED): the last event about it */
};

struct ptcp_stack_event {
	enum ptcp_stack_event_type type;
	ptcp_ts now;
	struct ptcp_conn *conn;
	void *conn_user;                 /* the connection's user pointer (NULL
	                                    before accept and after release) */
	struct ptcp_listener *listener;  /* the listener a passive connection came
	                                    through (NULL for active ones, and once
	                                    the listener is closed) */
	void *listener_user;
	const struct ptcp_event *ev;     /* PTCP_STACK_EV_CONN only */
};

typedef void ptcp_stack_event_fn(void *user, struct ptcp_stack *stack,
                                 const struct ptcp_stack_event *ev);

struct ptcp_stack_config {
	struct ptcp_alloc alloc;       /* required: the table and its connections */
	ptcp_stack_event_fn *on_event; /* optional */
	void *user;                    /* passed to on_event */

	/* The connection config used when connect or listen get none. Its
	 * alloc, on_event and user are replaced by the table's. */
	struct ptcp_config conn;

	uint8_t hash_key[16];          /* secret key of the 4-tuple hash: draw it
	                                  from a secure random source */
	uint8_t isn_secret[16];        /* secret of RFC 6528 ISNs for passive
	                                  opens (and active ones without an ISN) */

	uint32_t max_conns;            /* connections in any state, half-open and
	                                  TIME-WAIT included (default 1024) */
	uint64_t max_mem;              /* bytes all connections together may
	                                  allocate: their state and send and
	                                  receive buffers (default 512 MiB) */
	uint64_t max_conn_mem;         /* bytes one connection may allocate
	                                  (default 4 MiB) */
	bool reset_unmatched;          /* answer segments that match nothing with a
	                                  RST (RFC 9293 3.10.7.1; default on). Off:
	                                  silence, e.g. when the kernel's own TCP
	                                  shares the port */
	uint64_t orphan_timeout;       /* ns; a released connection that is not
	                                  CLOSED (or in TIME-WAIT) this long after
	                                  its release is aborted, so a peer that
	                                  never finishes the close cannot keep it
	                                  (Linux's tcp_fin_timeout). 0 = never.
	                                  Default 60 s */
};

/* Fills *cfg with the defaults above; cfg->conn from ptcp_config_default().
 * alloc, on_event and the two secrets are left empty (zero). */
void ptcp_stack_config_default(struct ptcp_stack_config *cfg);

/* Counters and gauges of a table (ptcp_stack_stats()). */
struct ptcp_stack_stats {
	uint64_t conns;                 /* connections in the table now */
	uint64_t by_state[PTCP_TIME_WAIT + 1]; /* ... by enum ptcp_state */
	uint64_t released;              /* ... of them released by their owner
	                                   (or never accepted and dead) */
	uint64_t listeners;
	uint64_t created;               /* connections created since the start */
	uint64_t freed;                 /* connections freed since the start */
	uint64_t accepted;              /* handed out by ptcp_stack_accept() */
	uint64_t orphans_aborted;       /* released ones ended by orphan_timeout */
	uint64_t segs_in;               /* segments handed to ptcp_stack_input() */
	uint64_t segs_out;              /* segments written by ptcp_stack_output() */
	uint64_t rsts_out;              /* ... of them the table's own RSTs */
	uint64_t drops[PTCP_STACK_DROP__COUNT];
	uint64_t expiry_visits;         /* connections whose timers
	                                   ptcp_stack_handle_expiry() ran */
	uint64_t mem_conns;             /* bytes the connections hold (bounded
	                                   by max_mem) */
	uint64_t mem_table;             /* bytes of the table's own bookkeeping */
};

/* Where a segment from ptcp_stack_output() goes. */
struct ptcp_stack_tx {
	struct ptcp_endpoint src;       /* IP source (port = the TCP source port) */
	struct ptcp_endpoint dst;       /* IP destination (port = TCP destination) */
	struct ptcp_txinfo info;        /* TTL and GSO hints as ptcp_conn_output() */
	struct ptcp_conn *conn;         /* the connection, NULL for the table's RSTs */
};

/* Creates an empty table. The config is copied. Returns 0, PTCP_ERR_INVAL
 * (no allocator, max_conns 0, a bound of 0, or a connection template that
 * ptcp_conn_new() would refuse) or PTCP_ERR_NOMEM. */
int ptcp_stack_new(struct ptcp_stack **out, const struct ptcp_stack_config *cfg);

/* Frees the table, every connection in it (no segment is sent) and every
 * listener. No event is raised. NULL is allowed. */
void ptcp_stack_free(struct ptcp_stack *st);

/* Opens a listening endpoint. local->family PTCP_AF_NONE listens on every
 * address of both families; an all-zero address on every address of its
 * family; local->port must be non-zero. A more specific listener wins over
 * a wildcard one. backlog bounds the connections from this listener that
 * are half-open (SYN-RECEIVED) or wait in its accept queue: a SYN beyond
 * it is dropped (PTCP_STACK_DROP_BACKLOG), so the peer retries later.
 * cfg (NULL = the table's template) configures its connections; user is
 * reported with their events. Returns 0, PTCP_ERR_INVAL (port 0, backlog
 * 0, a config ptcp_conn_new() would refuse), PTCP_ERR_EXISTS (a listener
 * on the same address and port) or PTCP_ERR_NOMEM. */
int ptcp_stack_listen(struct ptcp_stack *st, struct ptcp_listener **out,
                      const struct ptcp_endpoint *local, unsigned backlog,
                      const struct ptcp_config *cfg, void *user);

/* Closes a listener: its half-open connections and those not yet accepted
 * are aborted (a RST each) and released; accepted ones are not touched.
 * Returns 0 or PTCP_ERR_NOTFOUND (not a listener of this table). */
int ptcp_stack_listen_close(struct ptcp_stack *st, struct ptcp_listener *l, ptcp_ts now);

/* Takes the oldest connection from l's accept queue into *out and gives it
 * the user pointer user. The connection may have moved on (CLOSE-WAIT, or
 * even CLOSED after a RST: ptcp_conn_error() says why). Returns 0,
 * PTCP_ERR_NOTFOUND (the queue is empty, or l is not a listener of this
 * table) or PTCP_ERR_INVAL. */
int ptcp_stack_accept(struct ptcp_stack *st, struct ptcp_listener *l, struct ptcp_conn **out,
                      void *user);

/* Active OPEN into the table: a connection from local to remote (both
 * with an address and a port) goes to SYN-SENT and its SYN is queued. o
 * carries our ISN and, for a simultaneous open, the agreed peer ISN (NULL:
 * an RFC 6528 ISN from the table's secret, no agreed peer ISN). cfg (NULL
 * = the template) configures the connection; user is reported with its
 * events. Returns 0, PTCP_ERR_INVAL (an endpoint without address or port,
 * families that differ, a config ptcp_conn_new() refuses),
 * PTCP_ERR_EXISTS (the 4-tuple is in use), PTCP_ERR_CONN_LIMIT,
 * PTCP_ERR_MEM_LIMIT or PTCP_ERR_NOMEM. */
int ptcp_stack_connect(struct ptcp_stack *st, struct ptcp_conn **out,
                       const struct ptcp_endpoint *local, const struct ptcp_endpoint *remote,
                       const struct ptcp_open *o, const struct ptcp_config *cfg, void *user,
                       ptcp_ts now);

/* Hands one received segment in: buf[0..len) is the TCP header and
 * payload, src and dst the IP source and destination of its packet (their
 * ports are ignored: the TCP header has them). The checksum is verified.
 * The segment goes to the connection with its 4-tuple, else a SYN to a
 * matching listener opens a half-open connection, else it is dropped and
 * (RFC 9293 3.10.7.1) answered with a RST unless it is one. Returns 0 (also
 * when the segment was dropped: see the counters), the parse error
 * (PTCP_ERR_TRUNCATED, PTCP_ERR_BAD_OFFSET, PTCP_ERR_BAD_OPTION,
 * PTCP_ERR_CHECKSUM) or PTCP_ERR_INVAL (src and dst of different or no
 * family). */
int ptcp_stack_input(struct ptcp_stack *st, const uint8_t *buf, size_t len,
                     const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst,
                     ptcp_ts now);

/* ptcp_stack_input() for a segment whose TCP checksum the driver knows to
 * be right (the kernel verified it, or sent it itself with the checksum
 * left to offload): not verified again, one pass over the bytes less.
 * Returns as ptcp_stack_input(), never PTCP_ERR_CHECKSUM. */
int ptcp_stack_input_verified(struct ptcp_stack *st, const uint8_t *buf, size_t len,
			      const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst,
			      ptcp_ts now);

/* Writes the next segment that is due into buf[0..cap) and says where it
 * goes in *tx. Connections with something to send take turns, one segment
 * each; the table's own RSTs take a turn between them. Returns the
 * length, 0 when nothing is due, PTCP_ERR_NOBUF if cap is smaller than 60
 * + the MSS of the connection whose turn it is (it keeps its turn), or
 * PTCP_ERR_INVAL. Call until it returns 0. A released connection that
 * reached CLOSED is freed here once its last segment is out. */
int ptcp_stack_output(struct ptcp_stack *st, uint8_t *buf, size_t cap, struct ptcp_stack_tx *tx,
                      ptcp_ts now);

/* Like ptcp_stack_output() with ptcp_conn_output_gso(): a connection's
 * turn may produce a super-segment of up to max_segs segments
 * (tx->info.gso_size). PTCP_ERR_INVAL if max_segs is 0. */
int ptcp_stack_output_gso(struct ptcp_stack *st, uint8_t *buf, size_t cap, unsigned max_segs,
                          struct ptcp_stack_tx *tx, ptcp_ts now);

/* The earliest deadline of any connection (and of any orphan timeout), or
 * PTCP_TS_NEVER. O(1). */
ptcp_ts ptcp_stack_expiry(const struct ptcp_stack *st);

/* Runs the timers of the connections that are due at now, and only
 * those: O(k log n) for k due connections. Returns 0, or PTCP_ERR_INVAL
 * for a NULL table. */
int ptcp_stack_handle_expiry(struct ptcp_stack *st, ptcp_ts now);

/* Tells the table that the application called ptcp_conn_send, _recv,
 * _shutdown or _abort on c: it re-reads c's deadline and puts c in line
 * for output. Returns 0 or PTCP_ERR_NOTFOUND (c is not in this table). */
int ptcp_stack_touch(struct ptcp_stack *st, struct ptcp_conn *c, ptcp_ts now);

/* The owner is done with c. The table shuts it down (a FIN after the
 * queued data) unless that happened already, keeps it through the closing
 * states and TIME-WAIT, and frees it when it is CLOSED (raising
 * PTCP_STACK_EV_FREED). If data the owner did not read is waiting, or
 * arrives later, c is aborted instead (a RST: RFC 1122 4.2.2.13). Events
 * about c carry no user pointer from now on, and the owner must not use c
 * again. Returns 0 or PTCP_ERR_NOTFOUND (c is not in this table, or was
 * released before). */
int ptcp_stack_release(struct ptcp_stack *st, struct ptcp_conn *c, ptcp_ts now);

/* The connection with this 4-tuple (ports included), or NULL. The table
 * remembers the tuple's hash, so that ptcp_stack_input() of the segment
 * that was looked up (or of the next one of the same connection) does not
 * compute it again. */
struct ptcp_conn *ptcp_stack_find(struct ptcp_stack *st, const struct ptcp_endpoint *local,
                                  const struct ptcp_endpoint *remote);

/* Iterates over every connection: NULL gives the first, a connection the
 * next one, NULL at the end. The order is that of the hash table. Do not
 * free or add connections while iterating. */
struct ptcp_conn *ptcp_stack_next(const struct ptcp_stack *st, const struct ptcp_conn *prev);

/* Sets or reads c's user pointer. set returns 0 or PTCP_ERR_NOTFOUND;
 * user returns NULL for a connection not in the table. */
int ptcp_stack_set_user(struct ptcp_stack *st, struct ptcp_conn *c, void *user);
void *ptcp_stack_user(const struct ptcp_stack *st, const struct ptcp_conn *c);

/* The deadline the heap keeps for c: its ptcp_conn_expiry(), or the
 * orphan timeout if that is earlier; PTCP_TS_NEVER for a connection not
 * in the table. */
ptcp_ts ptcp_stack_conn_expiry(const struct ptcp_stack *st, const struct ptcp_conn *c);

void ptcp_stack_stats(const struct ptcp_stack *st, struct ptcp_stack_stats *out);

#endif
