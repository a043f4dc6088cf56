// SPDX-License-Identifier: GPL-2.0-only
/*
 * Conformance sweep: every register a guest sees, read at every access
 * width and offset, and written where a write is safe to repeat, through a
 * VFIO device fd the way a VMM forwards a guest's accesses.
 *
 *   conformance sweep NAME > FILE
 *	NAME is an mdev UUID or the BDF of a function bound to vfio-pci.
 *	Prints one "KEY VALUE" line per observation.
 *   conformance diff FUNCTION MDEV EXPECTED
 *	Compares two sweeps (the function under vfio-pci passthrough and
 *	the mdev on the same function) and prints TAP: one result per
 *	register view, failed by any difference that no rule of EXPECTED
 *	(conformance_expected.txt) names, and one result failed by rules
 *	that no longer match any difference.
 *
 * Keys name what was accessed independently of where the two devices put
 * it: VIEW:OPWIDTH@OFFSET:FIELDS, with OFFSET relative to the view (the
 * header, one capability, one virtio structure) and FIELDS the fields the
 * access covers ("+N" when it starts N bytes into the first one, "," between
 * several, "reserved" for bytes of no field), e.g.
 * "common.s1:r2@0x006:device_feature+2".  A read that is not the natural
 * access of one field is recorded as "=" when it returns exactly the bytes
 * the natural accesses of the fields it covers return, so the values that
 * differ between the two devices (features, BAR addresses) differ once, at
 * their natural access, and the width behaviour is compared on its own.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include <kselftest.h>

#include "vmm.h"

struct field {
	const char *name;
	u16 off;
	u8 len;
	u8 nat;		/* natural access width */
};

static const struct field hdr_fields[] = {
	{ "vendor_id", 0x00, 2, 2 }, { "device_id", 0x02, 2, 2 },
	{ "command", 0x04, 2, 2 }, { "status", 0x06, 2, 2 },
	{ "revision", 0x08, 1, 1 }, { "class_prog", 0x09, 1, 1 },
	{ "class_device", 0x0a, 2, 2 }, { "cache_line_size", 0x0c, 1, 1 },
	{ "latency_timer", 0x0d, 1, 1 }, { "header_type", 0x0e, 1, 1 },
	{ "bist", 0x0f, 1, 1 }, { "bar0", 0x10, 4, 4 }, { "bar1", 0x14, 4, 4 },
	{ "bar2", 0x18, 4, 4 }, { "bar3", 0x1c, 4, 4 }, { "bar4", 0x20, 4, 4 },
	{ "bar5", 0x24, 4, 4 }, { "cardbus_cis", 0x28, 4, 4 },
	{ "subsystem_vendor_id", 0x2c, 2, 2 }, { "subsystem_id", 0x2e, 2, 2 },
	{ "rom_address", 0x30, 4, 4 }, { "capability_list", 0x34, 1, 1 },
	{ "interrupt_line", 0x3c, 1, 1 }, { "interrupt_pin", 0x3d, 1, 1 },
	{ "min_gnt", 0x3e, 1, 1 }, { "max_lat", 0x3f, 1, 1 },
	{ NULL }
};

static const struct field msix_fields[] = {
	{ "cap_id", 0, 1, 1 }, { "cap_next", 1, 1, 1 }, { "flags", 2, 2, 2 },
	{ "table", 4, 4, 4 }, { "pba", 8, 4, 4 },
	{ NULL }
};

/* struct virtio_pci_cap, and what follows it in the notify and PCI_CFG ones. */
static const struct field vcap_fields[] = {
	{ "cap_vndr", 0, 1, 1 }, { "cap_next", 1, 1, 1 }, { "cap_len", 2, 1, 1 },
	{ "cfg_type", 3, 1, 1 }, { "bar", 4, 1, 1 }, { "id", 5, 1, 1 },
	{ "padding", 6, 2, 1 }, { "offset", 8, 4, 4 }, { "length", 12, 4, 4 },
	{ NULL }
};

static const struct field notify_cap_fields[] = {
	{ "cap_vndr", 0, 1, 1 }, { "cap_next", 1, 1, 1 }, { "cap_len", 2, 1, 1 },
	{ "cfg_type", 3, 1, 1 }, { "bar", 4, 1, 1 }, { "id", 5, 1, 1 },
	{ "padding", 6, 2, 1 }, { "offset", 8, 4, 4 }, { "length", 12, 4, 4 },
	{ "notify_off_multiplier", 16, 4, 4 },
	{ NULL }
};

static const struct field pcicfg_cap_fields[] = {
	{ "cap_vndr", 0, 1, 1 }, { "cap_next", 1, 1, 1 }, { "cap_len", 2, 1, 1 },
	{ "cfg_type", 3, 1, 1 }, { "bar", 4, 1, 1 }, { "id", 5, 1, 1 },
	{ "padding", 6, 2, 1 }, { "offset", 8, 4, 4 }, { "length", 12, 4, 4 },
	{ "pci_cfg_data", 16, 4, 4 },
	{ NULL }
};

static const struct field other_cap_fields[] = {
	{ "cap_id", 0, 1, 1 }, { "cap_next", 1, 1, 1 },
	{ NULL }
};

