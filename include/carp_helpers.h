/* SPDX-License-Identifier: GPL-2.0 */
/* One-line wrappers of static inline kernel functions, for Rust. */
#ifndef CARP_HELPERS_H
#define CARP_HELPERS_H

#include <linux/netdevice.h>
#include <net/netlink.h>

void *carp_netdev_priv(const struct net_device *dev);
struct net *carp_dev_net(const struct net_device *dev);
void *carp_net_generic(const struct net *net, unsigned int id);
u32 carp_nla_get_u32(const struct nlattr *nla);
void carp_eth_hw_addr_set(struct net_device *dev, const u8 *addr);
void carp_eth_hw_addr_random(struct net_device *dev);
void *carp_rx_handler_data_rtnl(const struct net_device *dev);
void *carp_rx_handler_data_rcu(const struct net_device *dev);
bool carp_rx_handler_is(const struct net_device *dev, rx_handler_func_t *handler);
struct net_device *carp_notifier_info_to_dev(void *ptr);
void carp_rcu_read_lock(void);
void carp_rcu_read_unlock(void);
bool carp_netif_running(const struct net_device *dev);
bool carp_netif_carrier_ok(const struct net_device *dev);
void carp_init_list_head(struct list_head *list);
void carp_list_add_tail_rcu(struct list_head *new, struct list_head *head);
void carp_list_del_rcu(struct list_head *entry);
struct list_head *carp_list_next_rcu(struct list_head *pos);

#endif
