#!/usr/bin/env python3
"""Print the README's rule table from schemas/rules.toml (tests check they agree)."""
import os
import tomllib

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "..", "schemas", "rules.toml"), "rb") as f:
    rules = tomllib.load(f)["rule"]
print("| rule | category | severity | national code | meaning | 含义 |")
print("|---|---|---|---|---|---|")
for r in rules:
    national = r.get("national", "")
    national = f"`{national}`" if national else "–"
    print(f"| `{r['code']}` | {r['category']} | {r['severity']} | {national} | {r['en']} | {r['zh']} |")
