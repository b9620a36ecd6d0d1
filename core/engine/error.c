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
	case PTCP_ERR_CONN_LIMIT: return "too many connections";
	case PTCP_ERR_MEM_LIMIT: return "connection memory limit reached";
	}
	return "unknown error";
}