/* struct virtio_pci_common_cfg with virtio 1.2's two additions. */
#define CC_DFSELECT	0x00
#define CC_DF		0x04
#define CC_GFSELECT	0x08
#define CC_GF		0x0c
#define CC_MSIX		0x10
#define CC_NUMQ		0x12
#define CC_STATUS	0x14
#define CC_GEN		0x15
#define CC_QSEL		0x16
#define CC_QSIZE	0x18
#define CC_QMSIX	0x1a
#define CC_QENABLE	0x1c
#define CC_QNOFF	0x1e
#define CC_QDESC	0x20
#define CC_QAVAIL	0x28
#define CC_QUSED	0x30
#define CC_END		0x3c

static const struct field common_fields[] = {
	{ "device_feature_select", CC_DFSELECT, 4, 4 },
	{ "device_feature", CC_DF, 4, 4 },
	{ "guest_feature_select", CC_GFSELECT, 4, 4 },
	{ "guest_feature", CC_GF, 4, 4 },
	{ "msix_config", CC_MSIX, 2, 2 }, { "num_queues", CC_NUMQ, 2, 2 },
	{ "device_status", CC_STATUS, 1, 1 },
	{ "config_generation", CC_GEN, 1, 1 },
	{ "queue_select", CC_QSEL, 2, 2 }, { "queue_size", CC_QSIZE, 2, 2 },
	{ "queue_msix_vector", CC_QMSIX, 2, 2 },
	{ "queue_enable", CC_QENABLE, 2, 2 },
	{ "queue_notify_off", CC_QNOFF, 2, 2 },
	{ "queue_desc_lo", CC_QDESC, 4, 4 },
	{ "queue_desc_hi", CC_QDESC + 4, 4, 4 },
	{ "queue_avail_lo", CC_QAVAIL, 4, 4 },
	{ "queue_avail_hi", CC_QAVAIL + 4, 4, 4 },
	{ "queue_used_lo", CC_QUSED, 4, 4 },
	{ "queue_used_hi", CC_QUSED + 4, 4, 4 },
	{ "queue_notify_data", 0x38, 2, 2 }, { "queue_reset", 0x3a, 2, 2 },
	{ NULL }
};

static const struct field isr_fields[] = {
	{ "isr", 0, 1, 1 },
	{ NULL }
};

/* struct virtio_net_config (virtio 1.2, 5.1.4). */
static const struct field net_fields[] = {
	{ "mac", 0, 6, 1 }, { "status", 6, 2, 2 },
	{ "max_virtqueue_pairs", 8, 2, 2 }, { "mtu", 10, 2, 2 },
	{ "speed", 12, 4, 4 }, { "duplex", 16, 1, 1 },
	{ "rss_max_key_size", 17, 1, 1 },
	{ "rss_max_indirection_table_length", 18, 2, 2 },
	{ "supported_hash_types", 20, 4, 4 },
	{ NULL }
};

static const struct field notify_fields[] = {
	{ NULL }
};

#define NET_CFG_LEN	24
#define STRUCT_SWEEP	0x1000	/* bytes of each virtio structure swept */
#define MAX_VIEW	0x1000

/*
 * One region of registers: @len bytes at @base in VFIO region @index, laid
 * out as @fields.  @nat holds what the natural accesses return.
 */
struct view {
	char name[32];
	const struct field *fields;
	unsigned int index;
	u64 base;
	u32 len;
	u8 nat[MAX_VIEW];
};

static const unsigned int widths[] = { 1, 2, 4 };

