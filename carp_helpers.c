// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers of static inline kernel functions and macros, so that
 * the Rust code can call them. No logic lives here.
 */
#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/percpu.h>
#include <linux/delay.h>
#include <linux/moduleparam.h>
#include <linux/ratelimit.h>
#include <linux/rculist.h>
#include <linux/rcupdate.h>
#include <linux/rtnetlink.h>
#include <linux/hrtimer.h>
#include <linux/inetdevice.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>
#include <net/addrconf.h>
#include <net/ip6_route.h>
#include <net/route.h>
#include <net/ip6_checksum.h>
#include <linux/icmpv6.h>
#include <linux/ipv6.h>
#include <net/genetlink.h>
#include <net/if_inet6.h>
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
bool carp_netif_running(const struct net_device *dev) { return netif_running(dev); }
bool carp_netif_carrier_ok(const struct net_device *dev) { return netif_carrier_ok(dev); }
void carp_init_list_head(struct list_head *list) { INIT_LIST_HEAD(list); }
void carp_list_add_tail_rcu(struct list_head *new, struct list_head *head) { list_add_tail_rcu(new, head); }
void carp_list_del_rcu(struct list_head *entry) { list_del_rcu(entry); }
struct list_head *carp_list_next_rcu(struct list_head *pos) { return rcu_dereference_raw(list_next_rcu(pos)); }
/* One lockdep class per lock role (spin_lock_init's key is per call
 * site): a device's tx lock is taken before its state lock. */
void carp_spin_lock_init(spinlock_t *lock, int role)
{
	if (role == CARP_LOCK_TX) {
		spinlock_t *carp_tx_lock = lock;

		spin_lock_init(carp_tx_lock);
	} else {
		spinlock_t *carp_state_lock = lock;

		spin_lock_init(carp_state_lock);
	}
}
void carp_spin_lock_bh(spinlock_t *lock) { spin_lock_bh(lock); }
void carp_spin_unlock_bh(spinlock_t *lock) { spin_unlock_bh(lock); }
struct sk_buff *carp_alloc_skb(unsigned int size, gfp_t gfp) { return alloc_skb(size, gfp); }
void carp_skb_reserve(struct sk_buff *skb, int len) { skb_reserve(skb, len); }
void carp_skb_set_tx(struct sk_buff *skb, struct net_device *dev, __be16 proto, int nhoff) { skb->dev = dev; skb->protocol = proto; skb_reset_mac_header(skb); skb_set_network_header(skb, nhoff); }
struct net_device *carp_skb_dev(const struct sk_buff *skb) { return skb->dev; }
void carp_skb_set_dev(struct sk_buff *skb, struct net_device *dev) { skb->dev = dev; }
unsigned char *carp_skb_data(const struct sk_buff *skb) { return skb->data; }
unsigned int carp_skb_len(const struct sk_buff *skb) { return skb->len; }
unsigned char *carp_skb_network(const struct sk_buff *skb) { return skb_network_header(skb); }
unsigned char *carp_skb_mac(const struct sk_buff *skb) { return skb_mac_header(skb); }
bool carp_skb_may_pull(struct sk_buff *skb, unsigned int len) { return pskb_may_pull(skb, len); }
__be16 carp_skb_protocol(const struct sk_buff *skb) { return skb->protocol; }
void carp_skb_set_pkt_type(struct sk_buff *skb, u8 type) { skb->pkt_type = type; }
u8 carp_skb_pkt_type(const struct sk_buff *skb) { return skb->pkt_type; }
struct sk_buff *carp_skb_share_check(struct sk_buff *skb) { return skb_share_check(skb, GFP_ATOMIC); }
struct in_device *carp_in_dev_rtnl(const struct net_device *dev) { return __in_dev_get_rtnl(dev); }
struct inet6_dev *carp_in6_dev(const struct net_device *dev) { return __in6_dev_get(dev); }
void carp_in6_dev_read_lock(struct inet6_dev *idev) { read_lock_bh(&idev->lock); }
void carp_in6_dev_read_unlock(struct inet6_dev *idev) { read_unlock_bh(&idev->lock); }
void carp_hrtimer_start(struct hrtimer *timer, u64 ns) { hrtimer_start(timer, ns_to_ktime(ns), HRTIMER_MODE_ABS_SOFT); }
struct net *carp_genl_info_net(const struct genl_info *info) { return genl_info_net(info); }
void carp_init_work(struct work_struct *work, work_func_t fn) { INIT_WORK(work, fn); }
struct workqueue_struct *carp_alloc_wq(void) { return alloc_workqueue("carp", WQ_UNBOUND, 0); }
void carp_hrtimer_init(struct hrtimer *timer, enum hrtimer_restart (*fn)(struct hrtimer *)) { hrtimer_init(timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_SOFT); timer->function = fn; }
bool carp_queue_work(struct workqueue_struct *wq, struct work_struct *work) { return queue_work(wq, work); }
void carp_kfree_skb(struct sk_buff *skb) { kfree_skb(skb); }
void carp_consume_skb(struct sk_buff *skb) { consume_skb(skb); }
void carp_kfree_skb_reason(struct sk_buff *skb, enum skb_drop_reason reason) { kfree_skb_reason(skb, reason); }
/* The device of the namespace with the least ifindex >= *ifindex, which is
 * set to it (a dump resumes from an ifindex: for_each_netdev_dump). RTNL or
 * RCU held. */
