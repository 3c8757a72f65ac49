/* SPDX-License-Identifier: MIT */
/* The QEMU-compatible command line. */
#ifndef KVMINI_CLI_H
#define KVMINI_CLI_H

#include <stdio.h>
#include "config.h"

enum cli_action {
	CLI_RUN,
	CLI_HELP,
	CLI_VERSION,
	CLI_DEVICE_HELP,
	CLI_CPU_HELP,
};

/*
 * Parse argv into @cfg (pointers into argv stay valid).  Returns a
 * cli_action (>= 0), or -errno with err_msg() holding one line such as
 * "-vnc: not supported".
 */
int cli_parse(int argc, char **argv, struct vm_config *cfg);
/* Free what cli_parse() allocated (also after it failed). */
void cli_free(struct vm_config *cfg);

void cli_usage(FILE *out);

#endif
