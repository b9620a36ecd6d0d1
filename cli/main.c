/* p2ptcp: peer-to-peer TCP over raw sockets.
 *
 * A table of subcommands in the manner of wg(8): each has a name, the
 * function that runs it and one line for the overview. `p2ptcp help CMD`
 * and `p2ptcp CMD --help` print the subcommand's own usage. */
#include <stdio.h>
#include <string.h>

#include "cmd_identity.h"
#include "direct.h"
#include "log.h"
#include "rdvmode.h"
#include "status.h"

#ifndef PTCP_VERSION
#define PTCP_VERSION "0.1.0"
#endif

static int cmd_help(int argc, char *argv[]);
static int cmd_version(int argc, char *argv[]);

static const struct {
	const char *name;
	int (*fn)(int argc, char *argv[]);
	const char *description;
} subcommands[] = {
	{ "connect", ptcp_cmd_connect, "Connects to a peer by its peer id (or to --peer ADDR:PORT)" },
	{ "listen", ptcp_cmd_listen, "Waits for peers to connect by our peer id (or on --local-port)" },
	{ "keygen", ptcp_cmd_keygen, "Makes the key pair that is this peer's identity" },
	{ "id", ptcp_cmd_id, "Prints this peer's id" },
	{ "help", cmd_help, "Shows this overview, or the usage of one subcommand" },
	{ "version", cmd_version, "Shows the version" },
};

#define N_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void show_usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: p2ptcp <cmd> [<args>]\n\n"
		   "p2ptcp carries a TCP connection between two peers on a userspace TCP engine\n"
		   "over raw sockets; standard input goes to the peer, the peer's bytes to\n"
		   "standard output. Peers find each other by peer id through a rendezvous\n"
		   "server and open the connection through both NATs:\n\n"
		   "  p2ptcp keygen                          (once, on each side)\n"
		   "  p2ptcp listen --rendezvous HOST        (one side)\n"
		   "  p2ptcp connect <peer-id> --rendezvous HOST\n\n"
		   "Available subcommands:\n");
	for (i = 0; i < N_SUBCOMMANDS; i++)
		fprintf(f, "  %-9s %s\n", subcommands[i].name, subcommands[i].description);
	fprintf(f, "\nYou may pass '--help' to any of these subcommands to view its usage.\n");
}

static int find(const char *name)
{
	size_t i;

	for (i = 0; i < N_SUBCOMMANDS; i++)
		if (strcmp(subcommands[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int cmd_help(int argc, char *argv[])
{
	char help[] = "--help";
	char *args[3];
	int i;

	if (argc < 2) {
		show_usage(stdout);
		return PTCP_EXIT_OK;
	}
	if (argc > 2) {
		ptcp_error("too many arguments to help: '%s'", argv[2]);
		return PTCP_EXIT_USAGE;
	}
	i = find(argv[1]);
	if (i < 0) {
		ptcp_error("invalid subcommand: '%s'", argv[1]);
		return PTCP_EXIT_USAGE;
	}
	if (subcommands[i].fn == cmd_help || subcommands[i].fn == cmd_version) {
		printf("Usage: p2ptcp %s\n\n%s.\n", subcommands[i].name, subcommands[i].description);
		return PTCP_EXIT_OK;
	}
	args[0] = argv[1];
	args[1] = help;
	args[2] = NULL;
	return subcommands[i].fn(2, args);
}

static int cmd_version(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	printf("p2ptcp %s\n", PTCP_VERSION);
	return PTCP_EXIT_OK;
}

int main(int argc, char *argv[])
{
	int i;

	ptcp_log_set_prog("p2ptcp");
	if (argc < 2) {
		show_usage(stderr);
		return PTCP_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		show_usage(stdout);
		return PTCP_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		return cmd_version(argc - 1, argv + 1);
	i = find(argv[1]);
	if (i < 0) {
		ptcp_error("invalid subcommand: '%s'", argv[1]);
		show_usage(stderr);
		return PTCP_EXIT_USAGE;
	}
	/* connect/listen by peer id go through the rendezvous server;
	 * with --peer ADDR:PORT they stay in direct mode. */
	if (subcommands[i].fn == ptcp_cmd_connect && ptcp_rdv_mode_wanted(argc - 1, argv + 1, false))
		return ptcp_cmd_rdv_connect(argc - 1, argv + 1);
	if (subcommands[i].fn == ptcp_cmd_listen && ptcp_rdv_mode_wanted(argc - 1, argv + 1, true))
		return ptcp_cmd_rdv_listen(argc - 1, argv + 1);
	return subcommands[i].fn(argc - 1, argv + 1);
}
