/* The client half of the rendezvous protocol (docs/protocol.md), on a
 * libevent bufferevent over a kernel TCP socket.
 *
 * The socket is bound, with SO_REUSEPORT, to the local port the engine
 * will use for the peer-to-peer connection (and has reserved, rawsock.h): the NAT mapping the server
 * observes for it is the one the peer will be told to reach. The client
 *
 *   1. connects to the server and sends HELLO (our key, a fresh nonce and
 *      the private endpoint: the socket's local address unless told
 *      otherwise);
 *   2. checks the CHALLENGE: the server's key (against the pin, if one
 *      is configured), its signature of the transcript (rdvmsg.h) under
 *      that key, the endpoint it observed; answers with our signature of
 *      the same transcript and gets REGISTERED; on_registered reports the
 *      public endpoint the server observed;
 *   3. sends the one request the caller made with ptcp_rdv_client_listen()
 *      or ptcp_rdv_client_connect() (made at any time: a request made
 *      before registration waits for it, except one made from
 *      on_challenged, which follows the AUTH at once: the server reads
 *      them in order, so it saves a round trip);
 *   4. delivers the answer: on_match with the other peer's endpoints, its
 *      ISN, our role and the start time, or on_error with the server's
 *      code. Then the caller may make the next request (a listener
 *      re-arms with a fresh ISN); a listener that serves as many peers
 *      as it will says so with ptcp_rdv_client_busy() instead, and its
 *      next ptcp_rdv_client_listen() takes peers again;
 *
 * Every field of every server message is checked before it is used (the
 * codec's canonical form, then: the observed and the peer's endpoints of
 * our family and usable, the bounds of rdvmsg.h on the idle timeout, the
 * wait and the start delay, the MATCH for our request, PONGs for our
 * PINGs, non-fatal ERRORs only for a request): anything else is a fatal
 * -EPROTO naming the field and its value.
 *   5. sends PINGs at a third of the server's idle timeout, so neither the
 *      server nor a NAT on the way forgets the connection, and gives up
 *      when the server stays silent for a whole idle timeout.
 *
 * Name resolution is not here: the server's address comes resolved. The
 * c-ares step (A and AAAA records, and SRV _p2ptcp._tcp.<domain> for a
 * bare domain) will sit in front of ptcp_rdv_client_new(), trying each
 * address it finds in turn (a new client per address).
 *
 * Callbacks may call ptcp_rdv_client_free() on their own client. */
#ifndef PTCP_RDVCLIENT_H
#define PTCP_RDVCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "addr.h"
#include "identity.h"
#include "rdvmsg.h"
#include "tstamp.h"

struct event_base;
struct ptcp_rdv_client;

/* What the server told us about the other peer. */
struct ptcp_rdv_match {
	uint8_t peer_key[PTCP_RDV_KEY_LEN];
	struct ptcp_endpoint peer_public;   /* as the server saw it (after NAT) */
	struct ptcp_endpoint peer_private;  /* as the peer reported it; family
	                                       PTCP_AF_NONE when unknown */
	uint32_t peer_isn;                  /* the ISN the peer's SYN will carry */
	uint32_t isn;                       /* ours, as we sent it */
	enum ptcp_rdv_role role;            /* initiator or responder of the
	                                       peers' encrypted handshake */
	uint32_t start_ms;                  /* the delay as received */
	ptcp_ts start;                      /* monotonic ns to fire the first
	                                       SYN: receipt + start_ms */
	struct ptcp_endpoint self_public;   /* us, as the server saw us */
	struct ptcp_endpoint self_private;  /* what we reported */
	/* The relay offer (docs/protocol.md, "The relay"): if punching
	 * fails, both peers may join this match at the relay with the
	 * token. */
	bool has_relay;
	struct ptcp_endpoint relay;         /* usable, of our IP version */
	uint8_t relay_token[PTCP_RDV_TOKEN_LEN];
	uint64_t server_rtt;                /* ns: our round trip to the server
	                                       (HELLO to CHALLENGE) */
	/* Port prediction (rdvmsg.h): */
	bool predicted;                     /* the peer aims at the ports our
	                                       symmetric NAT will likely give */
	struct ptcp_rdv_pattern peer_pattern;  /* the peer's NAT allocates
	                                          ports so (delta 0: no pattern) */
};

