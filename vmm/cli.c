// SPDX-License-Identifier: MIT
/*
 * QEMU-compatible command line.  Options are looked up in one table; any
 * option not in it is refused by name, so nothing a user types is silently
 * ignored.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "layout.h"
#include "lifecycle.h"
#include "opts.h"
#include "util.h"

struct cli_option {
	const char *name;
	bool has_arg;
	/* Returns a cli_action, or -errno with err_set() (message without the option name). */
	int (*handle)(struct vm_config *cfg, const char *arg);
};

static int opt_kernel(struct vm_config *cfg, const char *arg)
{
	cfg->kernel = arg;
	return CLI_RUN;
}

static int opt_initrd(struct vm_config *cfg, const char *arg)
{
	cfg->initrd = arg;
	return CLI_RUN;
}

static int opt_dtb(struct vm_config *cfg, const char *arg)
{
	cfg->dtb = arg;
	return CLI_RUN;
}

static int opt_append(struct vm_config *cfg, const char *arg)
{
	cfg->cmdline = arg;
	return CLI_RUN;
}

static uint64_t host_ram(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);

	return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : UINT64_MAX;
}

static int opt_memory(struct vm_config *cfg, const char *arg)
{
	struct opts o;
	const char *v;
	uint64_t size;
	int ret;

	ret = opts_parse(&o, arg, "size");
	if (ret)
		return ret;
	v = opts_get(&o, "size");
	if (opts_unused(&o)) {
		ret = err_set(EINVAL, "parameter '%s' is not supported (only size)",
			      opts_unused(&o));
		goto out;
	}
	if (!v || parse_size(v, MIB, &size)) {
		ret = err_set(EINVAL, "not a size (examples: 512M, 2G)");
		goto out;
	}
	if (size < MIN_RAM_SIZE) {
		ret = err_set(EINVAL, "RAM size must be at least %lluM", MIN_RAM_SIZE / MIB);
		goto out;
	}
	if (size > host_ram()) {
		ret = err_set(EINVAL, "RAM size is more than this host's memory (%llu MiB)",
			      (unsigned long long)(host_ram() / MIB));
		goto out;
	}
	/* Memory slots work in pages. */
	cfg->ram_size = (size + 4095) & ~4095ULL;
	ret = CLI_RUN;
out:
	opts_free(&o);
	return ret;
}

static int opt_smp(struct vm_config *cfg, const char *arg)
{
	int ret = smp_parse(arg, &cfg->nr_vcpus, &cfg->topo);

	return ret ? ret : CLI_RUN;
}

static int opt_cpu(struct vm_config *cfg, const char *arg)
{
	int ret;

	if (!strcmp(arg, "help") || !strcmp(arg, "?"))
		return CLI_CPU_HELP;
	ret = cpu_parse(arg, &cfg->cpu);
	cfg->cpu_arg = arg;
	return ret ? ret : CLI_RUN;
}

static int opt_nographic(struct vm_config *cfg, const char *arg)
{
	(void)arg;
	cfg->nographic = true;
	return CLI_RUN;
}

static int opt_no_reboot(struct vm_config *cfg, const char *arg)
{
	(void)arg;
	cfg->no_reboot = true;
	return CLI_RUN;
}

static int opt_serial(struct vm_config *cfg, const char *arg)
{
	struct serial_config *s;

	if (cfg->nr_serial == MAX_SERIAL_PORTS)
		return err_set(EINVAL, "at most %d serial ports", MAX_SERIAL_PORTS);
	s = &cfg->serial[cfg->nr_serial];
	if (!strcmp(arg, "stdio")) {
		for (unsigned int i = 0; i < cfg->nr_serial; i++) {
			if (cfg->serial[i].backend == SERIAL_STDIO)
				return err_set(EINVAL, "only one serial port can use stdio");
		}
		s->backend = SERIAL_STDIO;
	} else if (!strncmp(arg, "file:", 5) && arg[5]) {
		s->backend = SERIAL_FILE;
		s->path = arg + 5;
	} else if (!strcmp(arg, "none") || !strcmp(arg, "null")) {
		s->backend = SERIAL_NONE;
	} else {
		return err_set(EINVAL,
			       "unsupported serial back end (use stdio, file:PATH or none)");
	}
	cfg->nr_serial++;
	return CLI_RUN;
}

static int opt_device(struct vm_config *cfg, const char *arg)
{
	if (!strcmp(arg, "help") || !strcmp(arg, "?"))
		return CLI_DEVICE_HELP;
	if (cfg->nr_devices == MAX_DEVICE_ARGS)
		return err_set(EINVAL, "too many devices (at most %d)", MAX_DEVICE_ARGS);
	cfg->devices[cfg->nr_devices++] = arg;
	return CLI_RUN;
}

