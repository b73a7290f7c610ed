#!/usr/bin/env python3
"""Runs Prometheus's promtool on the chart's PrometheusRule as one `helm template` rendered it:
`promtool check rules` on its groups, then `promtool test rules` with rules-test.yaml (synthetic
series: each alert firing and not firing). Usage:
  check_rules.py RENDERED.yaml PROMTOOL
Exits 1 when the rendering has no PrometheusRule or promtool fails."""

import os
import shutil
import subprocess
import sys
import tempfile

import yaml


def main():
    rendered, promtool = sys.argv[1], sys.argv[2]
    with open(rendered) as stream:
        rules = [d for d in yaml.safe_load_all(stream) if d and d.get("kind") == "PrometheusRule"]
    if len(rules) != 1:
        print(f"check_rules: {rendered} has {len(rules)} PrometheusRule objects, not 1", file=sys.stderr)
        return 1
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as work:
        with open(os.path.join(work, "rules.yaml"), "w") as out:
            yaml.safe_dump(rules[0]["spec"], out, sort_keys=False)
        shutil.copy(os.path.join(here, "rules-test.yaml"), work)
        for args in (["check", "rules", "rules.yaml"], ["test", "rules", "rules-test.yaml"]):
            result = subprocess.run([promtool] + args, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
            if result.returncode != 0:
                print(f"check_rules: promtool {' '.join(args)} failed:\n{result.stdout}", file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
