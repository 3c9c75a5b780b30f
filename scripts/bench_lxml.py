#!/usr/bin/env python3
"""Reference point for BENCHMARKS.md: libxml2 (through lxml) parsing and
XSD-validating the same document the codec bench uses, on one core."""
import os
import sys
import time

from lxml import etree

here = os.path.dirname(os.path.abspath(__file__))
doc = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "samples", "set-ok", "CEB621-inventory.xml")
xsd = os.path.join(here, "..", "..", "shared", "reference", "xsd", "ceb-import-2022.xsd")
schema = etree.XMLSchema(etree.parse(xsd))
data = open(doc, "rb").read()
parser = etree.XMLParser(resolve_entities=False, no_network=True)
n = 0
start = time.perf_counter()
while time.perf_counter() - start < 3.0:
    for _ in range(100):
        schema.assertValid(etree.fromstring(data, parser))
    n += 100
elapsed = time.perf_counter() - start
print(f"lxml parse+validate {os.path.basename(doc)} ({len(data)} bytes): {n / elapsed:,.0f} docs/s")