struct net_device *carp_netdev_from_index(struct net *net, unsigned long *ifindex)
{ return xa_find(&net->dev_by_index, ifindex, ULONG_MAX, XA_PRESENT); }
void carp_rcu_read_lock(void) { rcu_read_lock(); }

/* Log budgets of namespaces owned by other user namespaces than the initial
 * one: each namespace's own, and one they all share. */
/* RATELIMIT_MSG_ON_RELEASE: no "callbacks suppressed" line per state and
 * interval (it would escape both budgets); the states are never released. */
void carp_ratelimit_init(struct ratelimit_state *rs)
{
	ratelimit_state_init(rs, DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST);
	ratelimit_set_flags(rs, RATELIMIT_MSG_ON_RELEASE);
}
bool carp_ratelimit(struct ratelimit_state *rs) { return __ratelimit(rs); }
static struct ratelimit_state carp_untrusted_rs =
	RATELIMIT_STATE_INIT_FLAGS(carp_untrusted_rs, DEFAULT_RATELIMIT_INTERVAL,
				   DEFAULT_RATELIMIT_BURST, RATELIMIT_MSG_ON_RELEASE);
bool carp_untrusted_ratelimit(void) { return __ratelimit(&carp_untrusted_rs); }
void carp_rcu_read_unlock(void) { rcu_read_unlock(); }

#ifdef CARP_TEST_HOOKS
/* Test kernels only (Kbuild defines CARP_TEST_HOOKS where lockdep's RCU
 * checking is on): the next receive-path walk of a port's device list
 * pauses this many milliseconds at its first entry, once. A test opens the
 * window in which a writer must not re-link that entry (tests/vm/rcu-move.sh). */
static unsigned int test_walk_delay_ms;
module_param(test_walk_delay_ms, uint, 0600);
MODULE_PARM_DESC(test_walk_delay_ms, "test kernels: pause the next receive-path device walk (ms, once)");

