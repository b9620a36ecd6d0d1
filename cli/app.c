#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "app.h"
#include "clock.h"
#include "log.h"

static const int signals[3] = { SIGINT, SIGTERM, SIGHUP };

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct ptcp_app *app = arg;

	(void)what;
	if (app->on_signal)
		app->on_signal(app, (int)sig);
}

int ptcp_app_init(struct ptcp_app *app, const struct ptcp_cli_opts *o, int base_level,
		  void (*cb)(struct ptcp_app *app, int signo), void *user)
{
	struct event_config *ec;
	int i;

	memset(app, 0, sizeof(*app));
	app->o = o;
	app->on_signal = cb;
	app->user = user;
	app->known = o->known;
	ptcp_log_set_start(ptcp_clock_now());
	ptcp_log_set_level(o->verbose ? PTCP_LOG_INFO + o->verbose - 1 : base_level);
	if (o->syslog)
		ptcp_log_set_syslog(true);
	/* A reader of standard output that goes away must show up as EPIPE
	 * from write(2), not kill us before the peer is told. */
	signal(SIGPIPE, SIG_IGN);
	ec = event_config_new();
	if (ec) {
		/* Retransmission timers want better than epoll's millisecond. */
		event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
		app->base = event_base_new_with_config(ec);
		event_config_free(ec);
	}
	if (!app->base) {
		ptcp_error("cannot set up the event loop");
		return -1;
	}
	for (i = 0; i < 3; i++) {
		app->ev_sig[i] = evsignal_new(app->base, signals[i], on_signal, app);
		if (!app->ev_sig[i] || evsignal_add(app->ev_sig[i], NULL) != 0) {
			ptcp_error("cannot set up the event loop");
			return -1;
		}
	}
	return 0;
}

void ptcp_app_fini(struct ptcp_app *app)
{
	int i;

	for (i = 0; i < 3; i++)
		if (app->ev_sig[i])
			event_free(app->ev_sig[i]);
	if (app->base)
		event_base_free(app->base);
	if (app->o && app->o->syslog)
		ptcp_log_set_syslog(false);
	memset(app, 0, sizeof(*app));
}

void ptcp_app_log(void *user, enum ptcp_log_level level, const char *line)
{
	(void)user;
	ptcp_log((int)level, "%s", line);
}

void ptcp_app_settings(const struct ptcp_cli_opts *o, ptcp_settings *s)
{
	static char local_addr[48];

	ptcp_settings_default(s);
	s->log_level = (enum ptcp_log_level)(o->verbose ? PTCP_LOG_INFO + o->verbose - 1 : PTCP_LOG_NOTICE);
	if (s->log_level > PTCP_LOG_DEBUG)
		s->log_level = PTCP_LOG_DEBUG;
	s->key_dir = o->dir;
	s->rendezvous = o->direct ? NULL : o->rendezvous;
	s->rendezvous_key = o->rendezvous_key;
	if (o->has_local_addr &&
	    inet_ntop(o->local.family == PTCP_AF_INET6 ? AF_INET6 : AF_INET, o->local.addr, local_addr,
		      sizeof(local_addr)))
		s->local_addr = local_addr;
	s->local_port = o->local_port;
	s->encrypt = !o->direct && !o->no_encrypt;
	s->relay = !o->no_relay;
	if (o->max_peers)
		s->max_peers = o->max_peers;
	if (o->punch_interval)
		s->punch_interval = o->punch_interval;
	else if (o->direct)
		s->punch_interval = 500 * PTCP_NS_PER_MS;
	if (o->punch_window)
		s->punch_window = o->punch_window;
	if (o->has_ttl)
		s->first_syn_ttl = o->first_syn_ttl;
	else if (o->direct)
		s->first_syn_ttl = 0;
	if (o->wait)
		s->connect_wait = o->wait;
	if (o->sndbuf)
		s->sndbuf = o->sndbuf;
	if (o->rcvbuf)
		s->rcvbuf = o->rcvbuf;
	if (o->no_keepalive)
		s->keepalive_idle = 0;
	else if (o->keepalive)
		s->keepalive_idle = o->keepalive;
	s->linger = o->linger;
	/* A program run for each peer keeps the privileges a child would
	 * have without p2ptcp (no_new_privs would stop setuid programs). */
	s->keep_bounding_set = o->exec_cmd != NULL;
	/* One connection and done: the key goes once the channel has it. */
	s->forget_key = !o->exec_cmd && !o->forward;
	s->gso = o->gso;
	s->gso_auto = !o->no_gso;
	s->pcap_path = o->pcap;
}