static void out(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static const struct field *field_at(const struct field *f, unsigned int off)
{
	for (; f->name; f++)
		if (off >= f->off && off < f->off + f->len)
			return f;
	return NULL;
}

/* "FIELDS" of a key: the fields [off, off + w) covers. */
static void fields_of(const struct field *fields, unsigned int off,
		      unsigned int w, char *buf, size_t size)
{
	const struct field *f, *prev = NULL;
	unsigned int i;
	size_t n = 0;
	bool reserved = false;

	buf[0] = '\0';
	for (i = off; i < off + w && n < size; i++) {
		f = field_at(fields, i);
		if (f && f == prev)
			continue;
		if (!f && reserved)
			continue;
		if (f && i == off && off > f->off)
			n += snprintf(buf + n, size - n, "%s%s+%u", n ? "," : "",
				      f->name, off - f->off);
		else
			n += snprintf(buf + n, size - n, "%s%s", n ? "," : "",
				      f ? f->name : "reserved");
		prev = f;
		reserved = !f;
	}
}

/* The natural access of exactly one field, or a byte of no field. */
static bool natural(const struct field *fields, unsigned int off,
		    unsigned int w)
{
	const struct field *f = field_at(fields, off);

	if (!f)
		return w == 1;
	return w == f->nat && (off - f->off) % f->nat == 0 &&
	       off + w <= f->off + f->len;
}

static void key_of(char *key, size_t size, const char *view, char op,
		   unsigned int w, unsigned int off, const struct field *fields)
{
	char names[160];
	int n;

	fields_of(fields, off, w, names, sizeof(names));
	n = snprintf(key, size, "%s:%c%u@0x%03x:%s", view, op, w, off, names);
	if (n < 0 || (size_t)n >= size)
		key[size - 1] = '\0';
}

static int rd(struct vmm *v, unsigned int index, u64 off, unsigned int w,
	      u32 *val)
{
	*val = 0;
	return vmm_reg_read(v, index, off, w, val);
}

static void fmt_val(char *buf, size_t size, int err, u32 val, unsigned int w)
{
	if (err)
		snprintf(buf, size, "ERR%d", -err);
	else
		snprintf(buf, size, "0x%0*x", 2 * w, val);
}

/* Fill @vw->nat with the natural accesses of each field. */
static void view_snapshot(struct vmm *v, struct view *vw)
{
	const struct field *f;
	unsigned int off, w, i;
	u32 val;

	for (off = 0; off < vw->len; off += w) {
		f = field_at(vw->fields, off);
		w = f ? f->nat : 1;
		if (off + w > vw->len)
			w = 1;
		if (rd(v, vw->index, vw->base + off, w, &val))
			val = ~0U;
		for (i = 0; i < w; i++)
			vw->nat[off + i] = val >> (8 * i);
	}
}

static u32 nat_bytes(const struct view *vw, unsigned int off, unsigned int w)
{
	u32 val = 0;
	unsigned int i;

	for (i = 0; i < w; i++)
		val |= (u32)vw->nat[off + i] << (8 * i);
	return val;
}

/* A read as read, or "=" when @compose and it has the natural bytes. */
static void record_read(const char *key, const struct view *vw,
			unsigned int off, unsigned int w, int err, u32 got,
			bool compose)
{
	char val[32];

	if (!err && compose && got == nat_bytes(vw, off, w)) {
		out(key, "=");
		return;
	}
	fmt_val(val, sizeof(val), err, got, w);
	out(key, "%s", val);
}

/*
 * Every width at every aligned offset of [@from, @to): natural accesses
 * recorded as read, the others as "=" when they compose the natural bytes.
 */
static void sweep_reads(struct vmm *v, struct view *vw, unsigned int from,
			unsigned int to)
{
	char key[256];
	unsigned int i, off, w;
	u32 got;
	int err;

	view_snapshot(v, vw);
	for (i = 0; i < ARRAY_SIZE(widths); i++) {
		w = widths[i];
		for (off = from; off + w <= to; off += w) {
			key_of(key, sizeof(key), vw->name, 'r', w, off,
			       vw->fields);
			err = rd(v, vw->index, vw->base + off, w, &got);
			record_read(key, vw, off, w, err, got,
				    !natural(vw->fields, off, w));
		}
	}
}

/*
 * Configuration space writes: all ones at every width and aligned offset,
 * read back, then the old value written back.
 */
static void sweep_cfg_writes(struct vmm *v, struct view *vw)
{
	char key[256], val[32];
	unsigned int i, off, w;
	u32 old, got, again;
	int err;

	for (i = 0; i < ARRAY_SIZE(widths); i++) {
		w = widths[i];
		for (off = 0; off + w <= vw->len; off += w) {
			key_of(key, sizeof(key), vw->name, 'w', w, off,
			       vw->fields);
			err = rd(v, VMM_CFG, vw->base + off, w, &old);
			if (!err)
				err = vmm_reg_write(v, VMM_CFG, vw->base + off,
						    w, ~0U);
			if (!err)
				err = rd(v, VMM_CFG, vw->base + off, w, &got);
			if (!err)
				err = vmm_reg_write(v, VMM_CFG, vw->base + off,
						    w, old);
			if (!err)
				err = rd(v, VMM_CFG, vw->base + off, w, &again);
			fmt_val(val, sizeof(val), err, got, w);
			out(key, "%s%s", val,
			    !err && again != old ? " (not restored)" : "");
		}
	}
}

/* ---- the virtio transport --------------------------------------------- */

struct dev {
	struct vmm vmm;
	u16 nq;
	u16 nvec;
	struct view common;
	struct view isr;
	struct view device;
	struct view notify;
};

static u32 cc_read(struct dev *d, unsigned int off, unsigned int w)
{
	return vmm_vio_read(&d->vmm, off, w);
}

static void cc_write(struct dev *d, unsigned int off, unsigned int w, u32 val)
{
	vmm_vio_write(&d->vmm, off, w, val);
}

static int dev_reset(struct dev *d)
{
	int i;

	cc_write(d, CC_STATUS, 1, 0);
	for (i = 0; i < 1000; i++) {
		if (!cc_read(d, CC_STATUS, 1))
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

static void cc_write64(struct dev *d, unsigned int off, u64 val)
{
	cc_write(d, off, 4, (u32)val);
	cc_write(d, off + 4, 4, val >> 32);
}

/*
 * The states the reads are swept in.  Values have a distinct non-zero byte
 * wherever the field can hold one, so a byte read from the wrong place or
 * not at all shows.  State 0 is the reset state, with the selectors and
 * driver_feature written 0: QEMU's virtio-pci keeps them across a reset
 * (state 3 shows that once), so they hold what the function's last user
 * left.
 */
static void common_state(struct dev *d, int s)
{
	dev_reset(d);
	switch (s) {
	case 0:
		cc_write(d, CC_GFSELECT, 4, 1);
		cc_write(d, CC_GF, 4, 0);
		cc_write(d, CC_GFSELECT, 4, 0);
		cc_write(d, CC_GF, 4, 0);
		cc_write(d, CC_DFSELECT, 4, 0);
		break;
	case 1:
		cc_write(d, CC_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
			 VIRTIO_CONFIG_S_DRIVER);
		cc_write(d, CC_DFSELECT, 4, 1);
		cc_write(d, CC_GFSELECT, 4, 1);
		cc_write(d, CC_GF, 4, 0x44332211);
		cc_write(d, CC_MSIX, 2, 1);
		cc_write(d, CC_QSEL, 2, 0);
		cc_write(d, CC_QSIZE, 2, 0x80);
		cc_write(d, CC_QMSIX, 2, d->nvec > 2 ? 2 : 0);
		cc_write64(d, CC_QDESC, 0x1827364554637281ULL);
		cc_write64(d, CC_QAVAIL, 0x2938475665748392ULL);
		cc_write64(d, CC_QUSED, 0x3a495867768594a3ULL);
		break;
	case 2:
		cc_write(d, CC_DFSELECT, 4, 0);
		cc_write(d, CC_GFSELECT, 4, 0);
		cc_write(d, CC_GF, 4, 0x88776655);
		cc_write(d, CC_MSIX, 2, 0);
		/* The last queue: the control queue, its own size. */
		cc_write(d, CC_QSEL, 2, d->nq - 1);
		cc_write(d, CC_QSIZE, 2, 0x20);
		cc_write(d, CC_QMSIX, 2, 1);
		cc_write64(d, CC_QDESC, 0x0102030405060708ULL);
		break;
	case 3:
		/* A queue the device does not have. */
		cc_write(d, CC_QSEL, 2, d->nq);
		break;
	}
}

static void view_init(struct view *vw, const char *name,
		      const struct field *fields, unsigned int index, u64 base,
		      u32 len)
{
	snprintf(vw->name, sizeof(vw->name), "%s", name);
	vw->fields = fields;
	vw->index = index;
	vw->base = base;
	vw->len = len < MAX_VIEW ? len : MAX_VIEW;
}

static void vcap_view(struct view *vw, const char *name,
		      const struct field *fields, const struct vmm_vcap *vc,
		      u32 len)
{
	view_init(vw, name, fields, VFIO_PCI_BAR0_REGION_INDEX + vc->bar,
		  vc->offset, vc->length < len ? vc->length : len);
}

/* ---- configuration space views ---------------------------------------- */

static const char *vcap_name(u8 type)
{
	switch (type) {
	case VIRTIO_PCI_CAP_COMMON_CFG:
		return "common";
	case VIRTIO_PCI_CAP_NOTIFY_CFG:
		return "notify";
	case VIRTIO_PCI_CAP_ISR_CFG:
		return "isr";
	case VIRTIO_PCI_CAP_DEVICE_CFG:
		return "device";
	case VIRTIO_PCI_CAP_PCI_CFG:
		return "pci_cfg";
	default:
		return NULL;
	}
}

struct caps {
	unsigned int n;
	struct {
		u8 pos;
		u8 id;
		char name[32];
	} cap[48];
	bool claimed[256];
};

static void cap_cb(struct vmm *v, u8 pos, u8 id, void *arg)
{
	struct caps *c = arg;
	const char *vname;
	unsigned int i, dup = 0;
	char base[24];

	if (c->n >= ARRAY_SIZE(c->cap))
		return;
	if (id == PCI_CAP_ID_VNDR) {
		vname = vcap_name(vmm_cfg_read8(v, pos + VIRTIO_PCI_CAP_CFG_TYPE));
		if (vname)
			snprintf(base, sizeof(base), "cap.%s", vname);
		else
			snprintf(base, sizeof(base), "cap.vndr");
	} else if (id == PCI_CAP_ID_MSIX) {
		snprintf(base, sizeof(base), "cap.msix");
	} else {
		snprintf(base, sizeof(base), "cap.0x%02x", id);
	}
	/* A second capability of a kind gets "#2", as the chain orders them. */
	for (i = 0; i < c->n; i++)
		if (!strncmp(c->cap[i].name, base, strlen(base)))
			dup++;
	c->cap[c->n].pos = pos;
	c->cap[c->n].id = id;
	if (dup)
		snprintf(c->cap[c->n].name, sizeof(c->cap[c->n].name),
			 "%s#%u", base, dup + 1);
	else
		snprintf(c->cap[c->n].name, sizeof(c->cap[c->n].name), "%s",
			 base);
	c->n++;
}

static void cap_view(struct vmm *v, struct view *vw, const char *name, u8 pos,
		     u8 id)
{
	const struct field *fields = other_cap_fields;
	u32 len = 4;
	u8 type;

	if (id == PCI_CAP_ID_MSIX) {
		fields = msix_fields;
		len = PCI_CAP_MSIX_SIZEOF;
	} else if (id == PCI_CAP_ID_VNDR) {
		type = vmm_cfg_read8(v, pos + VIRTIO_PCI_CAP_CFG_TYPE);
		fields = type == VIRTIO_PCI_CAP_NOTIFY_CFG ? notify_cap_fields :
			 type == VIRTIO_PCI_CAP_PCI_CFG ? pcicfg_cap_fields :
			 vcap_fields;
		len = vmm_cfg_read8(v, pos + PCI_CAP_FLAGS);
	}
	len = (len + 3) & ~3U;
	if (pos + len > 256)
		len = 256 - pos;
	view_init(vw, name, fields, VMM_CFG, pos, len);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char * const *)a, *(const char * const *)b);
}

/* Header and capabilities: reads, then writes. */
static void sweep_config(struct dev *d)
{
	struct vmm *v = &d->vmm;
	static struct view vw;
	static struct caps c;
	const char *names[ARRAY_SIZE(c.cap)];
	char key[64], list[512];
	unsigned int i, nonzero = 0;
	size_t n = 0;

	view_init(&vw, "hdr", hdr_fields, VMM_CFG, 0, PCI_STD_HEADER_SIZEOF);
	sweep_reads(v, &vw, 0, vw.len);

	if (vmm_cap_walk(v, cap_cb, &c) < 0)
		out("cfg:caps", "ERR(chain)");
	for (i = 0; i < c.n; i++) {
		cap_view(v, &vw, c.cap[i].name, c.cap[i].pos, c.cap[i].id);
		memset(&c.claimed[vw.base], 1, vw.len);
		sweep_reads(v, &vw, 0, vw.len);
		names[i] = c.cap[i].name;
	}
	/* Which capabilities, not where: their order is layout. */
	qsort(names, c.n, sizeof(names[0]), cmp_str);
	list[0] = '\0';
	for (i = 0; i < c.n && n < sizeof(list); i++)
		n += snprintf(list + n, sizeof(list) - n, "%s%s", n ? "," : "",
			      names[i]);
	out("cfg:caps", "%s", list);
	memset(c.claimed, 1, PCI_STD_HEADER_SIZEOF);
	for (i = 0; i < 256; i++)
		if (!c.claimed[i] && vmm_cfg_read8(v, i))
			nonzero++;
	snprintf(key, sizeof(key), "cfg:unclaimed-nonzero-bytes");
	out(key, "%u", nonzero);

	view_init(&vw, "hdr", hdr_fields, VMM_CFG, 0, PCI_STD_HEADER_SIZEOF);
	sweep_cfg_writes(v, &vw);
	for (i = 0; i < c.n; i++) {
		cap_view(v, &vw, c.cap[i].name, c.cap[i].pos, c.cap[i].id);
		sweep_cfg_writes(v, &vw);
	}
}

/* The common configuration's fields a write can change, as KEY=VALUE. */
static const struct field *snap_fields[] = {
	&common_fields[0], &common_fields[2], &common_fields[3],
	&common_fields[4], &common_fields[5], &common_fields[6],
	&common_fields[7], &common_fields[8], &common_fields[9],
	&common_fields[10], &common_fields[11], &common_fields[12],
	&common_fields[13], &common_fields[14], &common_fields[15],
	&common_fields[16], &common_fields[17], &common_fields[18],
	&common_fields[19], &common_fields[20],
};

struct snap {
	u32 val[ARRAY_SIZE(snap_fields)];
	u32 df;
};

static void snap_take(struct dev *d, struct snap *s)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(snap_fields); i++)
		s->val[i] = cc_read(d, snap_fields[i]->off, snap_fields[i]->nat);
	s->df = cc_read(d, CC_DF, 4);
}

