/* The direct-mode subcommands: both peers are told everything on the
 * command line (addresses, ports, optionally ISNs). */
#ifndef PTCP_CLI_DIRECT_H
#define PTCP_CLI_DIRECT_H

/* `p2ptcp connect ...`: simultaneous open (or --active). argv[0] is
 * "connect". Returns the process exit code (status.h). */
int ptcp_cmd_connect(int argc, char *argv[]);

/* `p2ptcp listen ...`: accepts one connection. Returns the exit code. */
int ptcp_cmd_listen(int argc, char *argv[]);

#endif
