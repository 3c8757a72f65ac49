/* SPDX-License-Identifier: MIT */
/*
 * The control plane (vmm/control.c): QMP and human-monitor sockets (-qmp,
 * -monitor), several clients each, the monitor on the console (Ctrl-A c,
 * -monitor stdio), and the VM operations behind them.  Everything runs on
 * the I/O thread's main_loop, which keeps running while the VM is paused.
 */
#ifndef KVMINI_CONTROL_H
#define KVMINI_CONTROL_H

#include "chardev.h"

struct vm;
struct control;

/* vm->ctl: the QMP server and the -qmp/-monitor listeners.  0 or -errno with err_set(). */
int control_create(struct vm *vm);
/* Hooks for the serial console on stdio: Ctrl-A x, and Ctrl-A c unless -monitor none. */
void control_console_hooks(struct control *ctl, struct chardev_hooks *hooks);
/*
 * After the serial ports: @console is the one on stdio (NULL: none).  With
 * -monitor stdio the monitor starts there, or has stdio to itself.  0 or -errno.
 */
int control_attach_console(struct control *ctl, struct chardev *console);
/*
 * Before the vCPUs start: wait for a client on every socket opened without
 * nowait.  true: @abort_fd became readable first (a termination signal).
 */
bool control_wait_clients(struct control *ctl, int abort_fd);
/* The VM has ended: SHUTDOWN to every QMP client, and their output flushed. */
void control_shutdown(struct control *ctl);

#endif
