/* rendezvousd's listening TCP sockets: the rendezvous ports (server.c)
 * and the relay port (relay.c) open theirs the same way. */
#ifndef PTCP_RDVD_TCPLISTEN_H
#define PTCP_RDVD_TCPLISTEN_H

#include <event2/listener.h>

#include "addr.h"

/* Listens on ep (an IPv6 address: IPv6 only; SO_REUSEADDR, a backlog of
 * 1024) with an evconnlistener on base that calls cb, and ecb on accept
 * errors, with arg. role names the port in the log lines ("relay"), or is
 * NULL for the rendezvous port, which also gets TCP Fast Open (it works
 * where net.ipv4.tcp_fastopen has the server bit 0x2): "listening on ADDR
 * (TCP Fast Open on)" (or "off: why") or "ROLE listening on ADDR", and
 * "cannot listen on ADDR[ (ROLE)]: why" on failure. Returns the
 * listener, or NULL with *err set to a negative errno (-ENOMEM when the
 * listener cannot be made). */
struct evconnlistener *ptcp_rdvd_listen(struct event_base *base, const struct ptcp_endpoint *ep,
                                        const char *role, evconnlistener_cb cb,
                                        evconnlistener_errorcb ecb, void *arg, int *err);

#endif
