/* Rendezvous mode of `connect` and `listen`: peers found by peer id
 * through rendezvousd (docs/protocol.md, docs/nat-traversal.md), then the
 * same session as direct mode (session.h) with hole punching. */
#ifndef PTCP_CLI_RDVMODE_H
#define PTCP_CLI_RDVMODE_H

#include <stdbool.h>

/* True when `connect` (listen false) or `listen` with these arguments
 * (argv[0] is the subcommand) is meant for rendezvous mode: no --peer, and
 * either a peer id (a non-option argument), --rendezvous, --allow, or
 * P2PTCP_RENDEZVOUS in the environment; for listen also no --local-port
 * with a rendezvous server in the config file. --help goes to direct mode
 * unless one of those is there too. */
bool ptcp_rdv_mode_wanted(int argc, char *argv[], bool listen);

/* `p2ptcp connect <peer-id>` and `p2ptcp listen [--allow <peer-id>...]`
 * through the rendezvous server. Return the exit code (status.h). */
int ptcp_cmd_rdv_connect(int argc, char *argv[]);
int ptcp_cmd_rdv_listen(int argc, char *argv[]);

#endif