void carp_test_walk_delay(void)
{
	unsigned int ms;

	if (likely(!READ_ONCE(test_walk_delay_ms)))
		return;
	ms = xchg(&test_walk_delay_ms, 0);
	if (ms)
		mdelay(min(ms, 5000U));
}
#endif
void carp_netdev_hold(struct net_device *dev, netdevice_tracker *tracker, gfp_t gfp) { netdev_hold(dev, tracker, gfp); }
void carp_netdev_put(struct net_device *dev, netdevice_tracker *tracker) { netdev_put(dev, tracker); }
void carp_netif_addr_lock_bh(struct net_device *dev) { netif_addr_lock_bh(dev); }
void carp_netif_addr_unlock_bh(struct net_device *dev) { netif_addr_unlock_bh(dev); }
bool carp_list_empty(const struct list_head *head) { return list_empty(head); }
bool carp_dev_addr_equal(const struct net_device *dev, const u8 *mac) { return ether_addr_equal(dev->dev_addr, mac); }
void carp_dev_tx_dropped(struct net_device *dev) { dev_core_stats_tx_dropped_inc(dev); }
void carp_dev_rx_add(struct net_device *dev, unsigned int len) { dev_sw_netstats_rx_add(dev, len); }
void carp_dev_tx_add(struct net_device *dev, unsigned int len) { dev_sw_netstats_tx_add(dev, 1, len); }
void carp_dev_use_tstats(struct net_device *dev) { dev->pcpu_stat_type = NETDEV_PCPU_STAT_TSTATS; }

/* The address lists of a carp device go to its carpdev (as its
 * ndo_set_rx_mode does, which runs with the device's address lock held). */
void carp_sync_lower(struct net_device *lower, struct net_device *dev)
{
	netif_addr_lock_bh(dev);
	dev_mc_sync(lower, dev);
	dev_uc_sync(lower, dev);
	netif_addr_unlock_bh(dev);
}

/* The Ethernet source of a frame being sent; false if the header cannot be
 * made writable. */
bool carp_skb_set_eth_src(struct sk_buff *skb, const u8 *src)
{
	if (skb_ensure_writable(skb, ETH_HLEN))
		return false;
	ether_addr_copy(skb->data + ETH_ALEN, src);
	return true;
}

/* The first len bytes of the ARP header at the network header, linear and
 * writable, or NULL. */
u8 *carp_skb_arp_writable(struct sk_buff *skb, unsigned int len)
{
	if (skb_ensure_writable(skb, skb_network_offset(skb) + len))
		return NULL;
	return skb_network_header(skb);
}

struct sk_buff *carp_genlmsg_new(size_t payload, gfp_t flags) { return genlmsg_new(payload, flags); }
void carp_genlmsg_end(struct sk_buff *skb, void *hdr) { genlmsg_end(skb, hdr); }
void carp_genlmsg_cancel(struct sk_buff *skb, void *hdr) { genlmsg_cancel(skb, hdr); }
int carp_genlmsg_reply(struct sk_buff *skb, struct genl_info *info) { return genlmsg_reply(skb, info); }
int carp_genlmsg_multicast_netns(const struct genl_family *family, struct net *net,
				 struct sk_buff *skb, unsigned int group, gfp_t flags)
{ return genlmsg_multicast_netns(family, net, skb, 0, group, flags); }
bool carp_genl_has_listeners(const struct genl_family *family, struct net *net,
			     unsigned int group)
{ return genl_has_listeners(family, net, group); }
/* Every listener of the group lost a message: their next receive fails
 * with ENOBUFS (as ctnetlink does when an event cannot be built), so that
 * they read the state again instead of missing a change. */
void carp_genl_set_err_nobufs(const struct genl_family *family, struct net *net,
			      unsigned int group)
{ genl_set_err(family, net, 0, group, -ENOBUFS); }
struct net *carp_sock_net_of_skb(const struct sk_buff *skb) { return sock_net(skb->sk); }
const struct genl_info *carp_genl_info_dump(struct netlink_callback *cb) { return genl_info_dump(cb); }
struct nlattr *carp_nla_nest_start(struct sk_buff *skb, int type) { return nla_nest_start(skb, type); }
void carp_nla_nest_end(struct sk_buff *skb, struct nlattr *start) { nla_nest_end(skb, start); }

