"""Grafana dashboards (deploy/grafana/dashboards): valid JSON, every panel queries
Prometheus with PromQL that promtool parses, every metric name exists in the code that
registers it, and the run and shard variables exist and are used."""
import os
import re
import subprocess
import tempfile
import unittest

import yaml

import dashboard_queries as dq
import deploy_testlib as lib

SOURCE_ROOTS = ("services", "common")


def registered_metric_names():
    """Every "ivg_..." string literal in the service and common sources."""
    names = set()
    for root in SOURCE_ROOTS:
        for folder, _, files in os.walk(os.path.join(lib.SOURCE_DIR, root)):
            for name in files:
                if name.endswith((".cc", ".h")):
                    with open(os.path.join(folder, name), errors="replace") as f:
                        names.update(re.findall(r'"(ivg_[a-z0-9_]+)"', f.read()))
    return names


class Dashboards(unittest.TestCase):

    def test_dashboards_are_valid_json_with_unique_ids(self):
        uids = [d.get("uid") for _, d in dq.dashboards()]
        self.assertTrue(all(uids))
        self.assertEqual(len(set(uids)), len(uids))

    def test_every_panel_has_a_promql_expression(self):
        for name, dashboard in dq.dashboards():
            count = 0
            for panel in dq.panels(dashboard):
                if panel.get("type") == "row":
                    continue
                count += 1
                targets = panel.get("targets", [])
                self.assertTrue(targets, "%s: panel %r has no query" % (name, panel.get("title")))
                for target in targets:
                    self.assertTrue(target.get("expr", "").strip(),
                                    "%s: panel %r target %s has no expr"
                                    % (name, panel.get("title"), target.get("refId")))
                self.assertEqual(panel["datasource"]["uid"], "${datasource}", panel.get("title"))
            self.assertGreater(count, 0, name)

    def test_promtool_parses_every_expression(self):
        rules = {"groups": [{"name": "dashboards", "rules": [
            {"record": "dashboard:query_%d" % i, "expr": dq.substitute(expr)}
            for i, (_, _, _, expr) in enumerate(dq.queries())]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            yaml.safe_dump(rules, f)
            f.flush()
            lib.run([lib.require_tool("promtool"), "check", "rules", f.name])

    def test_every_metric_name_exists_in_the_code(self):
        registered = registered_metric_names()
        self.assertIn("ivg_actor_episodes_total", registered)  # the scan itself works
        for name, title, ref, expr in dq.queries():
            names = dq.metric_names(expr)
            self.assertTrue(names, "%s: %r %s reads no metric: %s" % (name, title, ref, expr))
            for metric in names:
                if metric in dq.PROMETHEUS_METRICS:
                    continue
                self.assertTrue(dq.base_metric(metric) in registered,
                                "%s: panel %r reads %s, which no code registers"
                                % (name, title, metric))

    def test_metric_name_extraction(self):
        self.assertEqual(
            dq.metric_names('histogram_quantile(0.99, sum by (le, shard) '
                            '(rate(ivg_replay_redis_latency_seconds_bucket{run=~"$run"}[5m])))'),
            {"ivg_replay_redis_latency_seconds_bucket"})
        self.assertEqual(dq.metric_names('sum by (job) (up{run=~"a"}) / 1e3 + ivg_x'),
                         {"up", "ivg_x"})

    def test_run_and_shard_variables_exist_and_are_used(self):
        for name, dashboard in dq.dashboards():
            variables = {v["name"]: v for v in dashboard["templating"]["list"]}
            for variable in ("datasource", "run", "shard"):
                self.assertIn(variable, variables, name)
            exprs = [expr for n, _, _, expr in dq.queries() if n == name]
            self.assertTrue(all("$run" in e for e in exprs if "ivg_" in e or "up" in e),
                            "%s: every query filters by $run" % name)
            self.assertTrue(all("$shard" in e for e in exprs if "ivg_replay_" in e),
                            "%s: every replay query filters by $shard" % name)

    def test_the_overview_covers_the_cluster(self):
        exprs = " ".join(expr for n, _, _, expr in dq.queries() if n == "ivg_cluster_overview.json")
        for metric in ("ivg_actor_episode_return_sum_total", "ivg_actor_successes_total",
                       "ivg_actor_env_steps_total", "ivg_replay_items",
                       "ivg_replay_inserted_items_total", "ivg_replay_sampled_items_total",
                       "ivg_replay_rate_limiter_blocked_seconds_total", "ivg_learner_loss",
                       "ivg_learner_steps_total", "ivg_learner_grad_norm",
                       "ivg_learner_allreduce_seconds_bucket", "ivg_actor_param_version_lag",
                       "ivg_policy_act_seconds_bucket", "ivg_eval_return",
                       "ivg_eval_success_rate", "ivg_eval_normalized_score"):
            self.assertTrue(metric in exprs, "no panel shows %s" % metric)


if __name__ == "__main__":
    lib.parse_args()
    unittest.main(verbosity=2)