static int opt_drive(struct vm_config *cfg, const char *arg)
{
	int ret;

	if (cfg->nr_drives == MAX_DRIVES)
		return err_set(EINVAL, "too many drives (at most %d)", MAX_DRIVES);
	ret = drive_parse(&cfg->drives[cfg->nr_drives], arg);
	cfg->nr_drives++; /* even on failure: cli_free() frees what was parsed */
	if (ret)
		return ret;
	for (unsigned int i = 0; i + 1 < cfg->nr_drives; i++) {
		const char *id = cfg->drives[cfg->nr_drives - 1].id;

		if (id && cfg->drives[i].id && !strcmp(cfg->drives[i].id, id))
			return err_set(EINVAL, "drive id '%s' is used twice", id);
	}
	return CLI_RUN;
}

static int opt_gdb(struct vm_config *cfg, const char *arg)
{
	if (strncmp(arg, "tcp:", 4) && strncmp(arg, "unix:", 5))
		return err_set(EINVAL, "expected tcp:[HOST]:PORT or unix:PATH");
	cfg->gdb_addr = arg;
	return CLI_RUN;
}

static int opt_gdb_default(struct vm_config *cfg, const char *arg)
{
	(void)arg;
	cfg->gdb_addr = "tcp::1234"; /* loopback: the server binds 127.0.0.1 without a host */
	return CLI_RUN;
}

static int opt_wait_for_gdb(struct vm_config *cfg, const char *arg)
{
	(void)arg;
	cfg->gdb_wait = true;
	return CLI_RUN;
}

/* Whether the @n bytes at @p read as a KEY=VALUE option (a path may have commas too). */
static bool looks_like_option(const char *p, size_t n)
{
	size_t k = 0;

	while (k < n && ((p[k] >= 'a' && p[k] <= 'z') || (p[k] >= '0' && p[k] <= '9') ||
			 p[k] == '-' || p[k] == '_'))
		k++;
	return k && p[0] >= 'a' && p[0] <= 'z' &&
	       (k == n ? !strncmp(p, "disk-check", n) : p[k] == '=');
}

/* file:PATH[,disk-check=on|off]: options come off the end, the rest is the path. */
static int opt_incoming(struct vm_config *cfg, const char *arg)
{
	const char *path, *end, *comma;
	bool seen = false;
	char *copy;

	if (!strcmp(arg, "defer")) {
		cfg->incoming_defer = true;
		cfg->incoming = NULL;
		return CLI_RUN;
	}
	if (strncmp(arg, "file:", 5) || !arg[5])
		return err_set(EINVAL, "expected file:PATH[,disk-check=off] or defer");
	cfg->incoming_defer = false;
	cfg->incoming_disk_check_off = false;
	path = arg + 5;
	end = path + strlen(path);
	while ((comma = memrchr(path, ',', (size_t)(end - path)))) {
		const char *o = comma + 1;
		size_t n = (size_t)(end - o);

		if (!looks_like_option(o, n))
			break;
		if (n < 10 || strncmp(o, "disk-check", 10) || (n > 10 && o[10] != '='))
			return err_set(EINVAL,
				       "unknown parameter '%.*s' (known: disk-check=on|off)",
				       (int)strcspn(o, "="), o);
		if (seen)
			return err_set(EINVAL, "disk-check is given twice");
		seen = true;
		if (n == 13 && !strncmp(o, "disk-check=on", 13))
			cfg->incoming_disk_check_off = false;
		else if (n == 14 && !strncmp(o, "disk-check=off", 14))
			cfg->incoming_disk_check_off = true;
		else
			return err_set(EINVAL, "%.*s: expected disk-check=on or disk-check=off",
				       (int)n, o);
		end = comma;
	}
	if (end == path)
		return err_set(EINVAL, "expected file:PATH[,disk-check=off]");
	if (!*end) {
		cfg->incoming = path;
		return CLI_RUN;
	}
	/* The path without the options: kept until cli_free(). */
	if (cfg->nr_strings == sizeof(cfg->strings) / sizeof(cfg->strings[0]))
		return err_set(EINVAL, "too many options");
	copy = strndup(path, (size_t)(end - path));
	if (!copy)
		return -ENOMEM;
	cfg->strings[cfg->nr_strings++] = copy;
	cfg->incoming = copy;
	return CLI_RUN;
}

/*
 * "unix:PATH,server[=on][,wait=off|,nowait]" or "tcp:[HOST]:PORT,...": a
 * listening socket.  Without nowait the VM waits for a client, as in QEMU.
 */