/* What changed from @a to @b; device_feature only as "changed". */
static void snap_diff(const struct snap *a, const struct snap *b, char *buf,
		      size_t size)
{
	unsigned int i;
	size_t n = 0;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(snap_fields) && n < size; i++)
		if (a->val[i] != b->val[i])
			n += snprintf(buf + n, size - n, "%s%s=0x%0*x",
				      n ? "," : "", snap_fields[i]->name,
				      2 * snap_fields[i]->nat, b->val[i]);
	if (a->df != b->df && n < size)
		n += snprintf(buf + n, size - n, "%sdevice_feature=changed",
			      n ? "," : "");
	if (!n)
		snprintf(buf, size, "unchanged");
}

/* The value each common config field is written with (little endian). */
static u32 pattern(unsigned int off)
{
	switch (off) {
	case CC_DFSELECT:
	case CC_GFSELECT:
		return 0x00000001;
	case CC_GF:
		return 0x44332211;
	case CC_MSIX:
	case CC_QMSIX:
	case CC_QSEL:
		return 0x0001;
	case CC_QSIZE:
		return 0x0020;
	case CC_QDESC:
		return 0x18273645;
	case CC_QDESC + 4:
		return 0x54637281;
	case CC_QAVAIL:
		return 0x29384756;
	case CC_QAVAIL + 4:
		return 0x65748392;
	case CC_QUSED:
		return 0x3a495867;
	case CC_QUSED + 4:
		return 0x768594a3;
	default:
		/* Read-only and reserved: must not change anything. */
		return 0xa5a5a5a5;
	}
}

