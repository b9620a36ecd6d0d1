/* rendezvousd: the rendezvous server of p2ptcp. Parses the settings,
 * loads (or makes) the server key, opens the listeners and runs the
 * libevent loop until SIGINT or SIGTERM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "config.h"
#include "identity.h"
#include "peerid.h"
#include "rdvlog.h"
#include "rdvmsg.h"
#include "server.h"

#ifndef PTCP_VERSION
#define PTCP_VERSION "0.1.0"
#endif

#define EXIT_RUNTIME 1   /* cannot listen, no server key, out of memory */
#define EXIT_USAGE 2     /* bad command line or config file */

/* Descriptors kept for listeners, logging and the like. */
#define FD_RESERVE 64

static struct ptcp_rdvd_server *server;

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;
	struct timeval flush = { 0, 300 * 1000 };

	(void)what;
	rlog_warn("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	/* Tell every client, then give the messages a moment to leave. */
	ptcp_rdvd_server_stop(server);
	event_base_loopexit(base, &flush);
}

static void on_stats(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	ptcp_rdvd_server_log_stats(server);
}

/* Raises the descriptor limit to the hard limit and makes max_clients fit
 * under it. */
static void fit_fd_limit(struct ptcp_rdvd_config *cfg)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)cfg->max_clients + FD_RESERVE) {
		unsigned fit = rl.rlim_cur > 2 * FD_RESERVE ? (unsigned)rl.rlim_cur - FD_RESERVE : FD_RESERVE;

		rlog_warn("max-clients %u does not fit the descriptor limit %llu: using %u",
			  cfg->max_clients, (unsigned long long)rl.rlim_cur, fit);
		cfg->max_clients = fit;
	}
}

/* --keygen: a new key in cfg->key_dir (never over an existing one), its
 * id on stdout. --id: the id of the existing key. Returns the exit code. */
static int key_command(const struct ptcp_rdvd_config *cfg)
{
	struct ptcp_identity id;
	char err[2 * PTCP_RDVD_PATH_MAX + 256], text[PTCP_PEERID_TEXT_MAX];
	bool dir_opt;
	int rv;

	if (cfg->keygen)
		rv = ptcp_identity_generate(&id) != 0 ? -EIO :
		     ptcp_identity_save(&id, cfg->key_dir, false, err, sizeof(err));
	else
		rv = ptcp_identity_load(&id, cfg->key_dir, err, sizeof(err));
	/* the option to repeat in a hint, when it is not the default */
	dir_opt = strcmp(cfg->key_dir, PTCP_RDVD_KEY_DIR) != 0;
	if (rv == -EIO && cfg->keygen)
		snprintf(err, sizeof(err), "libsodium cannot start");
	if (rv == -ENOENT && !cfg->keygen)
		snprintf(err, sizeof(err), "no server key in '%s': run 'rendezvousd --keygen%s%s' "
			 "or start the server once", cfg->key_dir, dir_opt ? " --key-dir " : "",
			 dir_opt ? cfg->key_dir : "");
	if (rv == -EEXIST)
		snprintf(err, sizeof(err), "'%s/%s' exists already; 'rendezvousd --id%s%s' shows its id",
			 cfg->key_dir, PTCP_IDENTITY_FILE, dir_opt ? " --key-dir " : "",
			 dir_opt ? cfg->key_dir : "");
	if (rv != 0) {
		rlog_error("%s", err);
		return EXIT_RUNTIME;
	}
	ptcp_peerid_encode(text, sizeof(text), id.pk, NULL);
	ptcp_identity_wipe(&id);
	printf("%s\n", text);
	return 0;
}

