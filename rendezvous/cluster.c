/* rendezvousd instances on one Redis: see cluster.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <sodium.h>

#include "clock.h"
#include "cluster.h"
#include "rdvlog.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000
#define CONNECT_TIMEOUT_MS 5000        /* both connections up and subscribed */
#define PEER_PREFIX "p2ptcp:rdv:peer:"
#define INST_PREFIX "p2ptcp:rdv:inst:"
#define KEY_TEXT (sizeof(PEER_PREFIX) + 2 * PTCP_RDV_KEY_LEN)
#define CHAN_TEXT (sizeof(INST_PREFIX) + 2 * PTCP_RDVD_INST_LEN)

/* KEYS[1] the peer; ARGV inst, public, private, ttl ms, REPLACED message.
 * The instance that had the key hears REPLACED. Returns 1 then, else 0. */
static const char SCRIPT_REGISTER[] =
	"local old = redis.call('HGET', KEYS[1], 'inst') "
	"redis.call('HSET', KEYS[1], 'inst', ARGV[1], 'public', ARGV[2], 'private', ARGV[3]) "
	"redis.call('PEXPIRE', KEYS[1], ARGV[4]) "
	"if old and old ~= ARGV[1] then "
	"redis.call('PUBLISH', '" INST_PREFIX "' .. old, ARGV[5]) return 1 end "
	"return 0";

/* KEYS[1] the peer; ARGV inst, public, private, ttl ms. 1: extended,
 * 2: recorded again, 0: another instance's. */
static const char SCRIPT_REFRESH[] =
	"local cur = redis.call('HGET', KEYS[1], 'inst') "
	"if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[4]) return 1 end "
	"if cur then return 0 end "
	"redis.call('HSET', KEYS[1], 'inst', ARGV[1], 'public', ARGV[2], 'private', ARGV[3]) "
	"redis.call('PEXPIRE', KEYS[1], ARGV[4]) return 2";

/* KEYS[1] the peer; ARGV inst. */
static const char SCRIPT_UNREGISTER[] =
	"if redis.call('HGET', KEYS[1], 'inst') == ARGV[1] then "
	"return redis.call('DEL', KEYS[1]) end return 0";

/* KEYS[1] the target; ARGV our inst, the REQUEST. Returns {receivers,
 * inst}: -1 unknown (or ours: stale), 0 nobody reads its channel (the
 * registration is deleted). */
static const char SCRIPT_ROUTE[] =
	"local i = redis.call('HGET', KEYS[1], 'inst') "
	"if not i or i == ARGV[1] then return {-1, ''} end "
	"local n = redis.call('PUBLISH', '" INST_PREFIX "' .. i, ARGV[2]) "
	"if n == 0 then redis.call('DEL', KEYS[1]) end "
	"return {n, i}";

struct ptcp_rdvd_cluster {
	struct event_base *base;
	struct ptcp_rdvd_cluster_config cfg;
	struct ptcp_rdvd_cluster_ops ops;
	void *user;
	uint8_t id[PTCP_RDVD_INST_LEN];
	char id_hex[2 * PTCP_RDVD_INST_LEN + 1];
	char chan[CHAN_TEXT];              /* ours */
	char addr[64];                     /* for hiredis: no brackets */
	char where[64];                    /* for the log: ADDR:PORT */
	redisAsyncContext *cmd, *sub;      /* NULL when closed */
	bool cmd_up, sub_up;               /* connected; sub: subscribed */
	bool up;                           /* both, and ops->up has run */
	bool ever_up, lost_logged;
	struct event *retry, *deadline;
	unsigned backoff_ms;
	ptcp_ts down_since;
	unsigned pending;                  /* commands awaiting replies */
	unsigned long long published, received, bad, refused, losses;
};

/* A route in flight: who asked. */
struct route_req {
	struct ptcp_rdvd_cluster *cl;
	uint8_t asker[PTCP_RDV_KEY_LEN], target[PTCP_RDV_KEY_LEN];
	uint64_t id;
};

const char *ptcp_rdvd_inst_hex(const uint8_t id[PTCP_RDVD_INST_LEN], char *buf)
{
	return sodium_bin2hex(buf, 2 * PTCP_RDVD_INST_LEN + 1, id, PTCP_RDVD_INST_LEN);
}

static void peer_key(char out[KEY_TEXT], const uint8_t key[PTCP_RDV_KEY_LEN])
{
	memcpy(out, PEER_PREFIX, sizeof(PEER_PREFIX) - 1);
	sodium_bin2hex(out + sizeof(PEER_PREFIX) - 1, 2 * PTCP_RDV_KEY_LEN + 1, key, PTCP_RDV_KEY_LEN);
}

