/* SPDX-License-Identifier: MIT */
/*
 * VM state snapshots: the state file format (vmm/snapshot_file.c) and saving
 * and restoring a whole VM (vmm/snapshot.c).
 *
 * A state file is the magic "KVMINI-STATE", a 32-bit version, then sections
 * until an END section: each a header (tag, instance, payload length), the
 * payload and a crc32 of header and payload.  The first section is CONF,
 * what must match on restore (RAM size, vCPU count, the devices with state).
 * Numbers are little-endian (x86 hosts only).
 */
#ifndef KVMINI_SNAPSHOT_H
#define KVMINI_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC	  "KVMINI-STATE"
#define SNAP_MAGIC_LEN	  12
#define SNAP_VERSION	  1
#define SNAP_HDR_LEN	  16 /* magic + version */
#define SNAP_SEC_HDR_LEN  16 /* tag, instance, length */
#define SNAP_MAX_DEVS	  64
#define SNAP_DEV_NAME_LEN 32

#define SNAP_TAG(a, b, c, d) \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define SNAP_TAG_CONF SNAP_TAG('C', 'O', 'N', 'F')
#define SNAP_TAG_END  SNAP_TAG('E', 'N', 'D', ' ')

/* What a state file's VM must share with the VM it is restored into. */
struct snap_config {
	uint64_t ram_size;
	uint32_t nr_vcpus;
	uint32_t nr_devs;
	char devs[SNAP_MAX_DEVS][SNAP_DEV_NAME_LEN]; /* "serial0", in registration order */
};

/* ---- Writing: to a temporary file, renamed over the target when complete ------------------ */

struct snap_writer {
	int fd;
	char *path, *tmp;
	int err; /* the first error, -errno with err_set() */
};

/* Create @path's temporary file and write the file header and CONF.  0 or -errno. */
int snap_writer_open(struct snap_writer *w, const char *path, const struct snap_config *cfg);
/*
 * Append a section whose payload is @a then @b (either may be empty).
 * Errors stick in w->err, so callers check once, at snap_writer_close().
 */
void snap_put(struct snap_writer *w, uint32_t tag, uint32_t inst, const void *a, size_t alen,
	      const void *b, size_t blen);
/*
 * @commit: write END, sync and rename into place; else (or on an earlier
 * error) remove the temporary file.  0 or the first -errno.
 */
int snap_writer_close(struct snap_writer *w, bool commit);

/* ---- Reading: the whole file is checked before anything uses it --------------------------- */

struct snap_section {
	uint32_t tag, inst;
	const uint8_t *data;
	uint64_t len;
};

struct snap_reader {
	const uint8_t *map;
	size_t size;
	struct snap_section *secs;
	unsigned int nr_secs;
	struct snap_config cfg;
};

/* Check and index @size bytes at @buf (not copied).  0 or -EINVAL with err_set(). */
int snap_reader_parse(struct snap_reader *r, const uint8_t *buf, size_t size);
/* Map and parse @path.  0 or -errno with err_set(). */
int snap_reader_open(struct snap_reader *r, const char *path);
void snap_reader_close(struct snap_reader *r);
/* The section @tag/@inst, or NULL. */
const struct snap_section *snap_find(const struct snap_reader *r, uint32_t tag, uint32_t inst);
/* The same, which must be @len bytes long: 0 or -EINVAL with err_set(). */
int snap_get(const struct snap_reader *r, uint32_t tag, uint32_t inst, void *buf, size_t len);

/* @saved against @mine: 0 or -EINVAL with err_set() naming the first difference. */
int snap_config_check(const struct snap_config *saved, const struct snap_config *mine);
/* The printable form of @tag ("CONF"), in @buf[5]. */
const char *snap_tag_name(uint32_t tag, char buf[5]);

/* ---- Devices and the VM ------------------------------------------------------------------- */

/* A growable buffer for a device's state. */
struct snap_buf {
	uint8_t *data;
	size_t len, cap;
	bool oom;
};

void snap_buf_put(struct snap_buf *b, const void *p, size_t len);

/* Reading a device's payload piece by piece: a short payload sets @bad, never overreads. */
struct snap_cursor {
	const uint8_t *p;
	size_t left;
	bool bad;
};

/* Copy the next @len bytes to @dst (zeroes once the payload ran short). */
void snap_take(struct snap_cursor *c, void *dst, size_t len);

struct vm;

/*
 * A device's state.  save appends to @out; load gets back what save wrote
 * (0, or -errno with err_set() for a payload it does not understand).
 * check (optional) runs for every device before any load changes the VM:
 * a refusal there leaves the VM as it was.  All run with the VM stopped,
 * on the I/O thread or before the vCPUs start.
 */
struct vm_state_ops {
	void (*save)(void *opaque, struct snap_buf *out);
	int (*check)(void *opaque, const uint8_t *data, size_t len);
	int (*load)(void *opaque, const uint8_t *data, size_t len); /* optional */
};

/* Register a device's state under @name (unique per VM).  0 or -errno with err_set(). */
int vm_register_state(struct vm *vm, const char *name, const struct vm_state_ops *ops,
		      void *opaque);

/*
 * Save the stopped VM (vm_pause()) to @path, atomically.  @tag (savevm's
 * NAME, or NULL): each writable qcow2 disk also gets the internal snapshot
 * @tag, which its record names (include/disk_state.h).  0 or -errno with
 * err_set().
 */
int snapshot_save(struct vm *vm, const char *path, const char *tag);
/*
 * Load @path into a VM built but not yet started (-incoming), or into a
 * stopped one (loadvm).  @disk_check: refuse disks changed since the save.
 * 0 or -errno with err_set(); *@touched says whether the VM was changed
 * before the error (its state is then a mix: load again, or end it).
 */
int snapshot_load(struct vm *vm, const char *path, bool disk_check, bool *touched);

#endif
