#include "error.h"
#include "status.h"

int ptcp_cli_exit_code(const struct ptcp_session_result *res)
{
	switch (res->status) {
	case PTCP_SESSION_OK:
		return PTCP_EXIT_OK;
	case PTCP_SESSION_CONN:
		switch (res->conn_error) {
		case PTCP_ERR_REFUSED:
			return PTCP_EXIT_REFUSED;
		case PTCP_ERR_TIMEOUT:
			return PTCP_EXIT_TIMEOUT;
		case PTCP_ERR_RESET:
			return PTCP_EXIT_RESET;
		default:
			return PTCP_EXIT_CONN;
		}
	case PTCP_SESSION_PERM:
		return PTCP_EXIT_PERM;
	case PTCP_SESSION_FIREWALL:
		return PTCP_EXIT_FIREWALL;
	case PTCP_SESSION_SYSTEM:
		return PTCP_EXIT_SYSTEM;
	case PTCP_SESSION_CHANNEL:
		return PTCP_EXIT_CHANNEL;
	case PTCP_SESSION_SIGNAL:
		return PTCP_EXIT_SIGNAL + (res->signo > 0 && res->signo < 64 ? res->signo : 0);
	}
	return PTCP_EXIT_CONN;
}
