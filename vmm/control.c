// SPDX-License-Identifier: MIT
/*
 * The control plane's sockets and the VM behind QMP.  Listeners and clients
 * are on main_loop; a client's output goes out non-blocking, and what the
 * socket cannot take waits in a per-client buffer (EPOLLOUT), so a slow
 * client never stalls the VM.  A client whose send fails is only marked
 * dead: its fd then reports an error and is closed from its own handler,
 * never from inside a write (which may be an event broadcast).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "acpi.h"
#include "control.h"
#include "error.h"
#include "listen.h"
#include "net.h"
#include "qmp.h"
#include "snapshot.h"
#include "util.h"
#include "virtio_blk.h"
#include "virtio_net.h"
#include "vm.h"

#define MAX_CLIENT_BACKLOG (16u << 20) /* unsent output before a client is dropped */
#define FLUSH_TIMEOUT_MS   1000

struct listener {
	struct control *ctl;
	int fd;
	bool qmp, wait;
	const char *addr;
	struct listen_endpoint ep; /* a unix socket is removed at the end */
};

struct client {
	struct control *ctl;
	int fd;
	struct qmp_session *qmp; /* or: */
	struct monitor *mon;
	char *out;
	size_t out_len, out_cap;
	bool dead;
	struct client *next;
};

struct control {
	struct vm *vm;
	struct qmp_server *srv;
	struct listener listeners[MAX_CONTROL_SOCKETS];
	unsigned int nr_listeners;
	struct client *clients;
	/* The monitor on stdio: the serial console's (Ctrl-A c) or stdio's own (-monitor stdio). */
	struct chardev *console;
	struct chardev own_stdio;
	struct monitor *console_mon;
	char disk_names[MAX_DRIVES][16];
};

/* ---- The VM behind the commands ------------------------------------------------------------- */

static enum qmp_run_state op_state(void *opaque)
{
	struct vm *vm = opaque;

	if (atomic_load(&vm->exiting))
		return QMP_SHUTDOWN;
	if (vm->incoming_wait)
		return QMP_INMIGRATE;
	return vm->paused ? QMP_PAUSED : QMP_RUNNING;
}

static int op_stop(void *opaque)
{
	return vm_pause(opaque);
}

static int op_cont(void *opaque)
{
	return vm_resume(opaque);
}

static int op_powerdown(void *opaque)
{
	struct vm *vm = opaque;

	if (!vm->acpi_pm)
		return err_set(ENODEV, "this VM has no ACPI power button");
	acpi_pm_power_button(vm->acpi_pm);
	return 0;
}

static int op_reset(void *opaque)
{
	vm_request_shutdown(opaque, EXIT_OK, VM_CAUSE_HOST_QMP_SYSTEM_RESET);
	return 0;
}

static int op_quit(void *opaque)
{
	vm_request_shutdown(opaque, EXIT_OK, VM_CAUSE_HOST_QMP_QUIT);
	return 0;
}

static const char *op_name(void *opaque)
{
	struct vm *vm = opaque;

	return vm->cfg->name;
}

static unsigned int op_nr_cpus(void *opaque)
{
	struct vm *vm = opaque;

	return vm->nr_vcpus;
}

static void op_cpu_info(void *opaque, unsigned int cpu, struct qmp_cpu_info *info)
{
	struct vm *vm = opaque;
	const struct cpu_topology *t = &vm->cfg->topo;

	info->thread_id = atomic_load(&vm->vcpus[cpu].tid);
	info->thread = cpu % t->threads;
	info->core = cpu / t->threads % t->cores;
	info->socket = cpu / (t->threads * t->cores);
}

static int op_cpu_regs(void *opaque, unsigned int cpu, char *buf, size_t size)
{
	struct vm *vm = opaque;
	bool park = !vm->paused;
	int ret;

	/* The registers of a running vCPU are only readable outside KVM_RUN. */
	if (park)
		vm_park_vcpus(vm);
	ret = vcpu_format_regs(&vm->vcpus[cpu], buf, size);
	if (park)
		vm_unpark_vcpus(vm);
	return ret;
}

static unsigned int op_nr_disks(void *opaque)
{
	struct vm *vm = opaque;

	return vm->nr_disks;
}

