/* The sentence of every error code; sans-IO like the rest of the engine. */
#include "error.h"

const char *ptcp_strerror(int err)
{
	switch ((enum ptcp_error)err) {
	case PTCP_OK: return "success";
	case PTCP_ERR_INVAL: return "invalid argument";
	case PTCP_ERR_NOMEM: return "out of memory";
	case PTCP_ERR_TRUNCATED: return "segment truncated";
	case PTCP_ERR_BAD_OFFSET: return "bad TCP data offset";
	case PTCP_ERR_BAD_OPTION: return "malformed TCP option";
	case PTCP_ERR_CHECKSUM: return "bad TCP checksum";
	case PTCP_ERR_NOBUF: return "output buffer too small";
	case PTCP_ERR_STATE: return "operation not allowed in this connection state";
	case PTCP_ERR_CLOSED: return "connection closing";
	case PTCP_ERR_RESET: return "connection reset by peer";
	case PTCP_ERR_REFUSED: return "connection refused";
	case PTCP_ERR_TIMEOUT: return "connection timed out";
	case PTCP_ERR_ISN_MISMATCH: return "peer's initial sequence number differs from the agreed one";
	case PTCP_ERR_ABORTED: return "connection aborted locally";
	case PTCP_ERR_EXISTS: return "connection already exists";
	case PTCP_ERR_NOTFOUND: return "no such connection";
	case PTCP_ERR_KEEPALIVE: return "peer stopped answering keepalive probes";
	case PTCP_ERR_CH_PROTOCOL: return "the peer does not speak the p2ptcp secure channel (plaintext, or another protocol?)";
	case PTCP_ERR_CH_VERSION: return "the peer speaks another version of the secure channel";
	case PTCP_ERR_CH_ROLE: return "both peers play the same handshake role (both initiator or both responder)";
	case PTCP_ERR_CH_SELF: return "the peer's id is our own (connected to ourselves, or a reflected handshake)";
	case PTCP_ERR_CH_WRONG_PEER: return "the peer is not the expected peer id (wrong peer, or someone in the path)";
	case PTCP_ERR_CH_NOT_ALLOWED: return "the authenticated peer id is not allowed";
	case PTCP_ERR_CH_AUTH: return "the peer's handshake signature does not verify (handshake tampered with or forged)";
	case PTCP_ERR_CH_WEAK_KEY: return "the peer's ephemeral key is invalid (no shared secret)";
	case PTCP_ERR_CH_HANDSHAKE_EOF: return "the connection ended during the secure-channel handshake";
	case PTCP_ERR_CH_MALFORMED: return "malformed record header (bad type or length): stream corrupted";
	case PTCP_ERR_CH_TAMPERED: return "a record failed authentication: data was tampered with or injected";
	case PTCP_ERR_CH_REPLAY: return "a record was replayed";
	case PTCP_ERR_CH_REORDER: return "a record arrived out of order: one was dropped or the records were reordered";
	case PTCP_ERR_CH_TRUNCATED: return "the stream ended before the peer's end record: truncated";
	case PTCP_ERR_CH_TRAILING: return "data followed the peer's end record";
	case PTCP_ERR_CH_EXHAUSTED: return "record sequence numbers exhausted";
	case PTCP_ERR_CH_CRYPTO: return "libsodium cannot initialise";
	case PTCP_ERR_CONN_LIMIT: return "as many connections as allowed exist";
	case PTCP_ERR_MEM_LIMIT: return "a connection would pass a memory bound";
	case PTCP_ERR_EOF: return "end of the peer's stream";
	case PTCP_ERR_USER_TIMEOUT: return "the peer stopped acknowledging data (user timeout)";
	case PTCP_ERR_HANDSHAKE_TIMEOUT: return "the peer did not finish the secure-channel handshake in time";
	case PTCP_ERR_RDV_UNREACHABLE: return "the rendezvous server cannot be reached";
	case PTCP_ERR_RDV_RESOLVE: return "the rendezvous server's name does not resolve";
	case PTCP_ERR_RDV_PROTOCOL: return "the rendezvous server broke the protocol";
	case PTCP_ERR_RDV_KEY: return "the rendezvous server's key is not the pinned one";
	case PTCP_ERR_RDV_REFUSED: return "the rendezvous server refused us";
	case PTCP_ERR_UNKNOWN_PEER: return "the peer id is not registered with the rendezvous server";
	case PTCP_ERR_NOT_AUTHORISED: return "the peer does not allow our peer id";
	case PTCP_ERR_NOT_WAITING: return "the peer is registered but did not accept in time";
	case PTCP_ERR_SELF: return "that is our own peer id";
	case PTCP_ERR_BUSY: return "the peer serves as many peers as it will (busy)";
	case PTCP_ERR_SYMMETRIC_NAT: return "our NAT gives every connection a new port (symmetric NAT)";
	case PTCP_ERR_PUNCH_TIMEOUT: return "no connection within the punching window";
	case PTCP_ERR_NO_RENDEZVOUS: return "no rendezvous server is configured";
	case PTCP_ERR_FAMILY: return "the peer is registered over the other IP version only";
	case PTCP_ERR_RELAY: return "the relay cannot be reached, or the relayed stream broke";
	case PTCP_ERR_RELAY_REFUSED: return "the relay refused us";
	case PTCP_ERR_RELAY_TIMEOUT: return "the peer did not come to the relay in time";
	case PTCP_ERR_PERM: return "raw sockets and the firewall table need CAP_NET_RAW and CAP_NET_ADMIN";
	case PTCP_ERR_ADDRINUSE: return "the local port is in use";
	case PTCP_ERR_PORT_SERVED: return "another p2ptcp already serves the local port";
	case PTCP_ERR_ADDRNOTAVAIL: return "the local address is not an address of this host";
	case PTCP_ERR_FIREWALL: return "nftables cannot be used";
	case PTCP_ERR_IDENTITY: return "our key cannot be loaded";
	case PTCP_ERR_SYSTEM: return "a system call failed";
	}
	return "unknown error";
}