/* Per-CPU counters (u64 each). */
/* Charged to the creator's memory cgroup, like the net_device itself: an
 * unprivileged user namespace creating devices stays within its limit. */
u64 __percpu *carp_pcpu_alloc(unsigned int n)
{ return __alloc_percpu_gfp(n * sizeof(u64), sizeof(u64), GFP_KERNEL_ACCOUNT); }
void carp_pcpu_free(u64 __percpu *p) { free_percpu(p); }
void carp_pcpu_inc(u64 __percpu *p, unsigned int i) { this_cpu_inc(p[i]); }
u64 carp_pcpu_sum(u64 __percpu *p, unsigned int i)
{
	u64 s = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		s += READ_ONCE(*per_cpu_ptr(&p[i], cpu));
	return s;
}

/* Up to *len bytes from the network header: a pointer into the skb when
 * they are linear, else copied into buf; *len is set to how many. */
const u8 *carp_skb_net_bytes(const struct sk_buff *skb, u8 *buf, unsigned int *len)
{
	int off = skb_network_offset(skb);
	unsigned int have = skb->len > off ? skb->len - off : 0;

	if (*len > have)
		*len = have;
	return skb_header_pointer(skb, off, *len, buf);
}

bool carp_skb_is_host(const struct sk_buff *skb) { return skb->pkt_type == PACKET_HOST; }

/* The writable linear head of an skb being sent: its length in *len. */
u8 *carp_skb_writable_head(struct sk_buff *skb, unsigned int *len)
{
	if (skb_ensure_writable(skb, skb_headlen(skb)))
		return NULL;
	*len = skb_headlen(skb);
	return skb->data;
}

/* Recomputes the ICMPv6 checksum of the IPv6 packet at ip6 (its header
 * and payload in `len` bytes, linear). */
void carp_icmp6_csum(u8 *ip6, unsigned int len)
{
	struct ipv6hdr *h = (struct ipv6hdr *)ip6;
	unsigned int plen = ntohs(h->payload_len);
	struct icmp6hdr *icmp = (struct icmp6hdr *)(ip6 + sizeof(*h));

	if (len < sizeof(*h) + sizeof(*icmp) || plen > len - sizeof(*h))
		return;
	icmp->icmp6_cksum = 0;
	icmp->icmp6_cksum = csum_ipv6_magic(&h->saddr, &h->daddr, plen, IPPROTO_ICMPV6,
					    csum_partial(icmp, plen, 0));
}

/* ndo_validate_addr: a carp device's address may be the ip mode's
 * multicast MAC; only all-zero is invalid. */
int carp_validate_addr(struct net_device *dev)
{
	return is_zero_ether_addr(dev->dev_addr) ? -EADDRNOTAVAIL : 0;
}

void carp_skb_set_next(struct sk_buff *skb, struct sk_buff *next) { skb->next = next; }
struct sk_buff *carp_skb_next(const struct sk_buff *skb) { return skb->next; }
bool carp_skb_routed(const struct sk_buff *skb) { return skb_dst(skb) != NULL; }
struct net *carp_skb_dst_net(const struct sk_buff *skb) { return dev_net(skb_dst(skb)->dev); }
unsigned int carp_dst_headroom(const struct dst_entry *dst) { return LL_RESERVED_SPACE(dst->dev); }

/* An IP packet at skb->data, sent on the route dst (the skb takes the
 * reference). */
void carp_skb_set_route(struct sk_buff *skb, struct dst_entry *dst, __be16 proto)
{
	skb_reset_network_header(skb);
	skb->protocol = proto;
	skb_dst_set(skb, dst);
}

/* The route to daddr out of dev (so a connected route of the carp
 * device, which holds the virtual addresses of the same subnet, is never
 * taken), with a reference, or NULL. Advertisements keep TTL 255, so a
 * route through a gateway can never reach the peer: refused too. */
