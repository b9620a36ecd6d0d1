/* p2ptcp: direct TCP connections between peers behind NATs.
 *
 * A table of subcommands in the manner of wg(8): each has a name, the
 * function that runs it and one line for the overview. `p2ptcp help CMD`
 * and `p2ptcp CMD --help` print the subcommand's own usage. Everything
 * but option parsing is libp2ptcp's (include/p2ptcp/p2ptcp.h). */
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "log.h"
#include "p2ptcp/p2ptcp.h"
#include "status.h"

static int cmd_help(int argc, char *argv[]);
static int cmd_version(int argc, char *argv[]);

static const struct {
	const char *name;
	int (*fn)(int argc, char *argv[]);
	const char *description;
} subcommands[] = {
	{ "connect", ptcp_cmd_connect,
	  "Connects to a peer by its id (or --peer ADDR:PORT) on stdin/stdout" },
	{ "listen", ptcp_cmd_listen,
	  "Serves peers that ask for us (--exec CMD, --forward HOST:PORT, or stdin/stdout)" },
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
		   "p2ptcp opens direct TCP connections between peers behind NATs: a rendezvous\n"
		   "server introduces them by peer id, their SYNs cross through both NATs, and\n"
		   "a secure channel proves both ids and encrypts the stream.\n\n"
		   "  p2ptcp keygen                                 once: our key and peer id\n"
		   "  p2ptcp listen --allow <id> --forward 127.0.0.1:22   serve ssh to a peer\n"
		   "  ssh -o ProxyCommand='p2ptcp connect %%h' <peer-id>   reach it\n\n"
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
	printf("p2ptcp %s\n", ptcp_version());
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
	return subcommands[i].fn(argc - 1, argv + 1);
}
