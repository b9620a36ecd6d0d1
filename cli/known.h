/* known_servers: the rendezvous servers' keys that p2ptcp has met, as
 * ssh's known_hosts. After a registration that proved a server's key
 * (its signature over our fresh nonce), `connect` and `listen` record the
 * key under the server's name; the next contact pins it, and so
 * registers in one flight (0-RTT), and a server that shows another key
 * is refused. The library writes no file: it takes the pin
 * (settings.rendezvous_key) and reports the proven key
 * (ptcp_node_rendezvous_key()); this module is the CLI's file.
 *
 * The file, DIR/known_servers (DIR: --dir, else $XDG_CONFIG_HOME/p2ptcp,
 * else ~/.config/p2ptcp), is text: one server a line, its name and its
 * id separated by blanks,
 *
 *     203.0.113.10:7450 a3fl4qg7sudmyaeloyxroytx4nbrgc3ogkzx5vwwhlkbqboed34stca
 *
 * blank lines and lines that start with '#' are ignored. The name is the
 * server as the user named it, HOST:PORT, the host in lower case (an
 * IPv6 address in brackets) and the port 7450 when none was given. It is
 * rewritten whole on each change (a temporary file beside it, renamed
 * over it, mode 0600). docs/security.md says what it protects. */
#ifndef PTCP_CLI_KNOWN_H
#define PTCP_CLI_KNOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2ptcp/p2ptcp.h"

#define PTCP_KNOWN_FILE "known_servers"
#define PTCP_KNOWN_NAME_MAX 280     /* bytes of a record's name, with NUL */
#define PTCP_KNOWN_LINE_MAX 512     /* bytes of a line, with its newline */

/* Where one server's record is (or goes). */
struct ptcp_known {
	char path[4200];                /* DIR/known_servers */
	char name[PTCP_KNOWN_NAME_MAX]; /* the server's name in it */
	unsigned line;                  /* its line (from 1); 0: no record */
	uint8_t key[PTCP_ID_LEN];       /* the recorded key, when line > 0 */
};

/* The name server ("HOST", "HOST:PORT", "[V6]:PORT" or a bare IPv6
 * address, without an "<id>@") is recorded under, into buf. Returns 0,
 * or -1 with "invalid rendezvous address: 's'" in err. */
int ptcp_known_name(const char *server, char *buf, size_t cap, char *err, size_t errlen);

/* One line of the file (its newline may be there). Returns 1 with name
 * (cap bytes) and key filled for a record, 0 for a blank or comment
 * line, -1 for a malformed one. */
int ptcp_known_parse_line(const char *line, char *name, size_t cap, uint8_t key[PTCP_ID_LEN]);

/* Finds the record of server in dir's known_servers (dir NULL: the
 * default directory) and fills k (k->line 0: none, also when there is no
 * file). Returns 0, or -1 with one line in err: "FILE:LINE: malformed
 * line 'TEXT' (...)", "FILE: writable by others ...", "cannot read FILE:
 * ..." or no directory. */
int ptcp_known_lookup(struct ptcp_known *k, const char *dir, const char *server, char *err,
                      size_t errlen);

/* Records key for k->name in k->path: its line replaced (others for the
 * same name dropped) or one appended; the file made (mode 0600, with a
 * comment on top) when there is none. Atomic: a temporary file beside it
 * is renamed over it. On success k->line and k->key say the new record.
 * Returns 0, or -1 with "cannot record ... in FILE: REASON" in err. */
int ptcp_known_record(struct ptcp_known *k, const uint8_t key[PTCP_ID_LEN], char *err,
                      size_t errlen);

#endif
