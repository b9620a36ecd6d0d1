#include <errno.h>

#include <sodium.h>

#include "random.h"

int ptcp_random_init(void)
{
	/* 1 means "already initialised", which is fine. */
	return sodium_init() < 0 ? -EIO : 0;
}

void ptcp_random_bytes(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

uint32_t ptcp_random_u32(void)
{
	return randombytes_random();
}