void ptcp_app_registered(struct ptcp_app *app, ptcp_node *node)
{
	const struct ptcp_cli_opts *o = app->o;
	struct ptcp_known *k = &app->known;
	char id[PTCP_ID_TEXT_MAX], was[PTCP_ID_TEXT_MAX], err[600];
	uint8_t key[PTCP_ID_LEN];
	unsigned before = k->line;

	if (o->direct || o->no_known || !k->path[0] || ptcp_node_rendezvous_key(node, key) != 0)
		return;
	if (k->line && memcmp(key, k->key, PTCP_ID_LEN) == 0)
		return;   /* as recorded */
	if (!k->line && o->has_server_key)
		return;   /* pinned otherwise: nothing to learn, nothing to replace */
	(void)ptcp_id_format(key, id, sizeof(id));
	(void)ptcp_id_format(k->key, was, sizeof(was));
	if (k->line && !o->has_server_key) {
		/* Not pinned (the record is ours, of this run), and the server
		 * came back with another key: a new contact decides. */
		ptcp_warn("rendezvous server %s now shows the key %s, not %s as recorded in %s:%u: "
			  "left as it is", k->name, id, was, k->path, k->line);
		return;
	}
	if (ptcp_known_record(k, key, err, sizeof(err)) != 0) {
		ptcp_warn("%s (the next contact is unpinned again)", err);
		return;
	}
	if (before)
		ptcp_log(PTCP_LOG_NOTICE, "replaced the key %s of rendezvous server %s in %s:%u with the pinned %s",
			    was, k->name, k->path, k->line, id);
	else
		ptcp_info("recorded the key %s of rendezvous server %s in %s:%u (trust on first use: "
			  "the next contact pins it)", id, k->name, k->path, k->line);
}

/* Where the pin of a refused key came from, when it was the record. */
static bool pinned_by_record(const struct ptcp_cli_opts *o, int err)
{
	return err == PTCP_ERR_RDV_KEY && o->known.line && !o->has_server_key;
}

/* What to do about a key refused under the record's pin, as ssh says it:
 * "the key pinned ..." then this, with the record's file and line. */
#define RECORD_HINT                                                                                \
	"is the one recorded in %s:%u: if the server's key changed on purpose, delete that line or " \
	"give --rendezvous-key"

void ptcp_app_rdv_lost(struct ptcp_app *app, int err)
{
	const struct ptcp_cli_opts *o = app->o;

	if (!pinned_by_record(o, err) || app->key_hinted)
		return;
	app->key_hinted = true;
	ptcp_warn("the key pinned for rendezvous server %s " RECORD_HINT, o->known.name, o->known.path,
		  o->known.line);
}

