// SPDX-License-Identifier: MIT
/* Opening /dev/kvm and checking that it offers what kvmini needs. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "error.h"
#include "util.h"
#include "vm.h"

static const struct {
	int cap;
	const char *name;
} kvm_required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY (guest memory slots)" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP (in-kernel interrupt controllers)" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2 (in-kernel timer)" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING (interrupt routing)" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD (ioeventfd)" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD (irqfd)" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT (stopping vCPUs)" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID (CPUID set-up)" },
};

int kvm_open(const char *path, int *kvm_fd)
{
	int fd, version;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			return err_set(e,
				       "%s: no such device: load the kvm module, or run where "
				       "hardware virtualization is available",
				       path);
		if (e == EACCES)
			return err_set(e, "%s: permission denied: add yourself to the kvm group",
				       path);
		return err_set(e, "%s: cannot open: %s", path, strerror(e));
	}
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		close(fd);
		if (version < 0)
			return err_set(ENODEV, "%s: not a KVM device", path);
		return err_set(ENODEV, "%s: KVM API version %d, kvmini needs %d", path, version,
			       KVM_API_VERSION);
	}
	for (size_t i = 0; i < ARRAY_SIZE(kvm_required_caps); i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, kvm_required_caps[i].cap) <= 0) {
			close(fd);
			return err_set(ENODEV, "%s: the host's KVM lacks %s, which kvmini needs",
				       path, kvm_required_caps[i].name);
		}
	}
	*kvm_fd = fd;
	return 0;
}

/*
 * PVM: nested KVM without VT-x/AMD-V.  A guest's VMCALL may never complete
 * there, and guest CPUID shows the real CPU's bits for features PVM's KVM
 * does not manage.
 */
bool kvm_host_is_pvm(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

int kvm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t len, int fd, bool assign)
{
	struct kvm_ioeventfd io = {
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};

	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) ? -errno : 0;
}