/* The bytes of the patterns of the fields [off, off + w) covers. */
static u32 pattern_bytes(unsigned int off, unsigned int w)
{
	const struct field *f;
	unsigned int i;
	u32 val = 0, b;

	for (i = 0; i < w; i++) {
		f = field_at(common_fields, off + i);
		b = f ? pattern(f->off) >> (8 * (off + i - f->off)) & 0xff :
			0xa5;
		val |= b << (8 * i);
	}
	return val;
}

/* Writes that would start the device or a queue are not safe to repeat. */
static bool unsafe(unsigned int off, unsigned int w)
{
	return (off < CC_STATUS + 1 && off + w > CC_STATUS) ||
	       (off < CC_QENABLE + 2 && off + w > CC_QENABLE);
}

/* Every writable field at a known value, the device otherwise reset. */
static void write_baseline(struct dev *d)
{
	dev_reset(d);
	cc_write(d, CC_DFSELECT, 4, 0);
	cc_write(d, CC_GFSELECT, 4, 1);
	cc_write(d, CC_GF, 4, 0);
	cc_write(d, CC_GFSELECT, 4, 0);
	cc_write(d, CC_GF, 4, 0);
	cc_write(d, CC_MSIX, 2, 0);
	cc_write(d, CC_QSEL, 2, 0);
	cc_write(d, CC_QSIZE, 2, 0x40);
	cc_write(d, CC_QMSIX, 2, 0);
	cc_write64(d, CC_QDESC, 0);
	cc_write64(d, CC_QAVAIL, 0);
	cc_write64(d, CC_QUSED, 0);
}

