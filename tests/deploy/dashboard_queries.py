"""PromQL of the Grafana dashboards (deploy/grafana/dashboards): every panel's expressions,
with the dashboard variables substituted the way Grafana would, and the metric names they
read. Shared by the static dashboard test and the live Prometheus integration test."""
import glob
import json
import os
import re

import deploy_testlib as lib

# Words of PromQL that are not metric names.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
            "or", "unless", "offset", "inf", "nan"}
# Metrics Prometheus itself adds to every target.
PROMETHEUS_METRICS = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def dashboards():
    paths = sorted(glob.glob(os.path.join(lib.DASHBOARD_DIR, "*.json")))
    if not paths:
        raise AssertionError("no dashboards in %s" % lib.DASHBOARD_DIR)
    result = []
    for path in paths:
        with open(path) as f:
            result.append((os.path.basename(path), json.load(f)))
    return result


def panels(dashboard):
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        for nested in panel.get("panels", []):
            yield nested


def queries():
    """(dashboard file, panel title, refId, expr) of every panel target."""
    for name, dashboard in dashboards():
        for panel in panels(dashboard):
            if panel.get("type") == "row":
                continue
            for target in panel.get("targets", []):
                yield name, panel.get("title"), target.get("refId"), target.get("expr", "")


def substitute(expr, run=".+", shard=".+", rate_interval="1m"):
    """The query Grafana sends: multi-value variables become regexes."""
    return (expr.replace("$__rate_interval", rate_interval).replace("${run}", run)
            .replace("$run", run).replace("${shard}", shard).replace("$shard", shard))


def metric_names(expr):
    """Metric names an expression reads (identifiers that are not functions, keywords,
    label names in by/without/on lists or inside selectors)."""
    text = re.sub(r'"(\\.|[^"\\])*"', '""', expr)                 # string literals
    text = re.sub(r"\{[^}]*\}", "", text)                          # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)                         # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        following = text[match.end():].lstrip()
        if following.startswith("(") or word.lower() in KEYWORDS:
            continue
        if re.fullmatch(r"\d*e\d*", word):  # exponent of a number literal like 1e3
            continue
        names.add(word)
    return names


def base_metric(name):
    """ivg_x_seconds_bucket -> ivg_x_seconds (histogram series of a registered family)."""
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
