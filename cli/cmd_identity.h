/* The identity subcommands: `p2ptcp keygen` makes the key pair that is the
 * peer's identity, `p2ptcp id` prints its peer id (identity.h). */
#ifndef PTCP_CLI_CMD_IDENTITY_H
#define PTCP_CLI_CMD_IDENTITY_H

/* `p2ptcp keygen [--force] [--dir DIR]`: makes a new Ed25519 key pair,
 * saves it and prints the peer id on standard output. argv[0] is
 * "keygen". Returns the exit code: 0, 1 when the key cannot be written
 * (it exists and --force was not given, or a system call failed), 2 for
 * bad usage. */
int ptcp_cmd_keygen(int argc, char *argv[]);

/* `p2ptcp id [--label NAME] [--dir DIR]`: prints the peer id of the saved
 * key. argv[0] is "id". Returns 0, 1 when the key is missing, corrupt,
 * readable by others or unreadable, 2 for bad usage. */
int ptcp_cmd_id(int argc, char *argv[]);

#endif
