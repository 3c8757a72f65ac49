// SPDX-License-Identifier: MIT
/*
 * kvmfloor: the least any VMM with an in-kernel irqchip does from exec to
 * exit — create a VM with RAM, irqchip, PIT and one vCPU, run a guest that
 * does a single OUT, and exit.  The benchmark prints its time as the host's
 * floor, so that VMM times can be read as "floor + the VMM's own work".
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define RAM_SIZE (128UL << 20)

static int fail(const char *what)
{
	perror(what);
	return 1;
}

int main(void)
{
	static const unsigned char code[] = { 0xe6, 0xf4, 0xf4 }; /* out %al,$0xf4; hlt */
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvm_userspace_memory_region slot = { .memory_size = RAM_SIZE };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
	struct kvm_run *run;
	int kvm, vm, vcpu;
	void *ram;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		return fail("mmap");
	memcpy((char *)ram + 0x1000, code, sizeof(code));
	slot.userspace_addr = (unsigned long)ram;
	if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) ||
	    ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) || ioctl(vm, KVM_CREATE_IRQCHIP, 0) ||
	    ioctl(vm, KVM_CREATE_PIT2, &pit))
		return fail("VM set-up");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
		   MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs))
		return fail("vCPU set-up");
	/* Real mode at 0:0x1000. */
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) || ioctl(vcpu, KVM_SET_REGS, &regs))
		return fail("vCPU registers");
	if (ioctl(vcpu, KVM_RUN, 0) || run->exit_reason != KVM_EXIT_IO) {
		fprintf(stderr, "kvmfloor: unexpected exit %u\n", run->exit_reason);
		return 1;
	}
	return 0;
}