static void op_disk_info(void *opaque, unsigned int disk, struct qmp_disk_info *info)
{
	struct vm *vm = opaque;
	struct virtio_blk_info bi;

	virtio_blk_get_info(vm->disks[disk], &bi);
	if (bi.drive->id) {
		info->device = bi.drive->id;
	} else {
		/* QEMU's name for an if=virtio drive without an id. */
		snprintf(vm->ctl->disk_names[disk], sizeof(vm->ctl->disk_names[disk]), "virtio%u",
			 disk);
		info->device = vm->ctl->disk_names[disk];
	}
	info->file = bi.drive->file;
	info->format = bi.drive->format ? bi.drive->format : "raw";
	info->readonly = bi.readonly;
	info->size = bi.length;
}

static unsigned int op_nr_chardevs(void *opaque)
{
	struct vm *vm = opaque;

	return vm->nr_serial_chr;
}

static void op_chardev_info(void *opaque, unsigned int chr, struct qmp_chardev_info *info)
{
	struct vm *vm = opaque;
	const struct serial_config *s = vm->cfg->nr_serial ? &vm->cfg->serial[chr] : NULL;

	snprintf(info->label, sizeof(info->label), "serial%u", chr);
	if (!s || s->backend == SERIAL_STDIO)
		snprintf(info->filename, sizeof(info->filename), "stdio");
	else if (s->backend == SERIAL_FILE)
		snprintf(info->filename, sizeof(info->filename), "file:%s", s->path);
	else
		snprintf(info->filename, sizeof(info->filename), "null");
}

static unsigned int op_nr_nets(void *opaque)
{
	struct vm *vm = opaque;

	return vm->cfg->nr_netdevs;
}

static void op_net_info(void *opaque, unsigned int net, struct qmp_net_info *info)
{
	struct vm *vm = opaque;
	struct net_backend *nb = vm->netdevs[net];
	struct virtio_net_stats st = { 0 };

	nb->ops->describe(nb, info->desc, sizeof(info->desc));
	snprintf(info->id, sizeof(info->id), "%s", nb->id);
	virtio_net_get_stats(nb, &st);
	info->rx_dropped = st.rx_dropped;
}

static int op_save(void *opaque, const char *path, const char *tag)
{
	return snapshot_save(opaque, path, tag);
}

static int op_delete_snapshot(void *opaque, const char *tag)
{
	struct vm *vm = opaque;

	for (unsigned int i = 0; i < vm->nr_disks; i++) {
		int ret = virtio_blk_snapshot_delete(vm->disks[i], tag);

		if (ret)
			return ret;
	}
	return 0;
}

static int op_load(void *opaque, const char *path, bool disk_check, bool *touched)
{
	struct vm *vm = opaque;
	int ret = snapshot_load(vm, path, disk_check, touched);

	/* -incoming defer: a state went in (or part of one): the VM is a stopped one now. */
	if (*touched)
		vm->incoming_wait = false;
	return ret;
}

static bool op_autostart(void *opaque)
{
	struct vm *vm = opaque;

	return !vm->cfg->gdb_wait;
}

static const struct qmp_vm_ops vm_ops = {
	.state = op_state,
	.stop = op_stop,
	.cont = op_cont,
	.powerdown = op_powerdown,
	.reset = op_reset,
	.quit = op_quit,
	.name = op_name,
	.nr_cpus = op_nr_cpus,
	.cpu_info = op_cpu_info,
	.cpu_regs = op_cpu_regs,
	.nr_disks = op_nr_disks,
	.disk_info = op_disk_info,
	.nr_chardevs = op_nr_chardevs,
	.chardev_info = op_chardev_info,
	.nr_nets = op_nr_nets,
	.net_info = op_net_info,
	.save = op_save,
	.delete_snapshot = op_delete_snapshot,
	.load = op_load,
	.autostart = op_autostart,
};

/* ---- Clients -------------------------------------------------------------------------------- */

static void client_watch(struct client *c)
{
	event_loop_mod(&c->ctl->vm->main_loop, c->fd, EPOLLIN | (c->out_len ? EPOLLOUT : 0));
}

/* Send what is buffered; false: the client is gone. */
static bool client_flush(struct client *c)
{
	while (c->out_len) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	return true;
}

