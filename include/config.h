/* SPDX-License-Identifier: MIT */
/* What the command line asked for: the input to building a VM. */
#ifndef KVMINI_CONFIG_H
#define KVMINI_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "cpuid.h"

#define MAX_SERIAL_PORTS 4
#define MAX_DEVICE_ARGS	 64
#define MAX_DRIVES	 16
#define MAX_NETDEVS	 8
#define MAX_VCPUS	 255 /* xAPIC IDs */
#define DEFAULT_RAM_SIZE (128ULL << 20)

#define KVMINI_VERSION	     "0.1.0"
#define KVMINI_VERSION_MAJOR 0
#define KVMINI_VERSION_MINOR 1
#define KVMINI_VERSION_MICRO 0

enum serial_backend {
	SERIAL_STDIO,
	SERIAL_FILE,
	SERIAL_NONE,
};

struct serial_config {
	enum serial_backend backend;
	const char *path; /* SERIAL_FILE */
};

enum drive_if {
	DRIVE_IF_VIRTIO, /* a virtio-blk-pci device of its own */
	DRIVE_IF_NONE,	 /* for -device ...,drive=ID */
};

/* One -drive: a disk image and how to open it.  The strings are owned (cli_free()). */
struct drive_config {
	char *file, *format, *id, *serial;
	enum drive_if iface;
	bool readonly;
	bool cache_none; /* cache=none: O_DIRECT */
	bool discard;	 /* discard=unmap: DISCARD and WRITE_ZEROES reach the image */
};

/* Parse a -drive argument.  0 or -errno with err_set(). */
int drive_parse(struct drive_config *d, const char *arg);
void drive_free(struct drive_config *d);

/* The -net pairs: each "-net nic" takes the next "-net user|tap" in order. */
struct net_legacy {
	const char *nics[MAX_NETDEVS], *backends[MAX_NETDEVS];
	unsigned int nr_nics, nr_backends;
	bool none; /* -net none */
};

struct vm_config;

/* The control plane (vmm/control.c): -qmp and -monitor sockets. */
#define MAX_CONTROL_SOCKETS 8

struct control_socket_config {
	bool qmp;   /* QMP; else the human monitor */
	char *addr; /* "unix:PATH" or "tcp:[HOST]:PORT", owned (cli_free()) */
	bool wait;  /* server without nowait: wait for a client before the VM starts */
};

/*
 * -netdev, -nic and -net (vmm/cli_net.c): @option is the option's name.
 * -nic and -net become a -netdev plus a "-device virtio-net-pci" in @cfg.
 * CLI_RUN (0) or -errno with err_set().
 */
int net_option(struct vm_config *cfg, const char *option, const char *arg);
/* Pair the -net options up, after the whole command line.  0 or -errno. */
int net_options_finish(struct vm_config *cfg);

struct vm_config {
	const char *kernel;
	const char *cmdline;
	const char *initrd;
	const char *dtb;
	const char *name;	   /* -name: the guest's name (query-name) */
	const char *process_title; /* -name ...,process=TITLE */
	char *name_strings[2];	   /* what -name allocated (cli_free()) */
	uint64_t ram_size;
	unsigned int nr_vcpus;
	struct cpu_topology topo;
	struct cpu_config cpu;
	const char *cpu_arg; /* the -cpu argument, for messages */
	bool debug_insn;     /* -d insn: report userspace-completed instructions at exit */
	bool no_reboot;
	bool nographic;
	struct serial_config serial[MAX_SERIAL_PORTS];
	unsigned int nr_serial;		      /* 0: the default, COM1 on stdio */
	const char *devices[MAX_DEVICE_ARGS]; /* -device arguments, in order */
	unsigned int nr_devices;
	struct drive_config drives[MAX_DRIVES];
	unsigned int nr_drives;
	/* -netdev arguments; -nic and -net expand into one here plus a -device. */
	const char *netdevs[MAX_NETDEVS];
	const char *netdev_origin[MAX_NETDEVS]; /* "-nic ARG" for messages; NULL: -netdev */
	unsigned int nr_netdevs;
	struct net_legacy legacy_net;	/* -net, paired up once the command line is read */
	char *strings[5 * MAX_NETDEVS]; /* what the expansions allocated (cli_free()) */
	unsigned int nr_strings;
	const char *gdb_addr; /* -gdb/-s: "tcp:[HOST]:PORT" or "unix:PATH"; NULL: no stub */
	bool gdb_wait;	      /* -S: vCPUs wait for gdb or a cont at their first instruction */
	const char *incoming; /* -incoming file:PATH: the PATH to restore from */
	bool incoming_defer;  /* -incoming defer: wait for QMP migrate-incoming */
	/* -incoming file:PATH,disk-check=off: a disk changed since the save only warns */
	bool incoming_disk_check_off;
	const char *kvm_path; /* /dev/kvm unless KVMINI_KVM_DEVICE says otherwise */

	/* The control plane: -qmp, -monitor. */
	struct control_socket_config controls[MAX_CONTROL_SOCKETS];
	unsigned int nr_controls;
	bool monitor_stdio; /* -monitor stdio */
	bool monitor_none;  /* -monitor none: not even Ctrl-A c on the console */

	/* The process around the VM (vmm/lifecycle.c). */
	bool daemonize;	     /* -daemonize: detach once the VM is set up */
	const char *pidfile; /* -pidfile PATH: locked, holds the pid, removed at the end */
};

#endif