/* 16 hex digits back into an id; false for anything else. */
static bool inst_from_hex(uint8_t id[PTCP_RDVD_INST_LEN], const char *s, size_t n)
{
	size_t got;

	if (n != 2 * PTCP_RDVD_INST_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return sodium_hex2bin(id, PTCP_RDVD_INST_LEN, s, n, NULL, &got, NULL) == 0 &&
	       got == PTCP_RDVD_INST_LEN;
}

/* --- the link ------------------------------------------------------------------ */

static void connect_now(struct ptcp_rdvd_cluster *cl);

static void arm(struct event *ev, unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000) };

	evtimer_add(ev, &tv);
}

/* Closes whatever is open; with lost, logs the loss (once) and tells the
 * server. Then tries again after the backoff. */
static void link_broken(struct ptcp_rdvd_cluster *cl, const char *why)
{
	redisAsyncContext *cmd = cl->cmd, *sub = cl->sub;
	bool was_up = cl->up;

	cl->cmd = cl->sub = NULL;
	cl->cmd_up = cl->sub_up = cl->up = false;
	evtimer_del(cl->deadline);
	/* (each calls back with NULL replies and on_disconnect, which find
	 * the context no longer ours) */
	if (cmd)
		redisAsyncFree(cmd);
	if (sub)
		redisAsyncFree(sub);
	if (was_up) {
		cl->losses++;
		cl->down_since = ptcp_clock_now();
		rlog_warn("lost Redis at %s: %s; serving this instance's peers alone, reconnecting",
			  cl->where, why);
		cl->lost_logged = true;
		cl->ops.down(cl->user);
	} else if (!cl->lost_logged) {
		rlog_warn("cannot reach Redis at %s: %s; serving this instance's peers alone, retrying",
			  cl->where, why);
		cl->lost_logged = true;
		cl->down_since = ptcp_clock_now();
	} else {
		rlog_debug("Redis at %s: still unreachable: %s", cl->where, why);
	}
	arm(cl->retry, cl->backoff_ms);
	cl->backoff_ms = cl->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : cl->backoff_ms * 2;
}

static void maybe_up(struct ptcp_rdvd_cluster *cl)
{
	uint64_t ms;

	if (cl->up || !cl->cmd_up || !cl->sub_up)
		return;
	cl->up = true;
	cl->backoff_ms = BACKOFF_MIN_MS;
	evtimer_del(cl->deadline);
	ms = ptcp_ts_elapsed(ptcp_clock_now(), cl->down_since) / PTCP_NS_PER_MS;
	if (cl->ever_up) {
		rlog_warn("Redis at %s is back after %llu.%03llu s: sharing registrations again "
			  "(instance %s)", cl->where, (unsigned long long)(ms / 1000),
			  (unsigned long long)(ms % 1000), cl->id_hex);
	} else if (cl->lost_logged) {
		rlog_warn("connected to Redis at %s after %llu.%03llu s: sharing registrations as "
			  "instance %s", cl->where, (unsigned long long)(ms / 1000),
			  (unsigned long long)(ms % 1000), cl->id_hex);
	} else {
		rlog_warn("connected to Redis at %s: sharing registrations as instance %s", cl->where,
			  cl->id_hex);
	}
	cl->lost_logged = false;
	cl->ever_up = true;
	cl->ops.up(cl->user);
}

static void on_connected(const redisAsyncContext *ac, int status)
{
	struct ptcp_rdvd_cluster *cl = ac->data;
	char why[160];

	if (ac != cl->cmd && ac != cl->sub)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees this context after we return */
		snprintf(why, sizeof(why), "%s", ac->errstr[0] ? ac->errstr : "cannot connect");
		if (ac == cl->cmd)
			cl->cmd = NULL;
		else
			cl->sub = NULL;
		link_broken(cl, why);
		return;
	}
	if (ac == cl->cmd) {
		cl->cmd_up = true;
		maybe_up(cl);
	}
	/* the subscription is up when SUBSCRIBE is confirmed */
}

static void on_disconnected(const redisAsyncContext *ac, int status)
{
	struct ptcp_rdvd_cluster *cl = ac->data;
	char why[160];

	(void)status;
	if (ac != cl->cmd && ac != cl->sub)
		return;   /* one we closed ourselves */
	snprintf(why, sizeof(why), "%s", ac->err && ac->errstr[0] ? ac->errstr : "connection closed");
	/* hiredis frees this context after we return */
	if (ac == cl->cmd)
		cl->cmd = NULL;
	else
		cl->sub = NULL;
	link_broken(cl, why);
}