/* A write of the pattern through the PCI_CFG window. */
static int window_write(struct dev *d, unsigned int off, unsigned int w,
			u32 val)
{
	struct vmm *v = &d->vmm;
	u8 pos = v->pci_cfg.pos;

	vmm_cfg_write8(v, pos + offsetof(struct virtio_pci_cap, bar),
		       v->common.bar);
	vmm_cfg_write32(v, pos + offsetof(struct virtio_pci_cap, offset),
			v->common.offset + off);
	vmm_cfg_write32(v, pos + offsetof(struct virtio_pci_cap, length), w);
	vmm_reg_set(v, VMM_CFG, pos + offsetof(struct virtio_pci_cfg_cap,
					       pci_cfg_data), w, val);
	/* Closed again, so no config space access reaches the BAR. */
	vmm_cfg_write32(v, pos + offsetof(struct virtio_pci_cap, length), 0);
	return v->err;
}

static void sweep_common_writes(struct dev *d, bool window)
{
	char key[256], what[512];
	struct snap before, after;
	unsigned int i, off, w, down;
	const char *view = window ? "window.common.w" : "common.w";
	int err;

	for (i = 0; i < ARRAY_SIZE(widths); i++) {
		w = widths[i];
		for (off = 0; off + w <= CC_END + 4; off++) {
			/* Unaligned only through the window: VFIO splits. */
			down = off & ~(w - 1);
			if (off != down && !window)
				continue;
			if (unsafe(off, w) || unsafe(down, w))
				continue;
			write_baseline(d);
			snap_take(d, &before);
			d->vmm.err = 0;
			if (window)
				err = window_write(d, off, w,
						   pattern_bytes(off, w));
			else
				err = vmm_reg_write(&d->vmm,
						    VFIO_PCI_BAR0_REGION_INDEX +
						    d->vmm.common.bar,
						    d->vmm.common.offset + off, w,
						    pattern_bytes(off, w));
			snap_take(d, &after);
			key_of(key, sizeof(key), view, 'w', w, off,
			       common_fields);
			if (err) {
				out(key, "ERR%d", -err);
				continue;
			}
			snap_diff(&before, &after, what, sizeof(what));
			out(key, "%s", what);
		}
	}
	/* The reserved rest of the structure drops writes. */
	if (window)
		return;
	for (i = 0; i < ARRAY_SIZE(widths); i++) {
		w = widths[i];
		for (off = CC_END + 4; off + w <= d->common.len; off += w) {
			u32 got;

			key_of(key, sizeof(key), view, 'w', w, off,
			       common_fields);
			err = vmm_reg_write(&d->vmm, d->common.index,
					    d->common.base + off, w, ~0U);
			if (!err)
				err = rd(&d->vmm, d->common.index,
					 d->common.base + off, w, &got);
			if (err)
				out(key, "ERR%d", -err);
			else
				out(key, "0x%0*x", 2 * w, got);
		}
	}
}

/* Reads through the PCI_CFG window: every width at every offset. */
static void sweep_window_reads(struct dev *d, struct view *vw,
			       const struct vmm_vcap *vc, const char *name,
			       unsigned int to)
{
	struct vmm *v = &d->vmm;
	u8 pos = v->pci_cfg.pos;
	char key[256];
	unsigned int i, off, w;
	u32 got;
	int err;

	view_snapshot(v, vw);
	for (i = 0; i < ARRAY_SIZE(widths); i++) {
		w = widths[i];
		for (off = 0; off + w <= to; off++) {
			v->err = 0;
			vmm_cfg_write8(v, pos + offsetof(struct virtio_pci_cap,
							 bar), vc->bar);
			vmm_cfg_write32(v, pos + offsetof(struct virtio_pci_cap,
							  offset),
					vc->offset + off);
			vmm_cfg_write32(v, pos + offsetof(struct virtio_pci_cap,
							  length), w);
			got = vmm_reg_get(v, VMM_CFG, pos +
					  offsetof(struct virtio_pci_cfg_cap,
						   pci_cfg_data), w);
			vmm_cfg_write32(v, pos + offsetof(struct virtio_pci_cap,
							  length), 0);
			err = v->err;
			key_of(key, sizeof(key), name, 'r', w, off, vw->fields);
			record_read(key, vw, off, w, err, got, true);
		}
	}
}

/*
 * Device configuration writes: a pattern at every width and aligned offset
 * of the net config, the bytes that changed, then the old bytes written
 * back.
 */
