/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	Documentation/netlink/specs/carp.yaml */
/* YNL-GEN kernel header */

#ifndef _LINUX_CARP_GEN_H
#define _LINUX_CARP_GEN_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include <uapi/linux/carp_genl.h>
#include <linux/carp.h>
#include <linux/carp.h>

/* Common nested types */
extern const struct nla_policy carp_node_nl_policy[CARP_A_NODE_TRANSITIONS + 1];
extern const struct nla_policy carp_transitions_nl_policy[CARP_A_TRANSITIONS_BOW_OUT + 1];

/* Ops table for carp */
extern const struct genl_split_ops carp_nl_ops[6];

int carp_nl_dev_get_doit(struct sk_buff *skb, struct genl_info *info);
int carp_nl_dev_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int carp_nl_dev_set_doit(struct sk_buff *skb, struct genl_info *info);
int carp_nl_stats_get_doit(struct sk_buff *skb, struct genl_info *info);
int carp_nl_group_get_doit(struct sk_buff *skb, struct genl_info *info);
int carp_nl_group_set_doit(struct sk_buff *skb, struct genl_info *info);

enum {
	CARP_NLGRP_EVENTS,
};

#endif /* _LINUX_CARP_GEN_H */