static int opt_control_socket(struct vm_config *cfg, const char *arg, bool qmp)
{
	struct control_socket_config *c = &cfg->controls[cfg->nr_controls];
	size_t alen = strcspn(arg, ",");
	bool server = false;

	if (strncmp(arg, "unix:", 5) && strncmp(arg, "tcp:", 4))
		return err_set(EINVAL,
			       "expected unix:PATH,server,nowait or "
			       "tcp:[HOST]:PORT,server,nowait%s",
			       qmp ? "" : ", stdio or none");
	if (cfg->nr_controls == MAX_CONTROL_SOCKETS)
		return err_set(EINVAL, "at most %d -qmp and -monitor sockets", MAX_CONTROL_SOCKETS);
	c->wait = true;
	for (const char *p = arg + alen; *p;) {
		size_t n;

		p++;
		n = strcspn(p, ",");
		if ((n == 6 && !strncmp(p, "server", 6)) || (n == 9 && !strncmp(p, "server=on", 9)))
			server = true;
		else if ((n == 6 && !strncmp(p, "nowait", 6)) ||
			 (n == 8 && !strncmp(p, "wait=off", 8)))
			c->wait = false;
		else if (n == 7 && !strncmp(p, "wait=on", 7))
			c->wait = true;
		else
			return err_set(EINVAL,
				       "unknown parameter '%.*s' (known: server, wait=on|off, "
				       "nowait)",
				       (int)n, p);
		p += n;
	}
	if (!server)
		return err_set(EINVAL, "only server sockets are supported (add ,server)");
	c->addr = strndup(arg, alen);
	if (!c->addr)
		return -ENOMEM;
	c->qmp = qmp;
	cfg->nr_controls++;
	return CLI_RUN;
}

static int opt_qmp(struct vm_config *cfg, const char *arg)
{
	if (!strcmp(arg, "stdio"))
		return err_set(EINVAL, "QMP on stdio is not supported: use a unix or tcp socket "
				       "(unix:PATH,server,nowait)");
	return opt_control_socket(cfg, arg, true);
}

static int opt_monitor(struct vm_config *cfg, const char *arg)
{
	if (!strcmp(arg, "stdio"))
		cfg->monitor_stdio = true;
	else if (!strcmp(arg, "none"))
		cfg->monitor_none = true;
	else
		return opt_control_socket(cfg, arg, false);
	return CLI_RUN;
}

void cli_free(struct vm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_controls; i++)
		free(cfg->controls[i].addr);
	cfg->nr_controls = 0;
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		drive_free(&cfg->drives[i]);
	cfg->nr_drives = 0;
	for (unsigned int i = 0; i < cfg->nr_strings; i++)
		free(cfg->strings[i]);
	cfg->nr_strings = 0;
	for (unsigned int i = 0; i < 2; i++) {
		free(cfg->name_strings[i]);
		cfg->name_strings[i] = NULL;
	}
}

static int opt_netdev(struct vm_config *cfg, const char *arg)
{
	return net_option(cfg, "netdev", arg);
}

static int opt_nic(struct vm_config *cfg, const char *arg)
{
	return net_option(cfg, "nic", arg);
}

static int opt_net(struct vm_config *cfg, const char *arg)
{
	return net_option(cfg, "net", arg);
}

static int opt_enable_kvm(struct vm_config *cfg, const char *arg)
{
	(void)cfg;
	(void)arg;
	return CLI_RUN;
}

static int opt_accel(struct vm_config *cfg, const char *arg)
{
	struct opts o;
	const char *accel;
	int ret;

	(void)cfg;
	ret = opts_parse(&o, arg, "accel");
	if (ret)
		return ret;
	accel = opts_get(&o, "accel");
	if (!accel || strcmp(accel, "kvm"))
		ret = err_set(EINVAL, "only kvm is supported");
	else if (opts_unused(&o))
		ret = err_set(EINVAL, "parameter '%s' is not supported", opts_unused(&o));
	else
		ret = CLI_RUN;
	opts_free(&o);
	return ret;
}

static int opt_name(struct vm_config *cfg, const char *arg)
{
	int ret = name_parse(cfg, arg);

	return ret ? ret : CLI_RUN;
}

static int opt_daemonize(struct vm_config *cfg, const char *arg)
{
	(void)arg;
	cfg->daemonize = true;
	return CLI_RUN;
}

static int opt_pidfile(struct vm_config *cfg, const char *arg)
{
	cfg->pidfile = arg;
	return CLI_RUN;
}

