/* The version of libp2ptcp and of the programs built with it. The
 * Makefile reads PTCP_VERSION_STR from here (the soname takes its major
 * number), so this is the one place a release changes. */
#ifndef P2PTCP_VERSION_H
#define P2PTCP_VERSION_H

#define PTCP_VERSION_STR "0.2.0"
/* 0xMMmmpp: major, minor, patch. */
#define PTCP_VERSION_NUM 0x000200

#endif
