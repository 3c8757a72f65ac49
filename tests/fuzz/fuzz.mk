# SPDX-License-Identifier: MIT
# The fuzzers: make fuzz [FUZZ_SECONDS=60] runs each for FUZZ_SECONDS (clang, libFuzzer,
# ASan + UBSan), after replaying its regression inputs (tests/fuzz/regress-NAME/: inputs that
# once failed, kept so that they never do again).
#   fuzz_gdb_proto  the gdb stub's protocol and server over the fake target, seeded with
#                   typical gdb traffic
#   fuzz_qcow2      image opening, block status, reads and the check (include/qcow2.h) on a
#                   memfd, seeded with small qemu-img-made images (tests/fuzz/qcow2-seeds.sh)
# Included from the top-level Makefile.

FUZZ_SECONDS ?= 60
FUZZ_BUILD ?= build-fuzz
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SRCS := tests/fuzz/fuzz_gdb_proto.c vmm/gdb_proto.c vmm/gdb_server.c vmm/listen.c \
	vmm/error.c vmm/event_loop.c vmm/util.c

.PHONY: fuzz

$(FUZZ_BUILD)/fuzz_gdb_proto: $(FUZZ_SRCS) tests/helpers/gdb_fake.c include/gdb.h \
		include/gdb_proto.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_SRCS) -lpthread

# Seeds: typical gdb traffic, packets separated by '|', each written as one chunk framed with
# its checksum, the stop delivered after it (header byte 0xc0 | length - 1; see
# fuzz_gdb_proto.c).
FUZZ_SEEDS := \
	'qSupported:swbreak+;hwbreak+|?|qXfer:features:read:target.xml:0,3f' \
	'QStartNoAckMode|?|g|p10|Hg2|p0|qC|qfThreadInfo|qsThreadInfo|T2' \
	'?|vCont?|vCont;s:2;c|vCont;c:1|vCont;C05:-1|?' \
	'?|Z0,ffffffff81000020,1|c|z0,ffffffff81000020,1|Z2,ffffffff81000100,4|c|s' \
	'?|Xffffffff81000000,2:ab|mffffffff81000000,2|Mffffffff81000010,2:abcd|m0,1' \
	'?|qRcmd,70687973206f6e|m100000,4|qRcmd,696e666f|qRcmd,68656c70|D' \
	'?|G00|P10=0000000000000000|Hc1|s|k'

FUZZ_QCOW2_SRCS := tests/fuzz/fuzz_qcow2.c \
	$(filter-out devices/block/qcow2_backend.c,$(wildcard devices/block/qcow2*.c)) \
	devices/block/lock.c vmm/error.c vmm/util.c

$(FUZZ_BUILD)/fuzz_qcow2: $(FUZZ_QCOW2_SRCS) include/qcow2.h $(wildcard devices/block/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_QCOW2_SRCS) -lz -lzstd -lpthread

fuzz: $(FUZZ_BUILD)/fuzz_gdb_proto $(FUZZ_BUILD)/fuzz_qcow2 $(FUZZ_BUILD)/fuzz_qmp fuzz-qmp-corpus
	@mkdir -p $(FUZZ_BUILD)/corpus-gdb
	@i=0; for s in $(FUZZ_SEEDS); do i=$$((i + 1)); \
		echo "$$s" | tr '|' '\n' | while IFS= read -r p; do \
			printf "\\$$(printf %o $$((192 + $${#p} - 1)))%s" "$$p"; \
		done >$(FUZZ_BUILD)/corpus-gdb/seed$$i; \
	done
	$(FUZZ_BUILD)/fuzz_gdb_proto -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		-print_final_stats=1 $(FUZZ_BUILD)/corpus-gdb
	$(FUZZ_BUILD)/fuzz_qcow2 -rss_limit_mb=2048 tests/fuzz/regress-qcow2/*
	tests/fuzz/qcow2-seeds.sh $(FUZZ_BUILD)/corpus-qcow2
	$(FUZZ_BUILD)/fuzz_qcow2 -max_total_time=$(FUZZ_SECONDS) -max_len=262144 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 $(FUZZ_BUILD)/corpus-qcow2
	$(FUZZ_BUILD)/fuzz_qmp -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		-print_final_stats=1 $(FUZZ_BUILD)/corpus-qmp

# ---- QMP and the human monitor ------------------------------------------------------------------
# fuzz_qmp: the protocol, the command table and the monitor against the unit tests' fake VM;
# every reply is checked to be a JSON object.  Seeds: a first byte (the read size - 1), then
# typical QMP traffic.
FUZZ_QMP_SRCS := tests/fuzz/fuzz_qmp.c vmm/qmp.c vmm/qmp_commands.c vmm/monitor.c vmm/error.c
FUZZ_QMP_SEEDS := \
	'\377{"execute": "qmp_capabilities"}{"execute": "query-block"}' \
	'\003{"execute": "qmp_capabilities", "id": 1}\n{"execute": "stop"}{"execute": "cont"}' \
	'\020{"execute": "qmp_capabilities"} {"execute": "human-monitor-command", "arguments": {"command-line": "info registers"}, "id": [1]}' \
	'\000{"execute": "query-status"} garbage {"execute": 1} [1] {"execute": "quit"}' \
	'\177{"execute": "qmp_capabilities"}{"execute": "query-cpus-fast", "arguments": {"x": "}"}}'

.PHONY: fuzz-qmp-corpus

$(FUZZ_BUILD)/fuzz_qmp: $(FUZZ_QMP_SRCS) include/qmp.h tests/unit/qmp_fake.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_QMP_SRCS) -ljansson

fuzz-qmp-corpus:
	@mkdir -p $(FUZZ_BUILD)/corpus-qmp
	@i=0; for s in $(FUZZ_QMP_SEEDS); do i=$$((i + 1)); \
		printf '%b' "$$s" >$(FUZZ_BUILD)/corpus-qmp/seed$$i; \
	done