static void client_write(void *opaque, const char *buf, size_t len)
{
	struct client *c = opaque;
	bool was_empty = !c->out_len;

	if (c->dead)
		return;
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_len + len + 4096;
		char *p;

		if (cap > MAX_CLIENT_BACKLOG || !(p = realloc(c->out, cap))) {
			c->dead = true;
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	if (!client_flush(c))
		c->dead = true;
	else if (was_empty != !c->out_len)
		client_watch(c);
}

static void client_close(struct client *c)
{
	struct control *ctl = c->ctl;

	for (struct client **p = &ctl->clients; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	event_loop_del(&ctl->vm->main_loop, c->fd);
	close(c->fd);
	qmp_session_free(c->qmp);
	monitor_free(c->mon);
	free(c->out);
	free(c);
}

static void client_event(void *opaque, uint32_t events)
{
	struct client *c = opaque;
	char buf[4096];
	ssize_t n;

	if ((events & EPOLLOUT) && client_flush(c) && !c->out_len)
		client_watch(c);
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->dead)
		return;
	n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR) && !c->dead)
		return;
	if (n <= 0 || c->dead) {
		client_close(c);
		return;
	}
	if (c->qmp && qmp_session_input(c->qmp, buf, (size_t)n)) {
		client_flush(c);
		client_close(c);
		return;
	}
	if (c->mon)
		monitor_input(c->mon, buf, (size_t)n);
}

static void client_accept(struct listener *l)
{
	struct control *ctl = l->ctl;
	struct client *c;
	int fd, ret;

	fd = listen_accept(l->fd, SOCK_NONBLOCK);
	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	ret = event_loop_add(&ctl->vm->main_loop, fd, EPOLLIN, client_event, c);
	if (ret) {
		pr_warn("%s: cannot watch a client: %s", l->addr, strerror(-ret));
		close(fd);
		free(c);
		return;
	}
	c->next = ctl->clients;
	ctl->clients = c;
	/* Both greet at once: the QMP greeting, the monitor's banner and prompt. */
	if (l->qmp)
		c->qmp = qmp_session_new(ctl->srv, client_write, c);
	else
		c->mon = monitor_new(ctl->srv, client_write, c, false);
	if (!c->qmp && !c->mon)
		client_close(c);
}

static void listener_event(void *opaque, uint32_t events)
{
	(void)events;
	client_accept(opaque);
}

/* ---- Listening sockets ---------------------------------------------------------------------- */

static int listener_open(struct control *ctl, const struct control_socket_config *cfg)
{
	struct listener *l = &ctl->listeners[ctl->nr_listeners];
	int ret;

	*l = (struct listener){
		.ctl = ctl, .fd = -1, .qmp = cfg->qmp, .wait = cfg->wait, .addr = cfg->addr
	};
	ret = listen_endpoint_parse(&l->ep, cfg->addr, 0);
	if (!ret)
		ret = listen_open(&l->ep, 8);
	if (ret >= 0) {
		l->fd = ret;
		ctl->nr_listeners++;
		ret = event_loop_add(&ctl->vm->main_loop, l->fd, EPOLLIN, listener_event, l);
	}
	if (ret)
		return err_prefix(ret, "%s %s", cfg->qmp ? "-qmp" : "-monitor", cfg->addr);
	return 0;
}

/* ---- The console ---------------------------------------------------------------------------- */

static void console_write(void *opaque, const char *buf, size_t len)
{
	struct control *ctl = opaque;

	chardev_write(ctl->console, buf, len);
}

static bool console_monitor_open(struct control *ctl)
{
	if (!ctl->console_mon)
		ctl->console_mon = monitor_new(ctl->srv, console_write, ctl, isatty(STDIN_FILENO));
	return ctl->console_mon;
}

static void console_quit(void *opaque)
{
	struct control *ctl = opaque;

	pr_err("terminated by the console escape (Ctrl-A x)");
	vm_request_shutdown(ctl->vm, EXIT_OK, VM_CAUSE_HOST_UI);
}

static void console_monitor_mode(void *opaque, bool on)
{
	struct control *ctl = opaque;
	bool created = !ctl->console_mon;

	/* A new monitor prints its banner and prompt; an old one its prompt again. */
	if (on && console_monitor_open(ctl) && !created)
		monitor_prompt(ctl->console_mon);
	else if (!on)
		chardev_write(ctl->console, "\n", 1);
}

static void console_monitor_input(void *opaque, const uint8_t *buf, size_t len)
{
	struct control *ctl = opaque;

	if (console_monitor_open(ctl))
		monitor_input(ctl->console_mon, buf, len);
}

/* -monitor stdio with no serial port there: stdio's input is the monitor's. */
static size_t own_stdio_receive(void *opaque, const uint8_t *buf, size_t len)
{
	console_monitor_input(opaque, buf, len);
	return len;
}