/* Everything that arrives on the subscribed connection. */
static void on_sub_reply(redisAsyncContext *ac, void *r, void *arg)
{
	struct ptcp_rdvd_cluster *cl = arg;
	redisReply *reply = r, **e;
	struct ptcp_rdvd_cmsg m;

	if (!reply || ac != cl->sub || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
		return;
	e = reply->element;
	if (e[0]->type != REDIS_REPLY_STRING)
		return;
	if (!strcmp(e[0]->str, "subscribe")) {
		cl->sub_up = true;
		maybe_up(cl);
		return;
	}
	if (strcmp(e[0]->str, "message") != 0 || e[2]->type != REDIS_REPLY_STRING)
		return;
	if (ptcp_rdvd_cmsg_parse(&m, (const uint8_t *)e[2]->str, e[2]->len) != 0) {
		cl->bad++;
		rlog_debug("Redis: dropped a message of %zu bytes that does not parse", e[2]->len);
		return;
	}
	cl->received++;
	cl->ops.message(cl->user, &m);
}

/* A new connection, or NULL with the reason in why. */
static redisAsyncContext *open_one(struct ptcp_rdvd_cluster *cl, char *why, size_t len)
{
	redisAsyncContext *ac = redisAsyncConnect(cl->addr, cl->cfg.redis.port);

	if (!ac) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	if (ac->err || redisLibeventAttach(ac, cl->base) != REDIS_OK) {
		/* (a refusal on this host is known at once) */
		snprintf(why, len, "%s", ac->err && ac->errstr[0] ? ac->errstr : "cannot start a connection");
		redisAsyncFree(ac);
		return NULL;
	}
	ac->data = cl;
	redisAsyncSetConnectCallback(ac, on_connected);
	redisAsyncSetDisconnectCallback(ac, on_disconnected);
	return ac;
}

static void connect_now(struct ptcp_rdvd_cluster *cl)
{
	char why[160] = "cannot start a connection";

	cl->cmd = open_one(cl, why, sizeof(why));
	cl->sub = cl->cmd ? open_one(cl, why, sizeof(why)) : NULL;
	if (!cl->cmd || !cl->sub ||
	    redisAsyncCommand(cl->sub, on_sub_reply, cl, "SUBSCRIBE %s", cl->chan) != REDIS_OK) {
		link_broken(cl, why);
		return;
	}
	arm(cl->deadline, CONNECT_TIMEOUT_MS);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connect_now(arg);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	link_broken(arg, "no answer within 5 s");
}

/* --- commands ------------------------------------------------------------------ */

static void on_done(redisAsyncContext *ac, void *r, void *arg)
{
	struct ptcp_rdvd_cluster *cl = arg;
	redisReply *reply = r;

	(void)ac;
	cl->pending--;
	if (reply && reply->type == REDIS_REPLY_ERROR)
		rlog_error("Redis at %s refused a command: %s", cl->where, reply->str);
}

static int may_send(struct ptcp_rdvd_cluster *cl)
{
	if (!cl->up)
		return -ENOTCONN;
	if (cl->pending >= cl->cfg.max_pending) {
		cl->refused++;
		return -ENOBUFS;
	}
	return 0;
}

/* EVAL script with one key and n (at most 5) args. */
static int eval(struct ptcp_rdvd_cluster *cl, redisCallbackFn *fn, void *arg, const char *script,
                const char *key, const char *const *args, const size_t *lens, int n)
{
	const char *argv[4 + 5] = { "EVAL", script, "1", key };
	size_t argl[4 + 5] = { 4, strlen(script), 1, strlen(key) };

	if (n > 5)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		argv[4 + i] = args[i];
		argl[4 + i] = lens[i];
	}
	if (redisAsyncCommandArgv(cl->cmd, fn, arg, 4 + n, argv, argl) != REDIS_OK)
		return -ENOMEM;
	cl->pending++;
	return 0;
}

/* The registration's fields: inst, public, private, ttl. */
static int registration(struct ptcp_rdvd_cluster *cl, const char *script,
                        const uint8_t key[PTCP_RDV_KEY_LEN], const struct ptcp_endpoint *observed,
                        const struct ptcp_endpoint *priv, const uint8_t *extra, size_t extra_len)
{
	char k[KEY_TEXT], pub[64], prv[64], ttl[16];
	const char *args[5] = { cl->id_hex, pub, prv, ttl, (const char *)extra };
	size_t lens[5];
	int rv;

	if ((rv = may_send(cl)) != 0)
		return rv;
	peer_key(k, key);
	ptcp_endpoint_format(observed, pub, sizeof(pub));
	if (priv->family == PTCP_AF_NONE)
		snprintf(prv, sizeof(prv), "none");
	else
		ptcp_endpoint_format(priv, prv, sizeof(prv));
	snprintf(ttl, sizeof(ttl), "%u", cl->cfg.ttl_ms);
	lens[0] = strlen(args[0]);
	lens[1] = strlen(pub);
	lens[2] = strlen(prv);
	lens[3] = strlen(ttl);
	lens[4] = extra_len;
	return eval(cl, on_done, cl, script, k, args, lens, extra ? 5 : 4);
}

