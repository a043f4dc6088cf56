// SPDX-License-Identifier: GPL-2.0-only
/*
 * doorbell_probe UUID [OFFSET [MAGIC]]: open an mdev as a VMM does, mmap
 * BAR2's sparse mmap (doorbell) area MAP_SHARED, store the 32-bit MAGIC
 * (default 0x5a17c0de) at OFFSET (default 0x800) of BAR2, load it back and
 * print
 *
 *	area 0x<off>+0x<len> wrote 0x<magic> at 0x<offset> read 0x<value>
 *
 * A real doorbell page does not give the value back (a virtio notify area
 * reads as 0 on QEMU); RAM does.  Exit 0 once the store and the load were
 * done, 1 if the device does not open or BAR2 has no mmap-able area
 * holding OFFSET (the line then says why).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm_kvm.h"

int main(int argc, char **argv)
{
	u64 offset = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x800;
	u32 magic = argc > 3 ? strtoul(argv[3], NULL, 0) : 0x5a17c0de;
	u32 *word;
	struct vmm vmm;
	size_t len;
	u32 value;
	int ret = 1;
	u64 off;
	void *db;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: %s UUID [OFFSET [MAGIC]]\n", argv[0]);
		return 2;
	}
	ret = vmm_open(&vmm, argv[1]);
	if (ret) {
		printf("cannot open %s: %s\n", argv[1], strerror(-ret));
		return 1;
	}
	ret = 1;
	db = vmm_doorbell_map(&vmm, &off, &len);
	if (!db) {
		printf("BAR2 has no mmap-able sparse area (flags %#x, size %#llx)\n",
		       vmm.region[VFIO_PCI_BAR2_REGION_INDEX].flags,
		       (unsigned long long)vmm_region_size(&vmm, VFIO_PCI_BAR2_REGION_INDEX));
		goto out_close;
	}
	if (offset < off || offset + 4 > off + len) {
		printf("no sparse mmap area of BAR2 holds 0x%llx (area 0x%llx+0x%zx)\n",
		       (unsigned long long)offset, (unsigned long long)off, len);
		goto out_unmap;
	}
	/* One 32-bit store and one 32-bit load, as a driver's kick would be. */
	word = (u32 *)((u8 *)db + (offset - off));
	__atomic_store_n(word, magic, __ATOMIC_SEQ_CST);
	value = __atomic_load_n(word, __ATOMIC_SEQ_CST);
	printf("area 0x%llx+0x%zx wrote 0x%08x at 0x%llx read 0x%08x\n",
	       (unsigned long long)off, len, magic, (unsigned long long)offset,
	       value);
	ret = 0;
out_unmap:
	munmap(db, len);
out_close:
	vmm_close(&vmm);
	return ret;
}
