/* Rendezvous messages on plain blocking sockets, for the test tools that
 * play a client or a server without the client library (tests/tools/
 * rdvpeer.c's hostile clients, rdvmitm.c's malicious servers). */
#ifndef PTCP_TEST_RDVWIRE_H
#define PTCP_TEST_RDVWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "rdvmsg.h"

/* Monotonic milliseconds. */
uint64_t rdvwire_now_ms(void);

/* A blocking TCP connection to server, from bind's address (port 0: any;
 * NULL: any address). Returns the fd or a negative errno. */
int rdvwire_dial(const struct ptcp_endpoint *server, const struct ptcp_endpoint *bind);

/* A listening TCP socket on ep (SO_REUSEADDR). Returns the fd or a
 * negative errno. */
int rdvwire_listen(const struct ptcp_endpoint *ep);

/* Writes all n bytes (EINTR retried, no SIGPIPE). Returns 0 or -errno. */
int rdvwire_send_all(int fd, const void *p, size_t n);

/* Emits m and writes it; exits the program (status 2) when m does not
 * encode, a bug of the tool. Returns 0 or -errno. */
int rdvwire_send(int fd, const struct ptcp_rdv_msg *m);

/* Reads one message within timeout_ms, never a byte past it. Returns 1
 * with *m, 0 on EOF or reset, -ETIMEDOUT, -EINTR, or -EPROTO for bytes
 * that are not a message. */
int rdvwire_recv(int fd, struct ptcp_rdv_msg *m, int timeout_ms);

#endif
