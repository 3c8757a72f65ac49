// SPDX-License-Identifier: MIT
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "device.h"
#include "error.h"
#include "lifecycle.h"
#include "vm.h"
#include "x86_insn.h"

int main(int argc, char **argv)
{
	struct vm_config cfg;
	struct pidfile pf = { .fd = -1 };
	sigset_t sigs;
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

	/* The daemon builds the VM: KVM ties a VM to the process that created it. */
	ret = cfg.daemonize ? daemonize_start() : 0;
	/* A signal during the setup ends the VM in order once it runs (the pidfile goes). */
	vm_block_term_signals(&sigs);
	if (!ret)
		ret = process_title_set(&cfg);
	if (!ret && cfg.pidfile)
		ret = pidfile_open(&pf, cfg.pidfile);
	if (ret) {
		pr_err("%s", err_msg(ret));
		cli_free(&cfg);
		return EXIT_USAGE;
	}
	ret = vm_create(&vm, &cfg);
	if (!ret && cfg.pidfile)
		ret = pidfile_write(&pf);
	if (ret) {
		pr_err("%s", err_msg(ret));
		vm_destroy(&vm);
		pidfile_remove(&pf);
		cli_free(&cfg);
		return EXIT_USAGE;
	}
	if (cfg.daemonize)
		daemonize_ready();
	status = vm_run(&vm);
	if (cfg.debug_insn)
		x86_emu_print_stats(stderr);
	vm_destroy(&vm);
	pidfile_remove(&pf);
	cli_free(&cfg);
	return status;
}
