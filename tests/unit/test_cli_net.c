// SPDX-License-Identifier: MIT
/* Unit tests for -netdev, -nic and -net (vmm/cli_net.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"
#include "error.h"

#include "cli_args.h"

static struct vm_config cfg;

/* With a kernel: a command line that parses to the end runs the -net pairing. */
#define NET_PARSE(...) PARSE(&cfg, "-kernel", "k", __VA_ARGS__)

static int teardown(void **state)
{
	(void)state;
	cli_free(&cfg);
	return 0;
}

static void test_netdev_kept(void **state)
{
	(void)state;
	assert_int_equal(NET_PARSE("-netdev", "tap,id=n0,ifname=tap0,script=no", "-device",
				   "virtio-net-pci,netdev=n0"),
			 CLI_RUN);
	assert_int_equal(cfg.nr_netdevs, 1);
	assert_string_equal(cfg.netdevs[0], "tap,id=n0,ifname=tap0,script=no");
	assert_null(cfg.netdev_origin[0]);
	assert_int_equal(cfg.nr_devices, 1);
}

static void test_nic_user(void **state)
{
	(void)state;
	assert_int_equal(NET_PARSE("-nic", "user,hostfwd=tcp::8022-:22,mac=52:54:00:00:00:07,"
					   "model=virtio-net-pci,hostfwd=udp::5353-:53"),
			 CLI_RUN);
	assert_int_equal(cfg.nr_netdevs, 1);
	/* hostfwd= may repeat, as with -netdev: every one goes to the backend, in order. */
	assert_string_equal(cfg.netdevs[0],
			    "user,id=nic.0,hostfwd=tcp::8022-:22,hostfwd=udp::5353-:53");
	assert_string_equal(cfg.netdev_origin[0],
			    "-nic user,hostfwd=tcp::8022-:22,mac=52:54:00:00:00:07,"
			    "model=virtio-net-pci,hostfwd=udp::5353-:53");
	assert_int_equal(cfg.nr_devices, 1);
	assert_string_equal(cfg.devices[0], "virtio-net-pci,netdev=nic.0,mac=52:54:00:00:00:07");
}

/* A comma inside a value survives the rewrite (written ",," again). */
static void test_nic_escapes(void **state)
{
	(void)state;
	assert_int_equal(NET_PARSE("-nic", "tap,id=x,ifname=a,,b"), CLI_RUN);
	assert_string_equal(cfg.netdevs[0], "tap,id=x,ifname=a,,b");
	assert_string_equal(cfg.devices[0], "virtio-net-pci,netdev=x");
}

static void test_nic_two_and_none(void **state)
{
	(void)state;
	assert_int_equal(NET_PARSE("-nic", "user", "-nic", "none", "-nic", "tap,ifname=tap1"),
			 CLI_RUN);
	assert_int_equal(cfg.nr_netdevs, 2);
	assert_string_equal(cfg.netdevs[0], "user,id=nic.0");
	assert_string_equal(cfg.netdevs[1], "tap,id=nic.1,ifname=tap1");
	assert_string_equal(cfg.devices[1], "virtio-net-pci,netdev=nic.1");
}

static void test_nic_refused(void **state)
{
	(void)state;
	PARSE_FAILS("-nic user,model=e1000: model=e1000 is not supported (kvmini has "
		    "virtio-net-pci only)",
		    "-nic", "user,model=e1000");
	PARSE_FAILS("-nic none,mac=52:54:00:00:00:01: none takes no parameters", "-nic",
		    "none,mac=52:54:00:00:00:01");
	PARSE_FAILS("-nic mac=52:54:00:00:00:01: a backend type is required (tap, user or none)",
		    "-nic", "mac=52:54:00:00:00:01");
}

/* The seeds' legacy pair: -net nic takes the next -net user. */
static void test_net_pair(void **state)
{
	(void)state;
	assert_int_equal(NET_PARSE("-net", "nic,model=virtio,macaddr=52:54:00:00:00:09", "-net",
				   "user,hostfwd=tcp::2222-:22,hostfwd=tcp::2223-:23"),
			 CLI_RUN);
	assert_int_equal(cfg.nr_netdevs, 1);
	assert_string_equal(cfg.netdevs[0],
			    "user,id=net.0,hostfwd=tcp::2222-:22,hostfwd=tcp::2223-:23");
	assert_string_equal(cfg.netdev_origin[0],
			    "-net user,hostfwd=tcp::2222-:22,hostfwd=tcp::2223-:23");
	assert_string_equal(cfg.devices[0], "virtio-net-pci,netdev=net.0,mac=52:54:00:00:00:09");
}

static void test_net_backend_first_and_netdev(void **state)
{
	(void)state;
	assert_int_equal(NET_PARSE("-net", "tap,ifname=tap0,script=no", "-net", "nic", "-netdev",
				   "user,id=u", "-net", "nic,netdev=u"),
			 CLI_RUN);
	assert_int_equal(cfg.nr_netdevs, 2);
	assert_string_equal(cfg.netdevs[0], "user,id=u");
	assert_string_equal(cfg.netdevs[1], "tap,id=net.1,ifname=tap0,script=no");
	assert_string_equal(cfg.devices[0], "virtio-net-pci,netdev=u");
	assert_string_equal(cfg.devices[1], "virtio-net-pci,netdev=net.1");
}

static void test_net_none(void **state)
{
	(void)state;
	assert_int_equal(NET_PARSE("-net", "none"), CLI_RUN);
	assert_int_equal(cfg.nr_netdevs, 0);
	assert_int_equal(cfg.nr_devices, 0);
}

static void test_net_refused(void **state)
{
	(void)state;
	PARSE_FAILS("-net nic: no -net user or -net tap for this NIC", "-net", "nic");
	PARSE_FAILS("-net user: no -net nic to connect it to (add -net nic)", "-net", "user");
	PARSE_FAILS("-net none: cannot be combined with other -net options", "-net", "none", "-net",
		    "nic", "-net", "user");
	PARSE_FAILS("-net nic,vlan=1: parameter 'vlan' is not supported", "-net", "nic,vlan=1",
		    "-net", "user");
	PARSE_FAILS("-net nic,model=rtl8139: model=rtl8139 is not supported (kvmini has "
		    "virtio-net-pci only)",
		    "-net", "nic,model=rtl8139", "-net", "user");
	PARSE_FAILS("-net none,x=1: none takes no parameters", "-net", "none,x=1");
}

static void test_too_many(void **state)
{
	const char *args[2 * (MAX_NETDEVS + 1) + 1];

	(void)state;
	for (unsigned int i = 0; i <= MAX_NETDEVS; i++) {
		args[2 * i] = "-nic";
		args[2 * i + 1] = "user";
	}
	args[2 * (MAX_NETDEVS + 1)] = NULL;
	assert_int_equal(parse_args(&cfg, args), -EINVAL);
	assert_string_equal(err_msg(EINVAL), "-nic user: too many network backends (at most 8)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_netdev_kept, teardown),
		cmocka_unit_test_teardown(test_nic_user, teardown),
		cmocka_unit_test_teardown(test_nic_escapes, teardown),
		cmocka_unit_test_teardown(test_nic_two_and_none, teardown),
		cmocka_unit_test_teardown(test_nic_refused, teardown),
		cmocka_unit_test_teardown(test_net_pair, teardown),
		cmocka_unit_test_teardown(test_net_backend_first_and_netdev, teardown),
		cmocka_unit_test_teardown(test_net_none, teardown),
		cmocka_unit_test_teardown(test_net_refused, teardown),
		cmocka_unit_test_teardown(test_too_many, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
