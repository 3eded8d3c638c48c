/* SPDX-License-Identifier: GPL-2.0 */
/* One-line wrappers of static inline kernel functions, for Rust. */
#ifndef CARP_HELPERS_H
#define CARP_HELPERS_H

#include <linux/netdevice.h>
#include <linux/ratelimit.h>
#include <net/netlink.h>
#include <net/genetlink.h>

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
bool carp_netif_running(const struct net_device *dev);
bool carp_netif_carrier_ok(const struct net_device *dev);
void carp_init_list_head(struct list_head *list);
void carp_list_add_tail_rcu(struct list_head *new, struct list_head *head);
void carp_list_del_rcu(struct list_head *entry);
struct list_head *carp_list_next_rcu(struct list_head *pos);
struct net_device *carp_netdev_from_index(struct net *net, unsigned long *ifindex);
void carp_rcu_read_lock(void);
void carp_ratelimit_init(struct ratelimit_state *rs);
bool carp_ratelimit(struct ratelimit_state *rs);
bool carp_untrusted_ratelimit(void);
void carp_rcu_read_unlock(void);
void carp_kfree_skb_reason(struct sk_buff *skb, enum skb_drop_reason reason);
#ifdef CARP_TEST_HOOKS
void carp_test_walk_delay(void);
#endif

enum { CARP_LOCK_STATE = 0, CARP_LOCK_TX = 1 };
void carp_spin_lock_init(spinlock_t *lock, int role);
void carp_spin_lock_bh(spinlock_t *lock);
void carp_spin_unlock_bh(spinlock_t *lock);
struct sk_buff *carp_alloc_skb(unsigned int size, gfp_t gfp);
void carp_skb_reserve(struct sk_buff *skb, int len);
void carp_skb_set_tx(struct sk_buff *skb, struct net_device *dev, __be16 proto, int nhoff);
struct net_device *carp_skb_dev(const struct sk_buff *skb);
void carp_skb_set_dev(struct sk_buff *skb, struct net_device *dev);
unsigned char *carp_skb_data(const struct sk_buff *skb);
unsigned int carp_skb_len(const struct sk_buff *skb);
unsigned char *carp_skb_network(const struct sk_buff *skb);
unsigned char *carp_skb_mac(const struct sk_buff *skb);
bool carp_skb_may_pull(struct sk_buff *skb, unsigned int len);
__be16 carp_skb_protocol(const struct sk_buff *skb);
void carp_skb_set_pkt_type(struct sk_buff *skb, u8 type);
u8 carp_skb_pkt_type(const struct sk_buff *skb);
struct sk_buff *carp_skb_share_check(struct sk_buff *skb);
struct in_device *carp_in_dev_rtnl(const struct net_device *dev);
struct inet6_dev *carp_in6_dev(const struct net_device *dev);
void carp_in6_dev_read_lock(struct inet6_dev *idev);
void carp_in6_dev_read_unlock(struct inet6_dev *idev);
void carp_hrtimer_start(struct hrtimer *timer, u64 ns);
struct net *carp_genl_info_net(const struct genl_info *info);
void carp_init_work(struct work_struct *work, work_func_t fn);
struct workqueue_struct *carp_alloc_wq(void);
void carp_hrtimer_init(struct hrtimer *timer, enum hrtimer_restart (*fn)(struct hrtimer *));
bool carp_queue_work(struct workqueue_struct *wq, struct work_struct *work);
void carp_kfree_skb(struct sk_buff *skb);
void carp_consume_skb(struct sk_buff *skb);
void carp_netdev_hold(struct net_device *dev, netdevice_tracker *tracker, gfp_t gfp);
void carp_netdev_put(struct net_device *dev, netdevice_tracker *tracker);
void carp_netif_addr_lock_bh(struct net_device *dev);
void carp_netif_addr_unlock_bh(struct net_device *dev);
bool carp_list_empty(const struct list_head *head);
bool carp_dev_addr_equal(const struct net_device *dev, const u8 *mac);
void carp_dev_tx_dropped(struct net_device *dev);
void carp_dev_rx_add(struct net_device *dev, unsigned int len);
void carp_dev_tx_add(struct net_device *dev, unsigned int len);
void carp_dev_use_tstats(struct net_device *dev);
void carp_sync_lower(struct net_device *lower, struct net_device *dev);
bool carp_skb_set_eth_src(struct sk_buff *skb, const u8 *src);
u8 *carp_skb_arp_writable(struct sk_buff *skb, unsigned int len);

extern struct genl_family carp_nl_family;

struct sk_buff *carp_genlmsg_new(size_t payload, gfp_t flags);
void carp_genlmsg_end(struct sk_buff *skb, void *hdr);
void carp_genlmsg_cancel(struct sk_buff *skb, void *hdr);
int carp_genlmsg_reply(struct sk_buff *skb, struct genl_info *info);
int carp_genlmsg_multicast_netns(const struct genl_family *family, struct net *net,
				 struct sk_buff *skb, unsigned int group, gfp_t flags);
bool carp_genl_has_listeners(const struct genl_family *family, struct net *net,
			     unsigned int group);
void carp_genl_set_err_nobufs(const struct genl_family *family, struct net *net,
			      unsigned int group);
struct net *carp_sock_net_of_skb(const struct sk_buff *skb);
const struct genl_info *carp_genl_info_dump(struct netlink_callback *cb);
struct nlattr *carp_nla_nest_start(struct sk_buff *skb, int type);
void carp_nla_nest_end(struct sk_buff *skb, struct nlattr *start);
u64 __percpu *carp_pcpu_alloc(unsigned int n);
void carp_pcpu_free(u64 __percpu *p);
void carp_pcpu_inc(u64 __percpu *p, unsigned int i);
u64 carp_pcpu_sum(u64 __percpu *p, unsigned int i);
const u8 *carp_skb_net_bytes(const struct sk_buff *skb, u8 *buf, unsigned int *len);
bool carp_skb_is_host(const struct sk_buff *skb);
u8 *carp_skb_writable_head(struct sk_buff *skb, unsigned int *len);
void carp_icmp6_csum(u8 *ip6, unsigned int len);
int carp_validate_addr(struct net_device *dev);
/* Sending to a unicast peer (carp_tx.rs). */
struct in6_addr;
struct dst_entry;
void carp_skb_set_next(struct sk_buff *skb, struct sk_buff *next);
struct sk_buff *carp_skb_next(const struct sk_buff *skb);
bool carp_skb_routed(const struct sk_buff *skb);
struct net *carp_skb_dst_net(const struct sk_buff *skb);
unsigned int carp_dst_headroom(const struct dst_entry *dst);
void carp_skb_set_route(struct sk_buff *skb, struct dst_entry *dst, __be16 proto);
struct dst_entry *carp_route4(struct net_device *dev, __be32 saddr, __be32 daddr);
int carp_dev_lladdr6(struct net_device *dev, u8 *out);
int carp_lower_saddr6(struct net_device *dev, const struct in6_addr *daddr,
		      struct in6_addr *saddr);
struct dst_entry *carp_route6(struct net_device *dev, const struct in6_addr *saddr,
			      const struct in6_addr *daddr);

#endif
