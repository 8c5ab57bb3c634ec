"""Live check of the dashboards: starts the local cluster (ivg_cluster with
configs/smoke.textproto) and a real Prometheus that discovers its processes through the
launcher's <run_dir>/prometheus_targets.json (file_sd), then evaluates every PromQL
expression of every dashboard panel through Prometheus' HTTP API and fails if any returns
an error or no data."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import yaml

import dashboard_queries as dq
import deploy_testlib as lib

SMOKE = os.path.join(lib.SOURCE_DIR, "configs", "smoke.textproto")
ACTORS = 2
SCRAPE_SECONDS = 1
# Grafana's $__rate_interval is at least four scrape intervals.
RATE_INTERVAL = "%ds" % (10 * SCRAPE_SECONDS)
START_TIMEOUT = 90   # until the launcher has written its target list
DATA_TIMEOUT = 120   # until every query has data, counted from Prometheus' start


def http_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode())


class LiveDashboards(unittest.TestCase):

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="ivg_live_dashboards_")
        self.run_dir = os.path.join(self.work, "run")
        self.cluster_log = os.path.join(self.work, "cluster.log")
        self.prometheus_log = os.path.join(self.work, "prometheus.log")
        self.cluster = None
        self.prometheus = None

    def tearDown(self):
        if self.prometheus is not None:
            self.prometheus.terminate()
            try:
                self.prometheus.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.prometheus.kill()
        if self.cluster is not None and self.cluster.poll() is None:
            # The launcher stops its processes on SIGINT (Ctrl-C); its session is ours to
            # clean up if it does not.
            self.cluster.send_signal(signal.SIGINT)
            try:
                self.cluster.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.cluster.pid, signal.SIGKILL)
                self.cluster.wait()
        # Failures carry the log tails in their message.
        shutil.rmtree(self.work, ignore_errors=True)

    def tail(self, path, lines=40):
        try:
            with open(path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no %s)" % path

    def start_cluster(self):
        with open(self.cluster_log, "w") as log:
            self.cluster = subprocess.Popen(
                [lib.LAUNCHER, "--config=%s" % SMOKE, "--run_dir=%s" % self.run_dir,
                 "--actors=%d" % ACTORS, "--minutes=5", "--progress_seconds=5"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        targets = os.path.join(self.run_dir, "prometheus_targets.json")
        deadline = time.time() + START_TIMEOUT
        while not os.path.exists(targets):
            if self.cluster.poll() is not None:
                self.fail("ivg_cluster exited %d before writing %s:\n%s"
                          % (self.cluster.returncode, targets, self.tail(self.cluster_log)))
            if time.time() > deadline:
                self.fail("no %s after %d s:\n%s" % (targets, START_TIMEOUT, self.tail(self.cluster_log)))
            time.sleep(0.5)
        return targets

    def start_prometheus(self, targets):
        port = lib.free_port()
        config = os.path.join(self.work, "prometheus.yml")
        with open(config, "w") as f:
            yaml.safe_dump({
                "global": {"scrape_interval": "%ds" % SCRAPE_SECONDS,
                           "evaluation_interval": "%ds" % SCRAPE_SECONDS},
                "scrape_configs": [{"job_name": "ivg", "file_sd_configs": [
                    {"files": [targets], "refresh_interval": "5s"}]}]}, f)
        with open(self.prometheus_log, "w") as log:
            self.prometheus = subprocess.Popen(
                [lib.require_tool("prometheus"), "--config.file=%s" % config,
                 "--storage.tsdb.path=%s" % os.path.join(self.work, "tsdb"),
                 "--web.listen-address=127.0.0.1:%d" % port],
                stdout=log, stderr=subprocess.STDOUT)
        url = "http://127.0.0.1:%d" % port
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/-/ready", timeout=2)
                return url
            except (urllib.error.URLError, ConnectionError):
                if self.prometheus.poll() is not None or time.time() > deadline:
                    self.fail("Prometheus did not start:\n%s" % self.tail(self.prometheus_log))
                time.sleep(0.5)

    def evaluate(self, url, expr):
        """None when the query returns data, else what was wrong."""
        try:
            answer = http_json(url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        except urllib.error.HTTPError as e:
            return "HTTP %d: %s" % (e.code, e.read().decode(errors="replace")[:300])
        except (urllib.error.URLError, ConnectionError) as e:
            return "cannot query Prometheus: %s" % e
        if answer.get("status") != "success":
            return "error: %s" % answer.get("error")
        if not answer["data"]["result"]:
            return "no data"
        return None

    def test_every_dashboard_query_returns_data_from_a_live_cluster(self):
        targets_file = self.start_cluster()
        with open(targets_file) as f:
            targets = json.load(f)
        run_names = {t["labels"]["run"] for t in targets}
        self.assertEqual(len(run_names), 1, targets)
        roles = {t["labels"]["job"] for t in targets}
        self.assertEqual(roles, set(lib.ROLES.values()))
        url = self.start_prometheus(targets_file)

        run_name = run_names.pop()
        queries = [(name, title, ref, dq.substitute(expr, run=run_name, shard=".+",
                                                    rate_interval=RATE_INTERVAL))
                   for name, title, ref, expr in dq.queries()]
        self.assertTrue(queries)
        deadline = time.time() + DATA_TIMEOUT
        while True:
            if self.cluster.poll() is not None:
                self.fail("ivg_cluster exited %d:\n%s" % (self.cluster.returncode,
                                                          self.tail(self.cluster_log)))
            failures = []
            for name, title, ref, expr in queries:
                problem = self.evaluate(url, expr)
                if problem:
                    failures.append("%s / %r %s: %s\n    %s" % (name, title, ref, problem, expr))
            if not failures or time.time() > deadline:
                break
            time.sleep(5)
        if failures:
            health = http_json(url + "/api/v1/targets")["data"]["activeTargets"]
            down = [t for t in health if t["health"] != "up"]
            logs = "".join(
                "\n--- %s.log:\n%s" % (t["labels"]["process"], self.tail(
                    os.path.join(self.run_dir, "logs", t["labels"]["process"] + ".log"), 15))
                for t in down)
            self.fail("%d of %d dashboard queries failed after %d s:\n%s\n\ntargets not up:\n%s"
                      "\n\ncluster output:\n%s\n\nlogs of the processes not up:%s"
                      % (len(failures), len(queries), DATA_TIMEOUT, "\n".join(failures),
                         "\n".join("%s %s: %s" % (t["labels"].get("process"), t["scrapeUrl"],
                                                   t["lastError"]) for t in down) or "(none)",
                         self.tail(self.cluster_log, 15), logs or " (none)"))


if __name__ == "__main__":
    lib.parse_args()
    unittest.main(verbosity=2)
