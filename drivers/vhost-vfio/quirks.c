// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost-vfio: feature quirks.
 *
 * A quirk is data: it matches VFs by PCI IDs and clears or sets offered
 * feature bits, with a reason the operator can read back from the mdev's
 * "quirks" attribute.  Entries come from the built-in table (for VFs known
 * to misreport) and from the "quirks" module parameter, so a site can work
 * around a VF without rebuilding.
 */
#include <linux/moduleparam.h>
#include <linux/pci_ids.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vhost_vfio_priv.h"

/*
 * Built-in entries.  Add one only with evidence of the VF misbehaving and a
 * reason that says what breaks without it.
 */
static const struct vhost_vfio_quirk vhost_vfio_builtin_quirks[] = {
	{ }	/* sentinel: reason == NULL */
};

#define VV_MAX_PARAM_QUIRKS	16

static char *quirks[VV_MAX_PARAM_QUIRKS];
static int nr_quirks_param;
module_param_array_named(quirks, quirks, charp, &nr_quirks_param, 0444);
MODULE_PARM_DESC(quirks,
		 "Extra feature quirks, comma separated VVVV:DDDD:SSSS:ssss:CLEAR:SET (hex; '*' for any subsystem ID), e.g. 1af4:1041:*:*:0x400000000:0x0");

static struct vhost_vfio_quirk *vv_param_quirks;
static unsigned int vv_nr_param_quirks;

static int vv_parse_id(const char *s, bool wildcard_ok, u32 *id)
{
	u16 v;

	if (wildcard_ok && !strcmp(s, "*")) {
		*id = PCI_ANY_ID;
		return 0;
	}
	if (kstrtou16(s, 16, &v))
		return -EINVAL;
	*id = v;
	return 0;
}

static int vv_parse_quirk(const char *param, struct vhost_vfio_quirk *q)
{
	char *copy, *cur, *field[6];
	unsigned int i;
	int ret = -EINVAL;

	copy = kstrdup(param, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	cur = copy;
	for (i = 0; i < ARRAY_SIZE(field); i++) {
		field[i] = strsep(&cur, ":");
		if (!field[i])
			goto out;
	}
	if (cur)	/* more than six fields */
		goto out;

	if (vv_parse_id(field[0], false, &q->vendor) ||
	    vv_parse_id(field[1], false, &q->device) ||
	    vv_parse_id(field[2], true, &q->subvendor) ||
	    vv_parse_id(field[3], true, &q->subdevice) ||
	    kstrtou64(field[4], 16, &q->clear) ||
	    kstrtou64(field[5], 16, &q->set))
		goto out;
	q->reason = "module parameter";
	ret = 0;
out:
	kfree(copy);
	return ret;
}

/**
 * vhost_vfio_quirks_init - parse the quirks module parameter
 *
 * Return: 0, or -EINVAL (with a log line naming the bad entry) so that a
 * typo fails the module load instead of silently changing nothing.
 */
int vhost_vfio_quirks_init(void)
{
	unsigned int i;
	int ret;

	if (!nr_quirks_param)
		return 0;
	vv_param_quirks = kcalloc(nr_quirks_param, sizeof(*vv_param_quirks),
				  GFP_KERNEL);
	if (!vv_param_quirks)
		return -ENOMEM;

	for (i = 0; i < nr_quirks_param; i++) {
		ret = vv_parse_quirk(quirks[i], &vv_param_quirks[i]);
		if (ret) {
			pr_err("vhost_vfio: quirks entry %u \"%s\" is not VVVV:DDDD:SSSS:ssss:CLEAR:SET (hex, '*' allowed for subsystem IDs)\n",
			       i, quirks[i]);
			kfree(vv_param_quirks);
			vv_param_quirks = NULL;
			return ret;
		}
	}
	vv_nr_param_quirks = nr_quirks_param;
	return 0;
}

/**
 * vhost_vfio_quirks_exit - free the parsed module parameter quirks
 */
void vhost_vfio_quirks_exit(void)
{
	kfree(vv_param_quirks);
	vv_param_quirks = NULL;
	vv_nr_param_quirks = 0;
}

static bool vv_id_match(u32 want, u16 have)
{
	return want == PCI_ANY_ID || want == have;
}

static bool vv_quirk_match(const struct vhost_vfio_quirk *q,
			   const struct vhost_vfio_vf_ids *ids)
{
	return vv_id_match(q->vendor, ids->vendor) &&
	       vv_id_match(q->device, ids->device) &&
	       vv_id_match(q->subvendor, ids->subvendor) &&
	       vv_id_match(q->subdevice, ids->subdevice);
}

static void vv_apply(struct vhost_vfio_vf *vf, const struct vhost_vfio_quirk *q,
		     bool record)
{
	if (!vv_quirk_match(q, &vf->ids))
		return;
	if (record) {
		vf->quirks[vf->nr_quirks] = q;
		vf->quirk_clear |= q->clear;
		vf->quirk_set |= q->set;
		dev_info(vf->dev, "quirk: clear=0x%016llx set=0x%016llx (%s)\n",
			 q->clear, q->set, q->reason);
	}
	vf->nr_quirks++;
}

static void vv_walk(struct vhost_vfio_vf *vf, bool record)
{
	const struct vhost_vfio_quirk *q;
	unsigned int i;

	for (q = vhost_vfio_builtin_quirks; q->reason; q++)
		vv_apply(vf, q, record);
	for (i = 0; i < vv_nr_param_quirks; i++)
		vv_apply(vf, &vv_param_quirks[i], record);
}

/**
 * vhost_vfio_quirks_match - collect the quirks that apply to @vf
 * @vf: VF with its IDs filled in
 *
 * Return: 0 or -ENOMEM.
 */
int vhost_vfio_quirks_match(struct vhost_vfio_vf *vf)
{
	unsigned int n;

	vf->nr_quirks = 0;
	vv_walk(vf, false);
	n = vf->nr_quirks;
	vf->nr_quirks = 0;
	if (!n)
		return 0;
	vf->quirks = kcalloc(n, sizeof(*vf->quirks), GFP_KERNEL);
	if (!vf->quirks)
		return -ENOMEM;
	vv_walk(vf, true);
	return 0;
}