static void sweep_device_writes(struct dev *d)
{
	struct vmm *v = &d->vmm;
	struct view *vw = &d->device;
	char key[256], what[256];
	u8 before[NET_CFG_LEN], after[NET_CFG_LEN];
	unsigned int i, j, off, w;
	u32 old;
	size_t n;
	int err;

	for (i = 0; i < ARRAY_SIZE(widths); i++) {
		w = widths[i];
		for (off = 0; off + w <= NET_CFG_LEN; off += w) {
			v->err = 0;
			for (j = 0; j < NET_CFG_LEN; j++)
				before[j] = vmm_reg_get(v, vw->index,
							vw->base + j, 1);
			old = vmm_reg_get(v, vw->index, vw->base + off, w);
			vmm_reg_set(v, vw->index, vw->base + off, w,
				    0xa55aa55a);
			for (j = 0; j < NET_CFG_LEN; j++)
				after[j] = vmm_reg_get(v, vw->index,
						       vw->base + j, 1);
			vmm_reg_set(v, vw->index, vw->base + off, w, old);
			err = v->err;
			key_of(key, sizeof(key), "device.w", 'w', w, off,
			       net_fields);
			if (err) {
				out(key, "ERR%d", -err);
				continue;
			}
			n = 0;
			what[0] = '\0';
			for (j = 0; j < NET_CFG_LEN && n < sizeof(what); j++)
				if (before[j] != after[j])
					n += snprintf(what + n, sizeof(what) - n,
						      "%s0x%02x=0x%02x",
						      n ? "," : "", j, after[j]);
			out(key, "%s", n ? what : "unchanged");
		}
	}
}

static void sweep_isr_writes(struct dev *d)
{
	char key[256];
	unsigned int i, off, w;
	u32 got;
	int err;

	for (i = 0; i < ARRAY_SIZE(widths); i++) {
		w = widths[i];
		for (off = 0; off + w <= 8; off += w) {
			key_of(key, sizeof(key), "isr.w", 'w', w, off,
			       isr_fields);
			err = vmm_reg_write(&d->vmm, d->isr.index,
					    d->isr.base + off, w, ~0U);
			if (!err)
				err = rd(&d->vmm, d->isr.index, d->isr.base, 1,
					 &got);
			if (err)
				out(key, "ERR%d", -err);
			else
				out(key, "0x%02x", got);
		}
	}
}

static int sweep(const char *name)
{
	static struct dev dev;
	struct dev *d = &dev;
	struct vmm *v = &d->vmm;
	struct vfio_irq_info irq;
	char vname[32];
	int ret, s;
	u16 cmd;
	u8 line;

	ret = vmm_open(v, name);
	if (!ret)
		ret = vmm_virtio_locate(v);
	if (!ret && !v->pci_cfg.found)
		ret = -ENODEV;
	if (!ret)
		ret = vmm_irq_info(v, VFIO_PCI_MSIX_IRQ_INDEX, &irq);
	if (ret) {
		fprintf(stderr, "conformance: %s: %s\n", name, strerror(-ret));
		vmm_close(v);
		return 1;
	}
	d->nvec = irq.count;
	/*
	 * Start where a guest's firmware leaves a device: memory decoding
	 * on, nothing else, no interrupt line.  The function's own values
	 * are whatever its last user left.
	 */
	cmd = vmm_cfg_read16(v, PCI_COMMAND);
	line = vmm_cfg_read8(v, PCI_INTERRUPT_LINE);
	vmm_cfg_write16(v, PCI_COMMAND, PCI_COMMAND_MEMORY);
	vmm_cfg_write8(v, PCI_INTERRUPT_LINE, 0);
	d->nq = vmm_vio_num_queues(v);

	vcap_view(&d->common, "common", common_fields, &v->common, STRUCT_SWEEP);
	vcap_view(&d->isr, "isr", isr_fields, &v->isr, STRUCT_SWEEP);
	vcap_view(&d->device, "device", net_fields, &v->device_cfg,
		  STRUCT_SWEEP);
	vcap_view(&d->notify, "notify", notify_fields, &v->notify,
		  STRUCT_SWEEP);

	sweep_config(d);

	for (s = 0; s < 4; s++) {
		common_state(d, s);
		snprintf(d->common.name, sizeof(d->common.name), "common.s%d", s);
		/* The reserved rest once; the fields in every state. */
		sweep_reads(v, &d->common, 0, s ? CC_END + 4 : d->common.len);
		if (s == 1 || s == 2) {
			common_state(d, s);
			snprintf(vname, sizeof(vname), "window.common.s%d", s);
			sweep_window_reads(d, &d->common, &v->common, vname,
					   CC_END + 4);
		}
	}
	dev_reset(d);
	sweep_reads(v, &d->isr, 0, d->isr.len);
	sweep_window_reads(d, &d->isr, &v->isr, "window.isr", 8);
	sweep_reads(v, &d->device, 0, d->device.len);
	sweep_window_reads(d, &d->device, &v->device_cfg, "window.device",
			   NET_CFG_LEN);
	sweep_reads(v, &d->notify, 0, d->notify.len);

	sweep_common_writes(d, false);
	sweep_common_writes(d, true);
	dev_reset(d);
	sweep_device_writes(d);
	sweep_isr_writes(d);

	dev_reset(d);
	vmm_cfg_write8(v, PCI_INTERRUPT_LINE, line);
	vmm_cfg_write16(v, PCI_COMMAND, cmd);
	vmm_close(v);
	return 0;
}

/* ---- diff ---------------------------------------------------------------- */

struct line {
	char *key;
	char *val;
};

struct sweepfile {
	struct line *l;
	size_t n;
};

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->key,
		      ((const struct line *)b)->key);
}

