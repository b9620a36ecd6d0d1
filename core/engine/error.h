/* Error codes of the engine. Every function that can fail returns 0 (or a
 * non-negative count) on success and one of these negative values on
 * failure; ptcp_strerror() turns one into a sentence for the user. */
#ifndef PTCP_ERROR_H
#define PTCP_ERROR_H

enum ptcp_error {
	PTCP_OK = 0,
	PTCP_ERR_INVAL = -1,        /* an argument is out of range */
	PTCP_ERR_NOMEM = -2,        /* the injected allocator returned NULL */
	PTCP_ERR_TRUNCATED = -3,    /* segment shorter than its headers say */
	PTCP_ERR_BAD_OFFSET = -4,   /* data offset < 5 words or past the end */
	PTCP_ERR_BAD_OPTION = -5,   /* an option's length is malformed */
	PTCP_ERR_CHECKSUM = -6,     /* checksum over pseudo-header does not match */
	PTCP_ERR_NOBUF = -7,        /* caller's output buffer is too small */
	PTCP_ERR_STATE = -8,        /* the call is not allowed in this state */
	PTCP_ERR_CLOSED = -9,       /* the connection is closed for this direction */
	PTCP_ERR_RESET = -10,       /* the peer reset the connection */
	PTCP_ERR_REFUSED = -11,     /* the peer refused the connection (RST to SYN) */
	PTCP_ERR_TIMEOUT = -12,     /* retransmissions exhausted */
	PTCP_ERR_ISN_MISMATCH = -13,/* the peer's SYN carried an ISN other than agreed */
	PTCP_ERR_ABORTED = -14,     /* the local application aborted */
	PTCP_ERR_EXISTS = -15,      /* a connection with this 4-tuple exists */
	PTCP_ERR_NOTFOUND = -16,    /* no connection matches */
	PTCP_ERR_KEEPALIVE = -17,   /* keepalive probes were not answered */
	PTCP_ERR_CONN_LIMIT = -18,  /* the connection table holds its maximum */
	PTCP_ERR_MEM_LIMIT = -19,   /* a connection would pass a memory bound */
};

/* A one-line English description of err (a value of enum ptcp_error).
 * Unknown values give "unknown error". Never returns NULL. */
const char *ptcp_strerror(int err);

#endif
