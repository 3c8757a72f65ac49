// SPDX-License-Identifier: MIT
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "device.h"
#include "error.h"
#include "vm.h"
#include "x86_insn.h"

int main(int argc, char **argv)
{
	struct vm_config cfg;
	struct vm vm;
	int action, ret, status;

	action = cli_parse(argc, argv, &cfg);
	if (action != CLI_RUN) {
		if (action < 0)
			pr_err("%s", err_msg(action));
		else if (action == CLI_HELP)
			cli_usage(stdout);
		else if (action == CLI_VERSION)
			printf("kvmini version " KVMINI_VERSION "\n");
		else if (action == CLI_DEVICE_HELP)
			device_list();
		else if (action == CLI_CPU_HELP)
			cpu_list_features();
		cli_free(&cfg);
		return action < 0 ? EXIT_USAGE : EXIT_OK;
	}
	cfg.kvm_path = getenv("KVMINI_KVM_DEVICE");
	if (!cfg.kvm_path || !*cfg.kvm_path)
		cfg.kvm_path = "/dev/kvm";
	cfg.cpu.no_hypercalls = cfg.cpu.cpuid_leaks = kvm_host_is_pvm();
	/* A console whose reader went away must not kill kvmini mid-write. */
	signal(SIGPIPE, SIG_IGN);

	ret = vm_create(&vm, &cfg);
	if (ret) {
		pr_err("%s", err_msg(ret));
		vm_destroy(&vm);
		cli_free(&cfg);
		return EXIT_USAGE;
	}
	status = vm_run(&vm);
	if (cfg.debug_insn)
		x86_emu_print_stats(stderr);
	vm_destroy(&vm);
	cli_free(&cfg);
	return status;
}