/* -d ITEM[,ITEM]: diagnostics printed to stderr. */
static int opt_debug(struct vm_config *cfg, const char *arg)
{
	for (const char *p = arg; *p;) {
		size_t n = strcspn(p, ",");

		if (n == 4 && !strncmp(p, "insn", 4))
			cfg->debug_insn = true;
		else
			return err_set(EINVAL, "unknown item '%.*s' (known: insn)", (int)n, p);
		p += n + (p[n] == ',');
	}
	return CLI_RUN;
}

static int opt_help(struct vm_config *cfg, const char *arg)
{
	(void)cfg;
	(void)arg;
	return CLI_HELP;
}

static int opt_version(struct vm_config *cfg, const char *arg)
{
	(void)cfg;
	(void)arg;
	return CLI_VERSION;
}

static const struct cli_option cli_options[] = {
	{ "kernel", true, opt_kernel },	   { "append", true, opt_append },
	{ "initrd", true, opt_initrd },	   { "dtb", true, opt_dtb },
	{ "m", true, opt_memory },	   { "smp", true, opt_smp },
	{ "cpu", true, opt_cpu },	   { "nographic", false, opt_nographic },
	{ "serial", true, opt_serial },	   { "no-reboot", false, opt_no_reboot },
	{ "device", true, opt_device },	   { "enable-kvm", false, opt_enable_kvm },
	{ "accel", true, opt_accel },	   { "name", true, opt_name },
	{ "h", false, opt_help },	   { "help", false, opt_help },
	{ "version", false, opt_version }, { "d", true, opt_debug },
	{ "drive", true, opt_drive },	   { "gdb", true, opt_gdb },
	{ "s", false, opt_gdb_default },   { "S", false, opt_wait_for_gdb },
	{ "netdev", true, opt_netdev },	   { "nic", true, opt_nic },
	{ "net", true, opt_net },	   { "qmp", true, opt_qmp },
	{ "monitor", true, opt_monitor },  { "daemonize", false, opt_daemonize },
	{ "pidfile", true, opt_pidfile },  { "incoming", true, opt_incoming },
};

