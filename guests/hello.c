// SPDX-License-Identifier: MIT
/* The smallest guest: one line on COM1, then exit 0. */
#include "guest.h"

int main(void)
{
	console_puts("Hello from kvmini guest\n");
	return GUEST_EXIT_OK;
}