void ptcp_app_explain(const struct ptcp_cli_opts *o, int err, const ptcp_peer_info *info,
		      const char *detail, char *buf, size_t cap)
{
	const char *peer = o->peer_text ? o->peer_text : "?";
	const char *srv = o->rendezvous ? o->rendezvous : "?";
	const char *where = info && info->remote[0] ? info->remote : "the peer";

	if (!detail || !*detail)
		detail = info ? info->detail : "";
	if (pinned_by_record(o, err)) {
		/* The pin is the record's: say where it is, as ssh does. */
		snprintf(buf, cap, "%s; the key pinned " RECORD_HINT, *detail ? detail : ptcp_strerror(err),
			 o->known.path, o->known.line);
		return;
	}
	switch (err) {
	case PTCP_ERR_RDV_UNREACHABLE:
	case PTCP_ERR_RDV_RESOLVE:
	case PTCP_ERR_RDV_PROTOCOL:
	case PTCP_ERR_RDV_REFUSED:
	case PTCP_ERR_RDV_KEY:
	case PTCP_ERR_SYMMETRIC_NAT:
	case PTCP_ERR_RESET:
	case PTCP_ERR_RELAY:
	case PTCP_ERR_RELAY_REFUSED:
	case PTCP_ERR_RELAY_TIMEOUT:
		/* The library knows the server's address and the cause, or who
		 * sent the RST. */
		if (*detail) {
			snprintf(buf, cap, "%s", detail);
			return;
		}
		break;
	default:
		break;
	}
	switch (err) {
	case PTCP_ERR_UNKNOWN_PEER:
		snprintf(buf, cap, "unknown peer '%s': it is not registered with the rendezvous server "
			 "%s (is `p2ptcp listen` running there?)", peer, srv);
		break;
	case PTCP_ERR_NOT_AUTHORISED:
		snprintf(buf, cap, "peer '%s' does not allow us: our peer id is not in its --allow list",
			 peer);
		break;
	case PTCP_ERR_NOT_WAITING:
		snprintf(buf, cap, "peer '%s' is registered but did not accept within %.0f s", peer,
			 (double)(o->wait ? o->wait : 30 * PTCP_NS_PER_S) / PTCP_NS_PER_S);
		break;
	case PTCP_ERR_BUSY:
		snprintf(buf, cap, "peer '%s' is busy: it serves as many peers as it will "
			 "(--max-peers); try again later", peer);
		break;
	case PTCP_ERR_SELF:
		snprintf(buf, cap, "'%s' is our own peer id", peer);
		break;
	case PTCP_ERR_RDV_UNREACHABLE:
		snprintf(buf, cap, "rendezvous server %s is not reachable (is rendezvousd running "
			 "there?)", srv);
		break;
	case PTCP_ERR_RDV_RESOLVE:
		snprintf(buf, cap, "rendezvous server '%s': the name does not resolve", srv);
		break;
	case PTCP_ERR_RDV_PROTOCOL:
	case PTCP_ERR_RDV_REFUSED:
	case PTCP_ERR_RDV_KEY:
		snprintf(buf, cap, "rendezvous server %s: %s", srv, ptcp_strerror(err));
		break;
	case PTCP_ERR_SYMMETRIC_NAT:
		snprintf(buf, cap, "symmetric NAT: hole punching cannot work through it (our NAT "
			 "gives every connection a new port)");
		break;
	case PTCP_ERR_PUNCH_TIMEOUT:
		snprintf(buf, cap, "no connection after %.0f s of punching to %s: the peer's NAT may "
			 "give each connection a new port (symmetric NAT) or drop every inbound SYN",
			 (double)(o->punch_window ? o->punch_window : 10 * PTCP_NS_PER_S) / PTCP_NS_PER_S,
			 where);
		break;
	case PTCP_ERR_TIMEOUT:
		snprintf(buf, cap, "no connection to %s in time", where);
		break;
	case PTCP_ERR_RESET:
		snprintf(buf, cap, "connection to %s reset", where);
		break;
	case PTCP_ERR_KEEPALIVE:
	case PTCP_ERR_USER_TIMEOUT:
		snprintf(buf, cap, "%s stopped answering (%s): the peer is gone, or the path to it",
			 where, ptcp_strerror(err));
		break;
	default:
		if (err <= PTCP_ERR_CH_PROTOCOL && err >= PTCP_ERR_HANDSHAKE_TIMEOUT)
			snprintf(buf, cap, "secure channel failed: %s; connection reset", ptcp_strerror(err));
		else
			snprintf(buf, cap, "%s", ptcp_strerror(err));
		break;
	}
}