static int load(const char *path, struct sweepfile *f)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL, *sp;
	size_t cap = 0, alloc = 0;
	ssize_t n;

	if (!fp)
		return -errno;
	f->l = NULL;
	f->n = 0;
	while ((n = getline(&buf, &cap, fp)) > 0) {
		if (buf[n - 1] == '\n')
			buf[n - 1] = '\0';
		sp = strchr(buf, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		if (f->n == alloc) {
			alloc = alloc ? 2 * alloc : 4096;
			f->l = realloc(f->l, alloc * sizeof(*f->l));
			if (!f->l)
				return -ENOMEM;
		}
		f->l[f->n].key = strdup(buf);
		f->l[f->n].val = strdup(sp + 1);
		f->n++;
	}
	free(buf);
	fclose(fp);
	qsort(f->l, f->n, sizeof(*f->l), cmp_line);
	return 0;
}

struct rule {
	char *glob;
	char *tag;
	unsigned int hits;
};

static int load_rules(const char *path, struct rule **rules, size_t *nr)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL, glob[256], tag[64];
	size_t cap = 0;

	if (!fp)
		return -errno;
	*rules = NULL;
	*nr = 0;
	while (getline(&buf, &cap, fp) > 0) {
		if (buf[0] == '#' || sscanf(buf, "%255s %63s", glob, tag) != 2)
			continue;
		*rules = realloc(*rules, (*nr + 1) * sizeof(**rules));
		if (!*rules)
			return -ENOMEM;
		(*rules)[*nr].glob = strdup(glob);
		(*rules)[*nr].tag = strdup(tag);
		(*rules)[*nr].hits = 0;
		(*nr)++;
	}
	free(buf);
	fclose(fp);
	return 0;
}

/* The views a result is given for, by key prefix. */
static const struct {
	const char *prefix;
	const char *what;
} groups[] = {
	{ "hdr:", "configuration header" },
	{ "cfg:", "capability list" },
	{ "cap.", "capabilities" },
	{ "common.", "common configuration" },
	{ "isr", "ISR" },
	{ "device", "device configuration" },
	{ "notify", "notify area (reads)" },
	{ "window.", "PCI_CFG window" },
};

#define MAX_SHOWN	25

static int group_of(const char *key)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(groups); i++)
		if (!strncmp(key, groups[i].prefix, strlen(groups[i].prefix)))
			return i;
	return -1;
}

static int diff(const char *fpath, const char *mpath, const char *rpath)
{
	struct sweepfile fn, md;
	struct rule *rules = NULL;
	size_t nr = 0, i = 0, j = 0, r;
	unsigned int expected[ARRAY_SIZE(groups)] = { 0 };
	unsigned int unexpected[ARRAY_SIZE(groups)] = { 0 };
	unsigned int seen[ARRAY_SIZE(groups)] = { 0 };
	unsigned int stale = 0, g;
	int ret;

	ksft_print_header();
	ret = load(fpath, &fn);
	if (!ret)
		ret = load(mpath, &md);
	if (!ret)
		ret = load_rules(rpath, &rules, &nr);
	if (ret)
		ksft_exit_fail_msg("cannot read the sweeps or the rules: %s\n",
				   strerror(-ret));
	if (!fn.n || !md.n)
		ksft_exit_fail_msg("an empty sweep\n");
	ksft_set_plan(ARRAY_SIZE(groups) + 1);

	while (i < fn.n || j < md.n) {
		const char *key, *a, *b;
		int c;

		if (i == fn.n)
			c = 1;
		else if (j == md.n)
			c = -1;
		else
			c = strcmp(fn.l[i].key, md.l[j].key);
		key = c <= 0 ? fn.l[i].key : md.l[j].key;
		a = c <= 0 ? fn.l[i].val : "(absent)";
		b = c >= 0 ? md.l[j].val : "(absent)";
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
		ret = group_of(key);
		g = ret < 0 ? 0 : ret;
		seen[g]++;
		if (!strcmp(a, b))
			continue;
		for (r = 0; r < nr; r++)
			if (!fnmatch(rules[r].glob, key, 0))
				break;
		if (r < nr) {
			rules[r].hits++;
			expected[g]++;
			continue;
		}
		if (unexpected[g]++ < MAX_SHOWN)
			ksft_print_msg("%s: function %s, mdev %s\n", key, a, b);
	}
	for (g = 0; g < ARRAY_SIZE(groups); g++) {
		if (unexpected[g] > MAX_SHOWN)
			ksft_print_msg("%s: %u more unexpected differences\n",
				       groups[g].what, unexpected[g] - MAX_SHOWN);
		ksft_test_result(seen[g] && !unexpected[g],
				 "%s: %u accesses, %u unexpected differences, %u intentional\n",
				 groups[g].what, seen[g], unexpected[g],
				 expected[g]);
	}
	for (r = 0; r < nr; r++) {
		ksft_print_msg("rule %s (%s): %u differences\n", rules[r].glob,
			       rules[r].tag, rules[r].hits);
		if (!rules[r].hits)
			stale++;
	}
	ksft_test_result(!stale,
			 "every intentional difference listed is still observed (%u stale rules)\n",
			 stale);
	if (ksft_get_fail_cnt())
		ksft_exit_fail();
	return ksft_exit_pass();
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "sweep"))
		return sweep(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "diff"))
		return diff(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: %s sweep UUID|BDF\n"
		"       %s diff FUNCTION MDEV EXPECTED\n", argv[0], argv[0]);
	return 2;
}
