// SPDX-License-Identifier: GPL-2.0
/*
 * The "carp" generic netlink family: the generated policy and ops tables
 * plus the family struct, which ynl-gen-c renders for "genetlink" specs but
 * not for "genetlink-legacy" ones (carp's is legacy only to allow
 * uns-admin-perm). The handlers are in carp_netlink.rs.
 */
#include <linux/module.h>

#include "carp_nl_gen.c"

struct genl_family carp_nl_family __ro_after_init = {
	.name		= CARP_FAMILY_NAME,
	.version	= CARP_FAMILY_VERSION,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.split_ops	= carp_nl_ops,
	.n_split_ops	= ARRAY_SIZE(carp_nl_ops),
	.mcgrps		= carp_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(carp_nl_mcgrps),
};

/* `modprobe` on the family's first lookup (carpctl, `genl ctrl get name carp`). */
MODULE_ALIAS_GENL_FAMILY(CARP_FAMILY_NAME);
