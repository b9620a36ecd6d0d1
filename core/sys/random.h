/* Secure random numbers from libsodium (getrandom(2) underneath), for
 * ISNs and the RFC 6528 secret. The engine has no random source of its
 * own: the driver draws here and passes the values in. */
#ifndef PTCP_RANDOM_H
#define PTCP_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Initialises libsodium. Call once before the other functions (calling it
 * again is harmless). Returns 0, or -EIO if libsodium cannot start (no
 * entropy source). */
int ptcp_random_init(void);

/* Fills buf[0..len) with random bytes. */
void ptcp_random_bytes(void *buf, size_t len);

/* A uniformly random 32-bit value. */
uint32_t ptcp_random_u32(void);

#endif