void cli_usage(FILE *out)
{
	fputs("usage: kvmini [options]\n"
	      "\n"
	      "Boot a guest kernel on /dev/kvm.  Options follow qemu-system-x86_64:\n"
	      "  -kernel FILE        guest kernel: a Linux bzImage, or an ELF with a PVH entry\n"
	      "                      note (XEN_ELFNOTE_PHYS32_ENTRY), e.g. vmlinux\n"
	      "  -append STRING      kernel command line\n"
	      "  -initrd FILE        initial ramdisk\n"
	      "  -dtb FILE           device tree blob handed to the kernel\n"
	      "  -m SIZE             guest RAM, suffix K/M/G/T (default 128M; bare number: MiB)\n"
	      "  -smp N[,sockets=S][,cores=C][,threads=T][,maxcpus=M]\n"
	      "                      vCPUs (default 1) and the topology the guest sees\n"
	      "  -cpu MODEL[,+feat][,-feat]\n"
	      "                      CPU model: host (default), baseline (x86-64-v2); feature\n"
	      "                      masks by /proc/cpuinfo name (-cpu help lists them)\n"
	      "  -serial DEV         next serial port (COM1..COM4): stdio, file:PATH or none\n"
	      "                      (default: COM1 on stdio)\n"
	      "  -nographic          accepted; kvmini has no display, the console is always stdio\n"
	      "  -no-reboot          accepted; kvmini always exits when the guest resets\n"
	      "  -drive file=PATH[,format=raw|qcow2][,if=virtio|none][,id=ID][,readonly=on]\n"
	      "         [,cache=writeback|none][,discard=unmap|ignore][,serial=S][,aio=io_uring]\n"
	      "                      a disk image (no format=: qcow2 by its header, else raw);\n"
	      "                      if=virtio (the default) adds a virtio-blk-pci disk, if=none\n"
	      "                      leaves it to -device virtio-blk-pci,drive=ID\n"
	      "  -device DRIVER,...  add a device (-device help lists them)\n"
	      "  -netdev tap,id=ID[,ifname=TAP][,fd=N][,script=no][,downscript=no]\n"
	      "  -netdev user,id=ID[,net=ADDR/N][,host=ADDR][,dhcpstart=ADDR][,dns=ADDR]\n"
	      "          [,hostfwd=tcp|udp:[HOSTADDR]:PORT-[GUESTADDR]:PORT]...[,restrict=on]\n"
	      "                      a network backend for -device virtio-net-pci,netdev=ID[,mac=]\n"
	      "                      (hostfwd listens on 127.0.0.1 unless HOSTADDR says otherwise)\n"
	      "  -nic tap|user|none[,mac=MAC][,model=virtio-net-pci][,backend options]\n"
	      "                      a backend and its virtio-net NIC in one option\n"
	      "  -net nic[,macaddr=MAC][,model=virtio] -net user|tap[,...], -net none\n"
	      "                      the legacy pair: each -net nic takes the next backend\n"
	      "  -gdb tcp:[HOST]:PORT|unix:PATH\n"
	      "                      wait for a gdb client there (HOST defaults to 127.0.0.1)\n"
	      "  -s                  the same as -gdb tcp::1234\n"
	      "  -S                  vCPUs wait before their first instruction, for gdb or for a\n"
	      "                      cont on QMP or the monitor\n"
	      "  -incoming file:PATH[,disk-check=off]\n"
	      "                      resume the VM saved in PATH (migrate or savevm), with the\n"
	      "                      same options it ran with; -S keeps it stopped.  A disk\n"
	      "                      image changed since the save is refused, unless\n"
	      "                      disk-check=off (then a warning)\n"
	      "  -incoming defer     wait, stopped, for QMP migrate-incoming with a file: URI\n"
	      "  -qmp unix:PATH,server[,nowait]|tcp:[HOST]:PORT,server[,nowait]\n"
	      "                      a QMP control socket (several allowed, several clients\n"
	      "                      each); without nowait kvmini waits for a client first\n"
	      "  -monitor stdio|none|unix:PATH,server[,nowait]|tcp:[HOST]:PORT,server[,nowait]\n"
	      "                      the human monitor (also on the console with Ctrl-A c)\n"
	      "  -enable-kvm, -accel kvm\n"
	      "                      accepted; kvmini always uses KVM\n"
	      "  -name NAME[,process=TITLE][,debug-threads=on]\n"
	      "                      name of the guest (query-name); the process is called\n"
	      "                      TITLE, or kvmini:NAME (15 bytes at most)\n"
	      "  -daemonize          detach once the VM is set up (the console and monitors\n"
	      "                      must not be on stdio: -serial file:PATH or none)\n"
	      "  -pidfile PATH       write the pid to PATH, locked while kvmini runs, removed\n"
	      "                      at the end\n"
	      "  -d insn             at exit, count the instructions kvmini completed because\n"
	      "                      KVM could not emulate them\n"
	      "  -h, -help           this help\n"
	      "  -version            version\n"
	      "\n"
	      "Console: Ctrl-A h help, Ctrl-A x quit, Ctrl-A c monitor, Ctrl-A Ctrl-A send Ctrl-A.\n"
	      "Exit status: 0 when the guest resets or powers off, (N << 1) | 1 when it writes N to\n"
	      "isa-debug-exit, 1 for bad options, 2 when a vCPU stops on an error.\n",
	      out);
}

int cli_parse(int argc, char **argv, struct vm_config *cfg)
{
	int action = CLI_RUN;

	memset(cfg, 0, sizeof(*cfg));
	cfg->ram_size = DEFAULT_RAM_SIZE;
	cfg->nr_vcpus = 1;
	cfg->topo = (struct cpu_topology){ 1, 1, 1, 1 };
	err_clear();

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *name = arg + 1;
		const struct cli_option *opt = NULL;
		int ret;

		if (arg[0] != '-' || !arg[1])
			return err_set(EINVAL, "%s: unexpected argument (options start with -)",
				       arg);
		if (name[0] == '-')
			name++;
		for (size_t j = 0; j < ARRAY_SIZE(cli_options); j++) {
			if (!strcmp(cli_options[j].name, name)) {
				opt = &cli_options[j];
				break;
			}
		}
		if (!opt)
			return err_set(EINVAL, "-%s: not supported", name);
		if (opt->has_arg && i + 1 >= argc)
			return err_set(EINVAL, "-%s: requires an argument", name);
		ret = opt->handle(cfg, opt->has_arg ? argv[i + 1] : NULL);
		if (ret < 0)
			return err_prefix(ret, "-%s%s%s", name, opt->has_arg ? " " : "",
					  opt->has_arg ? argv[i + 1] : "");
		if (opt->has_arg)
			i++;
		if (ret != CLI_RUN && action == CLI_RUN)
			action = ret;
	}
	if (action == CLI_RUN) {
		int ret = net_options_finish(cfg);

		if (ret)
			return ret;
	}
	if (action == CLI_RUN && !cfg->kernel)
		return err_set(EINVAL, "no guest kernel: give one with -kernel FILE");
	if (action == CLI_RUN && cfg->daemonize) {
		int ret = daemonize_check(cfg);

		if (ret)
			return ret;
	}
	return action;
}
