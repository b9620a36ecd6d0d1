/* One p2ptcp per TCP port in a network namespace.
 *
 * The port reservation (rawsock.h) is a kernel TCP socket bound with
 * SO_REUSEPORT and without SO_REUSEADDR. Under the kernel's bind rules
 * (inet_bind_conflict(), Linux 6.1 and later alike) every other socket
 * that binds the port, on our address or the wildcard, conflicts with it
 * unless that socket also has SO_REUSEPORT and belongs to the same uid:
 * other users are kept off the port, listening or not, and our own
 * rendezvous socket may share it. A second process of the same uid could
 * share it too, and a second p2ptcp there would see our segments on its
 * raw socket and could reset our connection. So every p2ptcp also holds
 * a lock: an abstract unix socket named "p2ptcp/port/<port>".
 *
 *   - The abstract namespace belongs to the network namespace: two labs,
 *     containers or hosts never collide, and one namespace sees them all.
 *   - bind(2) of a name is atomic: of two p2ptcps that start at the same
 *     moment one gets the name (a look at the nftables tables
 *     p2ptcp_<pid>_<port> could let both through).
 *   - The kernel drops the name when the process ends, however it ends:
 *     no stale lock after SIGKILL.
 *   - It is per port, not per address: a p2ptcp in rendezvous mode
 *     reserves the wildcard address before it knows its own.
 *
 * The lock listens (it never accepts), so that a p2ptcp that finds the
 * name taken can connect to it and learn the holder's pid and uid
 * (SO_PEERCRED) for its message. Anyone may bind such a name: a user who
 * takes it first denies us the port, as binding the port itself would.
 *
 * Functions return 0 or a negative errno value. */
#ifndef PTCP_PORTLOCK_H
#define PTCP_PORTLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Who holds a lock we could not take. */
struct ptcp_portlock_holder {
	bool known;     /* pid and uid are filled in */
	pid_t pid;
	uid_t uid;
};

/* Writes the lock's name for port (without the leading NUL of the
 * abstract namespace) into buf; 32 bytes suffice. Returns buf. */
const char *ptcp_portlock_name(uint16_t port, char *buf, unsigned cap);

/* Takes the lock of port (1..65535): *fd gets the lock's socket, to be
 * kept open as long as the port is ours.
 *
 * Returns 0; -EBUSY when another process holds it (*holder says who,
 * when the kernel tells: holder->known); -EINVAL for port 0; or the
 * -errno of socket(2), bind(2) or listen(2). *fd is -1 on failure. */
int ptcp_portlock_take(int *fd, uint16_t port, struct ptcp_portlock_holder *holder);

/* Closes the lock's socket (the name goes with it) and sets *fd to -1.
 * Safe on -1. */
void ptcp_portlock_release(int *fd);

#endif