struct dst_entry *carp_route4(struct net_device *dev, __be32 saddr, __be32 daddr)
{
	struct flowi4 fl4 = {
		.flowi4_oif = dev->ifindex,
		.flowi4_proto = 112,
		.saddr = saddr,
		.daddr = daddr,
	};
	struct rtable *rt = ip_route_output_key(dev_net(dev), &fl4);

	if (IS_ERR(rt))
		return NULL;
	if (rt->rt_uses_gateway) {
		ip_rt_put(rt);
		return NULL;
	}
	return &rt->dst;
}

/* The carpdev's own IPv6 source for an advertisement to daddr: for a
 * multicast or link-local destination its link-local address, else one of
 * its global addresses (falling back to the link-local one). Never an
 * address of another device: the virtual addresses live on the carp
 * device, and a peer must see the sender's own address. */
int carp_lower_saddr6(struct net_device *dev, const struct in6_addr *daddr,
		      struct in6_addr *saddr)
{
	const u32 banned = IFA_F_TENTATIVE | IFA_F_DEPRECATED | IFA_F_DADFAILED;
	bool global = !(ipv6_addr_type(daddr) & (IPV6_ADDR_MULTICAST | IPV6_ADDR_LINKLOCAL));
	struct inet6_ifaddr *ifp;
	struct inet6_dev *idev;
	int found = -1;

	rcu_read_lock();
	idev = __in6_dev_get(dev);
	if (idev) {
		read_lock_bh(&idev->lock);
		list_for_each_entry(ifp, &idev->addr_list, if_list) {
			if (ifp->flags & banned)
				continue;
			if (global && ifp->scope == 0) {
				*saddr = ifp->addr;
				found = 0;
				break;
			}
			if (ifp->scope == IFA_LINK && found < 0) {
				*saddr = ifp->addr;
				found = 1;
				if (!global)
					break;
			}
		}
		read_unlock_bh(&idev->lock);
	}
	rcu_read_unlock();
	return found < 0 ? -EADDRNOTAVAIL : 0;
}

/* A carp device's link-local address usable as the source of a neighbour
 * solicitation with a source link-layer option (as ipv6_get_lladdr, which
 * is not exported: neither tentative nor optimistic, RFC 4429), into the
 * 16 bytes at out. */
int carp_dev_lladdr6(struct net_device *dev, u8 *out)
{
	const u32 banned = IFA_F_TENTATIVE | IFA_F_OPTIMISTIC | IFA_F_DADFAILED;
	struct inet6_ifaddr *ifp;
	struct inet6_dev *idev;
	int err = -EADDRNOTAVAIL;

	rcu_read_lock();
	idev = __in6_dev_get(dev);
	if (idev) {
		read_lock_bh(&idev->lock);
		list_for_each_entry(ifp, &idev->addr_list, if_list) {
			if (ifp->scope == IFA_LINK && !(ifp->flags & banned)) {
				memcpy(out, &ifp->addr, sizeof(ifp->addr));
				err = 0;
				break;
			}
		}
		read_unlock_bh(&idev->lock);
	}
	rcu_read_unlock();
	return err;
}

struct dst_entry *carp_route6(struct net_device *dev, const struct in6_addr *saddr,
			      const struct in6_addr *daddr)
{
	struct flowi6 fl6 = {
		.flowi6_oif = dev->ifindex,
		.flowi6_proto = 112,
		.saddr = *saddr,
		.daddr = *daddr,
	};
	struct dst_entry *dst = ip6_route_output(dev_net(dev), NULL, &fl6);

	if (dst->error || dst->dev != dev ||
	    (dst_rt6_info(dst)->rt6i_flags & RTF_GATEWAY)) {
		dst_release(dst);
		return NULL;
	}
	return dst;
}

/*
 * The package's version (make deb passes it: scripts/build-deb.sh), for
 * modinfo; a development build has none.
 */
#ifdef CARP_VERSION
MODULE_VERSION(CARP_VERSION);
#endif
