/* The subcommands of p2ptcp (the table is in main.c). Each takes its own
 * argv (argv[0] is its name) and returns the exit status. */
#ifndef PTCP_CLI_CMDS_H
#define PTCP_CLI_CMDS_H

int ptcp_cmd_connect(int argc, char *argv[]);  /* connect.c */
int ptcp_cmd_listen(int argc, char *argv[]);   /* listen.c */
int ptcp_cmd_keygen(int argc, char *argv[]);   /* keys.c */
int ptcp_cmd_id(int argc, char *argv[]);       /* keys.c */

#endif