void control_console_hooks(struct control *ctl, struct chardev_hooks *hooks)
{
	bool mon = !ctl->vm->cfg->monitor_none;

	*hooks = (struct chardev_hooks){
		.quit = console_quit,
		.monitor_mode = mon ? console_monitor_mode : NULL,
		.monitor_input = mon ? console_monitor_input : NULL,
		.opaque = ctl,
	};
}

int control_attach_console(struct control *ctl, struct chardev *console)
{
	struct chardev_frontend fe = { .receive = own_stdio_receive, .opaque = ctl };
	struct chardev_hooks hooks;
	int ret;

	ctl->console = console;
	if (!ctl->vm->cfg->monitor_stdio)
		return 0;
	if (ctl->vm->cfg->monitor_none)
		return err_set(EINVAL, "-monitor stdio and -monitor none contradict each other");
	if (console) {
		/* Shared with the serial console: the monitor first, Ctrl-A c for the guest. */
		console->to_monitor = true;
		return console_monitor_open(ctl) ? 0 : -ENOMEM;
	}
	control_console_hooks(ctl, &hooks);
	hooks.monitor_mode = NULL;
	ret = chardev_open_stdio(&ctl->own_stdio, &ctl->vm->main_loop, true, &hooks);
	if (!ret)
		ret = chardev_attach(&ctl->own_stdio, &fe);
	if (ret)
		return err_prefix(ret, "-monitor stdio");
	ctl->console = &ctl->own_stdio;
	return console_monitor_open(ctl) ? 0 : -ENOMEM;
}

/* ---- Life cycle ----------------------------------------------------------------------------- */

static void control_free(void *opaque)
{
	struct control *ctl = opaque;

	while (ctl->clients)
		client_close(ctl->clients);
	for (unsigned int i = 0; i < ctl->nr_listeners; i++) {
		struct listener *l = &ctl->listeners[i];

		event_loop_del(&ctl->vm->main_loop, l->fd);
		listen_close(&l->ep, l->fd);
	}
	if (ctl->console == &ctl->own_stdio)
		chardev_close(&ctl->own_stdio);
	monitor_free(ctl->console_mon);
	qmp_server_free(ctl->srv);
	ctl->vm->ctl = NULL;
	free(ctl);
}

int control_create(struct vm *vm)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	int ret;

	if (!ctl)
		return -ENOMEM;
	ctl->vm = vm;
	ctl->srv = qmp_server_new(&vm_ops, vm);
	ret = vm_add_cleanup(vm, control_free, ctl);
	if (ret || !ctl->srv) {
		qmp_server_free(ctl->srv);
		free(ctl);
		return ret ? ret : -ENOMEM;
	}
	vm->ctl = ctl;
	for (unsigned int i = 0; !ret && i < vm->cfg->nr_controls; i++)
		ret = listener_open(ctl, &vm->cfg->controls[i]);
	return ret;
}

bool control_wait_clients(struct control *ctl, int abort_fd)
{
	for (unsigned int i = 0; i < ctl->nr_listeners; i++) {
		struct listener *l = &ctl->listeners[i];
		struct pollfd pfd[2] = { { l->fd, POLLIN, 0 }, { abort_fd, POLLIN, 0 } };

		if (!l->wait)
			continue;
		pr_err("waiting for a %s client on %s", l->qmp ? "QMP" : "monitor", l->addr);
		while (!(pfd[0].revents & POLLIN)) {
			if (poll(pfd, 2, -1) < 0 && errno != EINTR)
				return false;
			if (pfd[1].revents & POLLIN)
				return true;
		}
		client_accept(l);
	}
	return false;
}

void control_shutdown(struct control *ctl)
{
	struct vm *vm = ctl->vm;
	enum vm_shutdown_cause cause = vm->shutdown_cause;
	struct timespec t0, now;

	qmp_event(ctl->srv, "SHUTDOWN",
		  json_pack("{s:b,s:s}", "guest", vm_shutdown_cause_guest(cause), "reason",
			    vm_shutdown_cause_name(cause)));
	/* The clients get everything before kvmini exits (they wait for the SHUTDOWN event). */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (struct client *c = ctl->clients; c; c = c->next) {
		while (c->out_len && !c->dead && client_flush(c) && c->out_len) {
			struct pollfd pfd = { c->fd, POLLOUT, 0 };
			long ms;

			clock_gettime(CLOCK_MONOTONIC, &now);
			ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
			if (ms >= FLUSH_TIMEOUT_MS ||
			    poll(&pfd, 1, (int)(FLUSH_TIMEOUT_MS - ms)) <= 0)
				break;
		}
	}
}
