// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers of static inline kernel functions and macros, so that
 * the Rust code can call them. No logic lives here.
 */
#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/rculist.h>
#include <linux/rcupdate.h>
#include <linux/rtnetlink.h>
#include <net/netns/generic.h>

#include "include/carp_helpers.h"

void *carp_netdev_priv(const struct net_device *dev) { return netdev_priv(dev); }
struct net *carp_dev_net(const struct net_device *dev) { return dev_net(dev); }
void *carp_net_generic(const struct net *net, unsigned int id) { return net_generic(net, id); }
u32 carp_nla_get_u32(const struct nlattr *nla) { return nla_get_u32(nla); }
void carp_eth_hw_addr_set(struct net_device *dev, const u8 *addr) { eth_hw_addr_set(dev, addr); }
void carp_eth_hw_addr_random(struct net_device *dev) { eth_hw_addr_random(dev); }
void *carp_rx_handler_data_rtnl(const struct net_device *dev) { return rtnl_dereference(dev->rx_handler_data); }
void *carp_rx_handler_data_rcu(const struct net_device *dev) { return rcu_dereference(dev->rx_handler_data); }
bool carp_rx_handler_is(const struct net_device *dev, rx_handler_func_t *handler) { return rcu_access_pointer(dev->rx_handler) == handler; }
struct net_device *carp_notifier_info_to_dev(void *ptr) { return netdev_notifier_info_to_dev(ptr); }
void carp_rcu_read_lock(void) { rcu_read_lock(); }
void carp_rcu_read_unlock(void) { rcu_read_unlock(); }
bool carp_netif_running(const struct net_device *dev) { return netif_running(dev); }
bool carp_netif_carrier_ok(const struct net_device *dev) { return netif_carrier_ok(dev); }
void carp_init_list_head(struct list_head *list) { INIT_LIST_HEAD(list); }
void carp_list_add_tail_rcu(struct list_head *new, struct list_head *head) { list_add_tail_rcu(new, head); }
void carp_list_del_rcu(struct list_head *entry) { list_del_rcu(entry); }
struct list_head *carp_list_next_rcu(struct list_head *pos) { return rcu_dereference_raw(list_next_rcu(pos)); }