int ptcp_rdvd_cluster_register(struct ptcp_rdvd_cluster *cl, const uint8_t key[PTCP_RDV_KEY_LEN],
                               const struct ptcp_endpoint *observed,
                               const struct ptcp_endpoint *priv)
{
	struct ptcp_rdvd_cmsg m;
	uint8_t buf[PTCP_RDVD_CMSG_MAX];
	int n;

	memset(&m, 0, sizeof(m));
	m.type = PTCP_RDVD_CMSG_REPLACED;
	memcpy(m.sender, cl->id, PTCP_RDVD_INST_LEN);
	memcpy(m.replaced.key, key, PTCP_RDV_KEY_LEN);
	m.replaced.observed = *observed;
	n = ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf));
	if (n < 0)
		return -EINVAL;
	return registration(cl, SCRIPT_REGISTER, key, observed, priv, buf, (size_t)n);
}

int ptcp_rdvd_cluster_refresh(struct ptcp_rdvd_cluster *cl, const uint8_t key[PTCP_RDV_KEY_LEN],
                              const struct ptcp_endpoint *observed,
                              const struct ptcp_endpoint *priv)
{
	return registration(cl, SCRIPT_REFRESH, key, observed, priv, NULL, 0);
}

int ptcp_rdvd_cluster_unregister(struct ptcp_rdvd_cluster *cl, const uint8_t key[PTCP_RDV_KEY_LEN])
{
	char k[KEY_TEXT];
	const char *args[1] = { cl->id_hex };
	size_t lens[1] = { strlen(cl->id_hex) };
	int rv;

	if ((rv = may_send(cl)) != 0)
		return rv;
	peer_key(k, key);
	return eval(cl, on_done, cl, SCRIPT_UNREGISTER, k, args, lens, 1);
}

static void on_routed(redisAsyncContext *ac, void *r, void *arg)
{
	struct route_req *q = arg;
	struct ptcp_rdvd_cluster *cl = q->cl;
	redisReply *reply = r;
	uint8_t inst[PTCP_RDVD_INST_LEN] = { 0 };
	int result = PTCP_RDVD_ROUTE_DOWN;

	(void)ac;
	cl->pending--;
	if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_INTEGER && reply->element[1]->type == REDIS_REPLY_STRING) {
		long long n = reply->element[0]->integer;

		if (n < 0)
			result = PTCP_RDVD_ROUTE_UNKNOWN;
		else if (!inst_from_hex(inst, reply->element[1]->str, reply->element[1]->len))
			rlog_error("Redis at %s: a registration names instance '%.32s'", cl->where,
				   reply->element[1]->str);
		else if (n == 0)
			result = PTCP_RDVD_ROUTE_GONE;
		else
			result = PTCP_RDVD_ROUTE_SENT;
	} else if (reply && reply->type == REDIS_REPLY_ERROR) {
		rlog_error("Redis at %s refused a command: %s", cl->where, reply->str);
	}
	if (result == PTCP_RDVD_ROUTE_SENT)
		cl->published++;
	cl->ops.routed(cl->user, q->asker, q->target, q->id, result, inst);
	free(q);
}

int ptcp_rdvd_cluster_route(struct ptcp_rdvd_cluster *cl, struct ptcp_rdvd_cmsg *m)
{
	uint8_t buf[PTCP_RDVD_CMSG_MAX];
	char k[KEY_TEXT];
	const char *args[2] = { cl->id_hex, (const char *)buf };
	size_t lens[2] = { strlen(cl->id_hex), 0 };
	struct route_req *q;
	int n, rv;

	if ((rv = may_send(cl)) != 0)
		return rv;
	memcpy(m->sender, cl->id, PTCP_RDVD_INST_LEN);
	n = ptcp_rdvd_cmsg_emit(m, buf, sizeof(buf));
	if (n < 0 || m->type != PTCP_RDVD_CMSG_REQUEST)
		return -EINVAL;
	lens[1] = (size_t)n;
	q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->cl = cl;
	memcpy(q->asker, m->request.asker, PTCP_RDV_KEY_LEN);
	memcpy(q->target, m->request.target, PTCP_RDV_KEY_LEN);
	q->id = m->request.id;
	peer_key(k, m->request.target);
	if ((rv = eval(cl, on_routed, q, SCRIPT_ROUTE, k, args, lens, 2)) != 0)
		free(q);
	return rv;
}