struct ptcp_rdv_client_config {
	struct event_base *base;
	const struct ptcp_identity *id;     /* used by pointer: keep it alive */
	struct ptcp_endpoint server;        /* resolved address and port */
	struct ptcp_endpoint local;         /* address to bind (family
	                                       PTCP_AF_NONE: any) and port (0:
	                                       the kernel picks one) */
	int fd;                             /* -1: the client makes the socket
	                                       with ptcp_rdv_socket(); else an
	                                       unconnected TCP socket the caller
	                                       made and bound, which the client
	                                       now owns */
	bool has_private;                   /* report private_ep instead of the
	                                       socket's local address */
	struct ptcp_endpoint private_ep;    /* family PTCP_AF_NONE: report none */
	bool has_server_key;                /* pin: refuse a server whose key
	                                       is not server_key */
	uint8_t server_key[PTCP_RDV_KEY_LEN];
	bool zrtt;                          /* register in the first message
	                                       (HELLO0, 0-RTT; open, bound to
	                                       the server's address, without
	                                       the pin),
	                                       a request made before the
	                                       connection is up right behind
	                                       it (docs/protocol.md,
	                                       "Registration in one flight") */
	uint64_t register_timeout;          /* ns from the start to REGISTERED;
	                                       0: 10 s */

	/* Optional: the CHALLENGE verified and our AUTH is on its way;
	 * observed is our public endpoint. A request made from here goes
	 * out right behind the AUTH (pipelined), without waiting for
	 * REGISTERED; on_registered follows as always. */
	void (*on_challenged)(struct ptcp_rdv_client *c, void *user,
	                      const struct ptcp_endpoint *observed);
	/* Registration is done; observed is our public endpoint. */
	void (*on_registered)(struct ptcp_rdv_client *c, void *user,
	                      const struct ptcp_endpoint *observed);
	/* The answer to a request: a peer to punch to. */
	void (*on_match)(struct ptcp_rdv_client *c, void *user, const struct ptcp_rdv_match *m);
	/* A failure. code > 0 is the server's enum ptcp_rdv_code (a CONNECT
	 * to a peer that said BUSY fails at once with PTCP_RDV_E_BUSY, not
	 * fatal); code < 0 a local one, a negative errno: -ECONNREFUSED, -ETIMEDOUT (connect,
	 * registration or a silent server), -ECONNRESET (the server closed),
	 * -EKEYREJECTED (the server's key is not the pinned one; msg quotes
	 * both ids), -EPROTO (the server broke the protocol, or its signature
	 * does not verify under its key), -EPROTONOSUPPORT (the server
	 * refused our HELLO0 as a message it does not know: an older server;
	 * register again without zrtt). Not fatal, -EAGAIN: the server
	 * challenged our HELLO0 and dropped the request behind it, and our
	 * NAT changed the port: the request is the caller's again (make it
	 * once the port is known to work, after a probe). When fatal, the connection
	 * is gone and the client only waits to be freed; otherwise only the
	 * request failed. msg is one line for the user. */
	void (*on_error)(struct ptcp_rdv_client *c, void *user, int code, bool fatal,
	                 const char *msg);
	void *user;
};

/* Fills cfg with defaults: no callbacks, fd -1, any local endpoint. */
void ptcp_rdv_client_config_default(struct ptcp_rdv_client_config *cfg);

/* Makes a non-blocking, close-on-exec TCP socket of the family of server
 * with SO_REUSEPORT (so it can share the port with the engine's
 * reservation, rawsock.h, which only sockets of our uid can), bound to local (family PTCP_AF_NONE: any address;
 * port 0: any port), with TCP_FASTOPEN_CONNECT where the kernel has it
 * (the first flight rides the SYN once the server gave us a cookie). Returns 0 with *fd set, -EAFNOSUPPORT for mismatched
 * or unknown families, or the errno of socket/setsockopt/bind, negated. */
int ptcp_rdv_socket(const struct ptcp_endpoint *local, const struct ptcp_endpoint *server, int *fd);

/* Creates a client and starts connecting. Returns 0 with *out set, or
 * -EINVAL (no base, id or on_error; server not an address with a port),
 * -ENOMEM, -EIO (no random source), or an error of ptcp_rdv_socket() or
 * connect(2). Failures after the start are reported through on_error,
 * never from inside this call. */
int ptcp_rdv_client_new(struct ptcp_rdv_client **out, const struct ptcp_rdv_client_config *cfg);

/* Closes the connection and frees the client. NULL is ignored. */
void ptcp_rdv_client_free(struct ptcp_rdv_client *c);

/* Asks to be matched with whoever asks for us: isn is our ISN for that
 * match (from a secure random source); allow[0..n_allow) restricts who may
 * ask (0: anyone), at most PTCP_RDV_ALLOW_MAX keys. Ends a busy state
 * (ptcp_rdv_client_busy()); right after a BUSY that replaced a LISTEN it
 * goes out once that LISTEN's answer is in (answers come in order).
 * Returns 0, -EINVAL, -EBUSY (a request is outstanding) or -ENOTCONN (the
 * client failed). */
int ptcp_rdv_client_listen(struct ptcp_rdv_client *c, uint32_t isn,
                           const uint8_t (*allow)[PTCP_RDV_KEY_LEN], unsigned n_allow);

