/* listen --exec / --forward: the service. One node, one registration, one
 * local port; every allowed peer at once (up to --max-peers), each with
 * its own child (/bin/sh -c CMD on pipes) or its own TCP connection to
 * HOST:PORT, started only after the secure channel proved the peer's id.
 * It runs until SIGINT or SIGTERM, registering again whenever the
 * rendezvous server comes back; one peer's failure never ends it. */
#ifndef PTCP_CLI_SERVE_H
#define PTCP_CLI_SERVE_H

#include "options.h"

/* Runs the service; returns the exit status: 0 after a signal with no
 * session in progress, 128 + the signal if it cut sessions short, 7 for a
 * symmetric NAT, or the status of a setup failure. */
int ptcp_serve(const struct ptcp_cli_opts *o);

#endif
