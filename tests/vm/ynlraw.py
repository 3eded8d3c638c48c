#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test helper: raw generic netlink requests through the kernel tree's YNL
library, bypassing carpctl's own validation, so the kernel's policy and
checks answer.

    ynlraw.py KSRC SPEC JSON...

Each JSON argument is one dev-set request; prints "ok" or "error: MSG" for
each, one per line, in one process (python's start-up is slow under KASAN).
"""
import json
import os
import sys

ksrc, spec = sys.argv[1], sys.argv[2]
sys.path.insert(0, ksrc + "/tools/net/ynl")
from lib import YnlFamily, NlError  # noqa: E402

ynl = YnlFamily(spec, schema="")
for req in sys.argv[3:]:
    try:
        ynl.do("dev-set", json.loads(req))
        print("ok")
    except NlError as e:
        ext = getattr(e.nl_msg, "extack", None) or {}
        print(f"error: {ext.get('msg', '')} ({os.strerror(e.error)}) {ext}")