/* Asks for the peer with key: isn is our ISN; wait_ms is how long the
 * server may hold the request when the peer is registered but not yet
 * waiting for us (0: answer at once; the server caps it). Returns 0,
 * -EBUSY or -ENOTCONN. */
int ptcp_rdv_client_connect(struct ptcp_rdv_client *c, const uint8_t key[PTCP_RDV_KEY_LEN],
                            uint32_t isn, uint32_t wait_ms);

/* Tells the server that we serve as many peers as we will: until our
 * next ptcp_rdv_client_listen(), everyone who asks for us (and everyone
 * waiting for us now) gets PTCP_RDV_E_BUSY at once instead of waiting.
 * Allowed at any time a LISTEN is, and while one is outstanding, which it
 * replaces: the server cancels it, and the client swallows that answer
 * (ERROR BUSY). A MATCH the server made for it before it read the BUSY
 * still arrives through on_match: a peer like any other, already told to
 * punch (m->isn says which LISTEN it answers). Made before registration,
 * BUSY is sent on registering (a LISTEN not sent yet is dropped).
 * Returns 0, -EALREADY (busy already: the last word was busy, not
 * listen), -EBUSY (a CONNECT is outstanding: only a listener can be busy)
 * or -ENOTCONN (the client failed). */
int ptcp_rdv_client_busy(struct ptcp_rdv_client *c);

/* True once the server took our HELLO0 (WELCOME): registered in one
 * flight. */
bool ptcp_rdv_client_zrtt(const struct ptcp_rdv_client *c);

/* True when the server acknowledged data in our SYN: our first flight
 * rode it (TCP Fast Open, with a cookie from an earlier connection to
 * this server: ptcp_rdv_socket()). */
bool ptcp_rdv_client_fastopen(const struct ptcp_rdv_client *c);

/* True once REGISTERED arrived (and no fatal error since). */
bool ptcp_rdv_client_registered(const struct ptcp_rdv_client *c);

/* True once registered with a server that passes NAT port patterns
 * (REGISTERED's PTCP_RDV_REG_PREDICT): every request sent after
 * REGISTERED then carries our pattern, if we have one
 * (ptcp_rdv_client_set_pattern()), and its MATCHes may carry the peer's
 * (ptcp_rdv_match.peer_pattern) or say that the peer aims at ours
 * (.predicted). */
bool ptcp_rdv_client_predicts(const struct ptcp_rdv_client *c);

/* Our NAT's pattern for the requests from now on (NULL or delta 0:
 * none: our NAT is not symmetric, or not predictably so). */
void ptcp_rdv_client_set_pattern(struct ptcp_rdv_client *c, const struct ptcp_rdv_pattern *pat);

/* True once registered with a server that said it relays (REGISTERED's
 * PTCP_RDV_REG_RELAY): its MATCHes may carry a relay offer. */
bool ptcp_rdv_client_relays(const struct ptcp_rdv_client *c);

/* The key of the server, proven by its signature in the CHALLENGE.
 * Returns 0 with key filled, or -ENOTCONN before the CHALLENGE checked
 * out. */
int ptcp_rdv_client_server_key(const struct ptcp_rdv_client *c, uint8_t key[PTCP_RDV_KEY_LEN]);

/* The socket's local endpoint (the port the engine must use). Returns 0
 * or -ENOTCONN before the socket is bound. */
/* The probe port the server named in REGISTERED (rendezvousd
 * --probe-port): the same server answers on that port of its address too.
 * 0: none, or not registered yet. */
uint16_t ptcp_rdv_client_probe_port(const struct ptcp_rdv_client *c);

int ptcp_rdv_client_local(const struct ptcp_rdv_client *c, struct ptcp_endpoint *local);

/* --- address helpers, also for rendezvousd ---------------------------------- */

/* sockaddr_in/_in6 to an endpoint; an IPv4-mapped IPv6 address becomes
 * IPv4. Returns 0 or -EAFNOSUPPORT. */
int ptcp_rdv_from_sockaddr(struct ptcp_endpoint *ep, const struct sockaddr *sa, socklen_t len);

/* An endpoint to a sockaddr_in/_in6 in *ss. Returns the length, or
 * -EAFNOSUPPORT for family PTCP_AF_NONE or an unknown one. */
int ptcp_rdv_to_sockaddr(const struct ptcp_endpoint *ep, struct sockaddr_storage *ss);

/* Parses a numeric "ADDR", "ADDR:PORT", "[V6ADDR]", "[V6ADDR]:PORT" or a
 * bare IPv6 address; default_port is used when there is no port. Returns
 * 0, or -EINVAL with "invalid address: 's'" or "invalid port: 's'" in
 * err. (Host names are for the c-ares resolver.) */
int ptcp_rdv_parse_hostport(const char *s, uint16_t default_port, struct ptcp_endpoint *ep,
                            char *err, size_t errlen);

#endif