int ptcp_rdvd_cluster_send(struct ptcp_rdvd_cluster *cl, const uint8_t inst[PTCP_RDVD_INST_LEN],
                           struct ptcp_rdvd_cmsg *m)
{
	uint8_t buf[PTCP_RDVD_CMSG_MAX];
	char chan[CHAN_TEXT], hex[2 * PTCP_RDVD_INST_LEN + 1];
	const char *argv[3] = { "PUBLISH", chan, (const char *)buf };
	size_t argl[3];
	int n, rv;

	if ((rv = may_send(cl)) != 0)
		return rv;
	memcpy(m->sender, cl->id, PTCP_RDVD_INST_LEN);
	n = ptcp_rdvd_cmsg_emit(m, buf, sizeof(buf));
	if (n < 0)
		return -EINVAL;
	snprintf(chan, sizeof(chan), INST_PREFIX "%s", ptcp_rdvd_inst_hex(inst, hex));
	argl[0] = 7;
	argl[1] = strlen(chan);
	argl[2] = (size_t)n;
	if (redisAsyncCommandArgv(cl->cmd, on_done, cl, 3, argv, argl) != REDIS_OK)
		return -ENOMEM;
	cl->pending++;
	cl->published++;
	return 0;
}

/* --- life ---------------------------------------------------------------------- */

int ptcp_rdvd_cluster_new(struct ptcp_rdvd_cluster **out, struct event_base *base,
                          const struct ptcp_rdvd_cluster_config *cfg,
                          const struct ptcp_rdvd_cluster_ops *ops, void *user)
{
	struct ptcp_rdvd_cluster *cl = calloc(1, sizeof(*cl));
	char ep[64];

	*out = NULL;
	if (!cl)
		return -ENOMEM;
	cl->base = base;
	cl->cfg = *cfg;
	cl->ops = *ops;
	cl->user = user;
	cl->backoff_ms = BACKOFF_MIN_MS;
	randombytes_buf(cl->id, sizeof(cl->id));
	ptcp_rdvd_inst_hex(cl->id, cl->id_hex);
	snprintf(cl->chan, sizeof(cl->chan), INST_PREFIX "%s", cl->id_hex);
	ptcp_endpoint_format(&cfg->redis, ep, sizeof(ep));
	snprintf(cl->where, sizeof(cl->where), "%s", ep);
	/* hiredis wants the address alone, without brackets or port */
	if (!inet_ntop(cfg->redis.family == PTCP_AF_INET6 ? AF_INET6 : AF_INET, cfg->redis.addr,
		       cl->addr, sizeof(cl->addr))) {
		free(cl);
		return -EINVAL;
	}
	cl->retry = evtimer_new(base, on_retry, cl);
	cl->deadline = evtimer_new(base, on_deadline, cl);
	if (!cl->retry || !cl->deadline) {
		ptcp_rdvd_cluster_free(cl);
		return -ENOMEM;
	}
	connect_now(cl);
	*out = cl;
	return 0;
}

void ptcp_rdvd_cluster_free(struct ptcp_rdvd_cluster *cl)
{
	redisAsyncContext *cmd, *sub;

	if (!cl)
		return;
	cmd = cl->cmd;
	sub = cl->sub;
	cl->cmd = cl->sub = NULL;
	cl->up = false;
	/* pending route callbacks run with NULL replies: the server is
	 * freeing too, and ignores them (ops->routed checks its own state) */
	if (cmd)
		redisAsyncFree(cmd);
	if (sub)
		redisAsyncFree(sub);
	if (cl->retry)
		event_free(cl->retry);
	if (cl->deadline)
		event_free(cl->deadline);
	free(cl);
}

bool ptcp_rdvd_cluster_up(const struct ptcp_rdvd_cluster *cl)
{
	return cl && cl->up;
}

const uint8_t *ptcp_rdvd_cluster_id(const struct ptcp_rdvd_cluster *cl)
{
	return cl->id;
}

void ptcp_rdvd_cluster_stats(const struct ptcp_rdvd_cluster *cl, char *buf, size_t len)
{
	snprintf(buf, len, " redis=%s redis_published=%llu redis_received=%llu redis_bad=%llu "
		 "redis_refused=%llu redis_losses=%llu", cl->up ? "up" : "down", cl->published,
		 cl->received, cl->bad, cl->refused, cl->losses);
}
