#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# carpctl metrics and the alert rules: the exposition text, read by a real
# node_exporter (textfile collector) and scraped over HTTP, says what
# carpctl -j says (states, advskew, advbase, every counter of carpctl
# stats, the demotion and its parts, each entry's transitions by reason and
# load-balancing counters); the kernel counts transitions by reason (a
# failover is one master-down on the new MASTER); a wrong pass shows as
# badauth; and the shipped alert rules, run by promtool on what both hosts'
# metrics say, fire for a provoked split brain (the LAN drops multicast)
# and not for the healthy pair before it.

tap_plan 18
carp_load
lan_setup a b
carp_setup a carp0 1 0
carp_setup b carp0 1 100
check "a is MASTER" wait_for 20 state_is a carp0 master
check "b is BACKUP" wait_for 10 state_is b carp0 backup

W=$(mktemp -d)
MC="python3 -I -S $(dirname "${BASH_SOURCE[0]}")/metricscheck.py"
# (promtest reads the rules with python3-yaml: site packages.)
MCY="python3 -I $(dirname "${BASH_SOURCE[0]}")/metricscheck.py"
RULES=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tools/prometheus" && pwd)/carp.rules.yml

# snapshot HOST: the metrics first, then carpctl's JSON (counters only rise
# in between).
snapshot() {
	cctl "$1" metrics -o "$W/$1.prom" &&
	cctl "$1" -j >"$W/$1.show" &&
	cctl "$1" -j stats >"$W/$1.stats" &&
	cctl "$1" -j stats carp0 >"$W/$1.carp0" &&
	cctl "$1" -j demote >"$W/$1.demote"
}
compare() {
	$MC compare "$W/$1.prom" "$W/$1.show" "$W/$1.stats" "$W/$1.demote" "carp0=$W/$1.carp0"
}
snap_compare() { snapshot "$1" && compare "$1"; }

# node_exporter in a's namespace reads the file a's carpctl writes.
ip netns exec a prometheus-node-exporter --collector.disable-defaults --collector.textfile \
	--collector.textfile.directory="$W/textfile" --web.listen-address=127.0.0.1:9100 \
	>"$W/node_exporter.log" 2>&1 &
ne=$!
mkdir "$W/textfile"
check "carpctl metrics writes node_exporter's file" cctl a metrics -o "$W/textfile/carp.prom"
check "node_exporter is up" wait_for 30 bash -c "ip netns exec a $MC scrape http://127.0.0.1:9100/metrics >'$W/scraped'"
check_ok_output "node_exporter parsed the file without error (the control: it read it)" \
	'^node_textfile_scrape_error 0$' cat "$W/scraped"
check_ok_output "... and serves a's MASTER state" \
	'^carp_entry_state\{carpdev="eth0",ifname="carp0",state="master",vhid="1"\} 1$' cat "$W/scraped"
kill "$ne"; wait "$ne" 2>/dev/null

check "a's metrics say what carpctl -j says" snap_compare a
check "b's too" snap_compare b
check_ok_output "a counts its start and its takeover by reason" \
	'"transitions":\{"better-master":0,"bow-out":0,"master-demoted":0,"master-down":1,"master-too-slow":0,"preempt":0,"restart":0,"start":1,"stopped":0,"user":0\}' \
	cctl a -j stats carp0

# A failover: a set down bows out, b takes over (bow-out), a comes back as
# BACKUP (no preempt).
ip -n a link set carp0 down
check "b takes over" wait_for 15 state_is b carp0 master
ip -n a link set carp0 up
check "a is BACKUP again" wait_for 15 state_is a carp0 backup
check_ok_output "b's transitions: start, then the takeover when a bowed out" \
	'^carp_entry_transitions_total\{ifname="carp0",vhid="1",reason="bow-out"\} 1$' cctl b metrics
check_ok_output "a's: stopped once, started twice" \
	'"start":2,"stopped":1' cctl a -j stats carp0

# Userspace demotion, and the rules on the healthy pair: no split brain.
cctl a demote carp +50
check "a's metrics say what carpctl -j says, demoted" snap_compare a
check_ok_output "... 50 from userspace" '^carp_group_demotion_part\{group="carp",source="userspace"\} 50$' cat "$W/a.prom"
cctl a demote carp 0
snapshot b
check "promtool: no CarpSplitBrain for the healthy pair (the control)" bash -c \
	"$MCY promtest '$RULES' CarpSplitBrain none a='$W/a.prom' b='$W/b.prom' >'$W/healthy.yml' && promtool test rules '$W/healthy.yml'"

# Split brain: the LAN drops multicast; a (BACKUP) hears nothing and
# takes over too.
ip netns exec lan nft -f - <<-'EOF' || setup_fail "the bridge's multicast filter"
	table bridge nomcast {
		chain forward {
			type filter hook forward priority 0; policy accept;
			ip daddr 224.0.0.18 counter drop
		}
	}
EOF
check "both hosts become MASTER" wait_for 15 state_is a carp0 master
snapshot a && snapshot b
check "promtool: CarpSplitBrain fires for vhid 1 with 2 MASTERs" bash -c \
	"$MCY promtest '$RULES' CarpSplitBrain '{\"cluster\": \"lab\", \"ifname\": \"carp0\", \"vhid\": \"1\", \"value\": 2}' a='$W/a.prom' b='$W/b.prom' >'$W/split.yml' && promtool test rules '$W/split.yml'"
rm -rf "$W"
