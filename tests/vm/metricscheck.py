#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks `carpctl metrics` against carpctl's JSON, and turns scraped
metrics into a promtool rule test.

  metricscheck.py compare PROM SHOW_JSON STATS_JSON DEMOTE_JSON DEVSTATS_JSON...
      every value of PROM (the exposition text) that carpctl -j shows is
      equal to it: entry states (one-hot), advskew, advbase, every counter
      of `carpctl -j stats`, the demotion and its parts, each entry's
      transitions by reason and load-balancing counters. Prints how many
      values it compared; exits 1 on the first difference.
  metricscheck.py scrape URL
      prints the body of an HTTP GET (node_exporter's /metrics).
  metricscheck.py promtest RULES ALERT EXPECTED INSTANCE=PROM...
      prints a promtool test file: every sample of each PROM as a constant
      series of its INSTANCE (cluster "lab") for 5 minutes, and at 2
      minutes ALERT expected with EXPECTED's labels (a JSON object with
      "value"; "none": no alert), its annotations rendered from RULES.
"""
import json
import re
import sys
import urllib.request

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith('#'):
            continue
        m = SAMPLE.match(line)
        if not m:
            sys.exit(f'not an exposition line: {line!r}')
        labels = tuple(sorted(LABEL.findall(m.group(3) or '')))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def get(s, name, **labels):
    key = (name, tuple(sorted((k, str(v)) for k, v in labels.items())))
    if key not in s:
        sys.exit(f'missing {name}{labels}')
    return s[key]


def compare(prom, show, stats, demote, devstats):
    s = samples(open(prom).read())
    n = 0

    def eq(got, want, what):
        nonlocal n
        if got != want:
            sys.exit(f'{what}: metrics say {got}, carpctl says {want}')
        n += 1

    for d in json.load(open(show)):
        for e in d['carpnodes']:
            for st in ('init', 'backup', 'master'):
                eq(get(s, 'carp_entry_state', ifname=d['ifname'], vhid=e['vhid'],
                       carpdev=d['carpdev'] or '', state=st),
                   1.0 if e['state'].lower() == st else 0.0,
                   f"{d['ifname']} vhid {e['vhid']} {st}")
            eq(get(s, 'carp_entry_advskew', ifname=d['ifname'], vhid=e['vhid']),
               float(e['advskew']), f"{d['ifname']} advskew")
        eq(get(s, 'carp_device_advbase_seconds', ifname=d['ifname']), float(d['advbase']),
           f"{d['ifname']} advbase")
    st = json.load(open(stats))
    names = {
        'ipackets': ('carp_advertisements_received_total', {'family': 'ipv4'}),
        'ipackets6': ('carp_advertisements_received_total', {'family': 'ipv6'}),
        'opackets': ('carp_advertisements_sent_total', {'family': 'ipv4'}),
        'opackets6': ('carp_advertisements_sent_total', {'family': 'ipv6'}),
        'onomem': ('carp_send_nomem_total', {}),
        'preempt': ('carp_preemptions_total', {}),
        'accepted': ('carp_advertisements_accepted_total', {}),
    }
    for k, v in st.items():
        name, labels = names.get(k, ('carp_advertisements_dropped_total', {'reason': k}))
        # The counters move while both are read: the metrics were read
        # first, so they are at most carpctl's value.
        got = get(s, name, **labels)
        if not v - 5 <= got <= v:
            sys.exit(f'{k}: metrics say {got}, carpctl says {v}')
        n += 1
    dm = json.load(open(demote))
    eq(get(s, 'carp_group_demotion', group='carp'), float(dm['demote']), 'demote')
    for part, src in (('demote_user', 'userspace'), ('demote_down', 'carpdev_down'),
                      ('demote_senderr', 'send_errors')):
        eq(get(s, 'carp_group_demotion_part', group='carp', source=src), float(dm[part]), part)
    for f in devstats:
        ifname, path = f.split('=', 1)
        for e in json.load(open(path))['nodes']:
            for r, c in e['transitions'].items():
                eq(get(s, 'carp_entry_transitions_total', ifname=ifname, vhid=e['vhid'], reason=r),
                   float(c), f'{ifname} vhid {e["vhid"]} transitions {r}')
            # Packets and ARP/NDP requests keep arriving between the two
            # reads (the metrics first): at most carpctl's, a few below.
            for name, verdicts in (('carp_entry_balancing_packets_total', ('accepted', 'dropped')),
                                   ('carp_entry_neighbour_requests_total', ('answered', 'ignored'))):
                for v in verdicts:
                    got = get(s, name, ifname=ifname, vhid=e['vhid'], verdict=v)
                    if not e[v] - 5 <= got <= e[v]:
                        sys.exit(f'{ifname} {v}: metrics say {got}, carpctl says {e[v]}')
                    n += 1
    print(f'{n} values compared')


def promtest(rules, alert, expected, proms):
    import yaml
    rule = next(r for g in yaml.safe_load(open(rules))['groups'] for r in g['rules']
                if r.get('alert') == alert)
    series = []
    for p in proms:
        inst, path = p.split('=', 1)
        for (name, labels), v in samples(open(path).read()).items():
            ls = ','.join(f'{k}="{val}"' for k, val in
                          (('cluster', 'lab'), ('instance', inst), ('job', 'node')) + labels)
            series.append({'series': f'{name}{{{ls}}}', 'values': f'{v:g}x20'})
    exp = []
    if expected != 'none':
        want = json.loads(expected)
        value = str(want.pop('value'))
        labels = dict(want, **rule.get('labels', {}))
        ann = {}
        for k, text in rule.get('annotations', {}).items():
            text = re.sub(r'\{\{ \$labels\.(\w+) \}\}', lambda m: want.get(m.group(1), ''), text)
            ann[k] = text.replace('{{ $value }}', value)
        exp.append({'exp_labels': labels, 'exp_annotations': ann})
    doc = {'rule_files': [rules], 'evaluation_interval': '15s',
           'tests': [{'interval': '15s', 'input_series': series,
                      'alert_rule_test': [{'eval_time': '2m', 'alertname': alert,
                                           'exp_alerts': exp}]}]}
    print(yaml.safe_dump(doc, sort_keys=False))


def main():
    if len(sys.argv) >= 6 and sys.argv[1] == 'compare':
        compare(*sys.argv[2:6], sys.argv[6:])
    elif len(sys.argv) == 3 and sys.argv[1] == 'scrape':
        print(urllib.request.urlopen(sys.argv[2], timeout=20).read().decode())
    elif len(sys.argv) >= 5 and sys.argv[1] == 'promtest':
        promtest(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        sys.exit(__doc__)


main()
