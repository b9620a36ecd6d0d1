/* What connect and listen share on top of libp2ptcp: the event loop, the
 * log (stderr or syslog, with -v timestamps), the library's settings from
 * the command line, signals, and the one-line messages for the errors a
 * user meets. */
#ifndef PTCP_CLI_APP_H
#define PTCP_CLI_APP_H

#include <stdbool.h>

#include "options.h"
#include "p2ptcp/p2ptcp.h"

struct event;
struct event_base;

struct ptcp_app {
	const struct ptcp_cli_opts *o;
	struct event_base *base;
	struct event *ev_sig[3];       /* SIGINT, SIGTERM, SIGHUP */
	void (*on_signal)(struct ptcp_app *app, int signo);
	void *user;
	struct ptcp_known known;       /* the server's record as it is now
	                                  (o->known: as it was at the start) */
	bool key_hinted;               /* said where the record that pinned a
	                                  refused key is */
};

/* Sets up logging (the level from -v; default base_level), the event base
 * (precise timers) and the signal events. Returns 0 or -1 (printed). */
int ptcp_app_init(struct ptcp_app *app, const struct ptcp_cli_opts *o, int base_level,
                  void (*on_signal)(struct ptcp_app *app, int signo), void *user);
void ptcp_app_fini(struct ptcp_app *app);

/* The library's log callback: lines go through core/sys/log.c. */
void ptcp_app_log(void *user, enum ptcp_log_level level, const char *line);

/* The node's settings for these options. */
void ptcp_app_settings(const struct ptcp_cli_opts *o, ptcp_settings *s);

/* On node_event PTCP_NODE_REGISTERED: records the server's proven key in
 * known_servers when the server has no record and no pin (trust on first
 * use), or replaces its record when the user pinned another key
 * (--rendezvous-key and the like); a failure to write is a warning. */
void ptcp_app_registered(struct ptcp_app *app, ptcp_node *node);

/* On node_event PTCP_NODE_RDV_LOST that will be retried: when err is a
 * refused key and the pin came from known_servers, warns once where the
 * record is (the library's own warning has the ids). */
void ptcp_app_rdv_lost(struct ptcp_app *app, int err);

/* One line that says why a peer (or the node) failed, in the words of
 * what the user asked: the peer id as typed, the server, the endpoint
 * (from info, which may be NULL), or the library's own detail line where
 * it knows more (detail may be NULL or ""). */
void ptcp_app_explain(const struct ptcp_cli_opts *o, int err, const ptcp_peer_info *info,
                      const char *detail, char *buf, size_t cap);

#endif