/* The server key from cfg->key_dir, made there on the first start. */
static int load_key(const struct ptcp_rdvd_config *cfg, struct ptcp_identity *id)
{
	char err[PTCP_RDVD_PATH_MAX + 256], text[PTCP_PEERID_TEXT_MAX];
	bool made = false;
	int rv = ptcp_identity_load(id, cfg->key_dir, err, sizeof(err));

	if (rv == -ENOENT) {
		made = true;
		rv = ptcp_identity_generate(id);
		if (rv != 0)
			snprintf(err, sizeof(err), "cannot make a server key: libsodium cannot start");
		else
			rv = ptcp_identity_save(id, cfg->key_dir, false, err, sizeof(err));
	}
	if (rv != 0) {
		rlog_error("server key: %s (see --key-dir)", err);
		ptcp_identity_wipe(id);
		return rv;
	}
	ptcp_peerid_encode(text, sizeof(text), id->pk, NULL);
	rlog_warn("server key %s (%s %s/%s); clients may pin it with --rendezvous-key", text,
		  made ? "new, in" : "from", cfg->key_dir, PTCP_IDENTITY_FILE);
	return 0;
}

int main(int argc, char *argv[])
{
	struct ptcp_rdvd_config cfg;
	struct ptcp_identity id;
	struct event_base *base;
	struct event *ev_int, *ev_term, *ev_usr1;
	char err[1024];
	int rv;

	ptcp_rdvd_config_default(&cfg);
	ptcp_rdvd_log_init(false, cfg.log_level);
	if (ptcp_rdvd_config_parse(&cfg, argc, argv, err, sizeof(err)) != 0) {
		rlog_error("%s", err);
		fprintf(stderr, "See 'rendezvousd --help'.\n");
		return EXIT_USAGE;
	}
	if (cfg.help) {
		fputs(ptcp_rdvd_usage, stdout);
		return 0;
	}
	if (cfg.version) {
		printf("rendezvousd %s (protocol version %d)\n", PTCP_VERSION, PTCP_RDV_VERSION);
		return 0;
	}
	if (cfg.keygen || cfg.show_id)
		return key_command(&cfg);
	ptcp_rdvd_log_init(cfg.syslog, cfg.log_level);
	if (load_key(&cfg, &id) != 0) {
		ptcp_rdvd_log_close();
		return EXIT_RUNTIME;
	}
	/* A client that vanishes must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	fit_fd_limit(&cfg);

	base = event_base_new();
	if (!base) {
		rlog_error("cannot start libevent");
		ptcp_identity_wipe(&id);
		return EXIT_RUNTIME;
	}
	rv = ptcp_rdvd_server_new(&server, base, &cfg, &id);
	ptcp_identity_wipe(&id);
	if (rv != 0) {
		event_base_free(base);
		ptcp_rdvd_log_close();
		return EXIT_RUNTIME;
	}
	ev_int = evsignal_new(base, SIGINT, on_stop, base);
	ev_term = evsignal_new(base, SIGTERM, on_stop, base);
	ev_usr1 = evsignal_new(base, SIGUSR1, on_stats, NULL);
	if (!ev_int || !ev_term || !ev_usr1 || evsignal_add(ev_int, NULL) != 0 ||
	    evsignal_add(ev_term, NULL) != 0 || evsignal_add(ev_usr1, NULL) != 0) {
		rlog_error("cannot install signal handlers");
		rv = EXIT_RUNTIME;
	} else {
		rlog_warn("ready: max-clients %u, max-per-addr %u, rate %u/s burst %u, "
			  "per IPv4 /24 %u, per IPv6 /56 %u, per IPv6 /48 %u (0: no limit)",
			  cfg.max_clients, cfg.max_per_addr, cfg.rate, cfg.burst,
			  ptcp_rdvd_share_limit(&cfg.max_per_ipv4_24, cfg.max_clients),
			  ptcp_rdvd_share_limit(&cfg.max_per_ipv6_56, cfg.max_clients),
			  ptcp_rdvd_share_limit(&cfg.max_per_ipv6_48, cfg.max_clients));
		rv = event_base_dispatch(base) < 0 ? EXIT_RUNTIME : 0;
	}
	ptcp_rdvd_server_free(server);
	if (ev_int)
		event_free(ev_int);
	if (ev_term)
		event_free(ev_term);
	if (ev_usr1)
		event_free(ev_usr1);
	event_base_free(base);
	if (rv == 0)
		rlog_warn("stopped");
	ptcp_rdvd_log_close();
	return rv;
}
