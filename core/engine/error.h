/* Error codes: one space for the whole project, defined in the public
 * header (include/p2ptcp/p2ptcp.h, enum ptcp_error) so that the engine,
 * the channel, the node and a program linking libp2ptcp share it. Every
 * function that can fail returns 0 (or a non-negative count) on success
 * and one of those negative values on failure; ptcp_strerror() (error.c,
 * sans-IO) turns one into a sentence. The engine only declares from that
 * header; it calls none of its functions. */
#ifndef PTCP_ERROR_H
#define PTCP_ERROR_H

#include "p2ptcp/p2ptcp.h"

#endif
