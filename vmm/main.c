// SPDX-License-Identifier: MIT
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "device.h"
#include "error.h"
#include "vm.h"
#include "x86_insn.h"

#define KVMINI_VERSION "0.1.0"

int main(int argc, char **argv)
{
	struct vm_config cfg;
	struct vm vm;
	int action, ret, status;

	action = cli_parse(argc, argv, &cfg);
	if (action < 0) {
		pr_err("%s", err_msg(action));
		return EXIT_USAGE;
	}
	switch (action) {
	case CLI_HELP:
		cli_usage(stdout);
		return EXIT_OK;
	case CLI_VERSION:
		printf("kvmini version " KVMINI_VERSION "\n");
		return EXIT_OK;
	case CLI_DEVICE_HELP:
		device_list();
		return EXIT_OK;
	case CLI_CPU_HELP:
		cpu_list_features();
		return EXIT_OK;
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
		return EXIT_USAGE;
	}
	status = vm_run(&vm);
	if (cfg.debug_insn)
		x86_emu_print_stats(stderr);
	vm_destroy(&vm);
	return status;
}
