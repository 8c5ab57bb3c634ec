"""Kubernetes manifests (deploy/k8s): the kustomize base and every generated sweep point
render with `kubectl kustomize`, every rendered object passes a required-fields and
cross-reference check (no cluster or schema download is needed), and the workloads run the
launcher's command lines with the experiment config's endpoints and counts."""
import json
import os
import re
import shutil
import tempfile
import unittest

import deploy_testlib as lib

CONFIG = os.path.join(lib.K8S_BASE, "config.textproto")
SCRAPE_CONFIG = os.path.join(lib.DEPLOY, "k8s", "prometheus", "scrape-config.yaml")
ROLES = lib.ROLES
GENERATOR = os.path.join(lib.SWEEP_DIR, "generate_sweep.py")
GRIDS = os.path.join(lib.SWEEP_DIR, "grids")
WORKLOADS = ("Deployment", "StatefulSet", "Job")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Flags a Kubernetes workload may add to the launcher's: the parameter server binds all
# interfaces because its config address names a Service (deploy/k8s/base/param-server.yaml).
EXTRA_FLAGS = {"ivg_param_server": {"--address"}}


def render(directory, kubectl=None):
    result = lib.run([kubectl or lib.require_tool("kubectl"), "kustomize", directory])
    return lib.load_yaml_documents(result.stdout)


def comparable(objects):
    """Rendered objects in a fixed order, with the generated ConfigMap's content hash (each
    kustomize version hashes differently) replaced by a placeholder."""
    text = re.sub(r"ivg-config-[a-z0-9]{10}", "ivg-config-HASH", json.dumps(objects))
    return sorted(json.loads(text), key=lambda o: (o["kind"], o["metadata"]["name"]))


def pod_spec(obj):
    return obj["spec"]["template"]["spec"]


def containers(obj):
    return pod_spec(obj)["containers"]


class ObjectChecker:
    """Required fields and references between rendered objects; collects every problem."""

    def __init__(self, objects):
        self.objects = objects
        self.problems = []

    def problem(self, obj, text):
        self.problems.append("%s/%s: %s" % (obj.get("kind"), obj.get("metadata", {}).get("name"),
                                            text))

    def named(self, kind):
        return {o["metadata"]["name"]: o for o in self.objects if o.get("kind") == kind}

    def check(self):
        seen = set()
        for obj in self.objects:
            for field in ("apiVersion", "kind", "metadata"):
                if field not in obj:
                    self.problem(obj, "missing %s" % field)
            name = obj.get("metadata", {}).get("name", "")
            if not DNS_LABEL.match(name) or len(name) > 63:
                self.problem(obj, "name %r is not a DNS label" % name)
            key = (obj.get("kind"), name)
            if key in seen:
                self.problem(obj, "defined twice")
            seen.add(key)
            if obj.get("kind") in WORKLOADS:
                self.check_workload(obj)
            elif obj.get("kind") == "Service":
                self.check_service(obj)
            elif obj.get("kind") == "PersistentVolumeClaim":
                if "storage" not in obj["spec"].get("resources", {}).get("requests", {}):
                    self.problem(obj, "no storage request")
            elif obj.get("kind") == "ConfigMap":
                if not obj.get("data"):
                    self.problem(obj, "no data")
        return self.problems

    def check_workload(self, obj):
        spec = obj.get("spec", {})
        template = spec.get("template", {})
        labels = template.get("metadata", {}).get("labels", {})
        if obj["kind"] != "Job":
            selector = spec.get("selector", {}).get("matchLabels", {})
            if not selector or any(labels.get(k) != v for k, v in selector.items()):
                self.problem(obj, "selector %s does not match the pod labels %s" % (selector, labels))
        if obj["kind"] == "StatefulSet":
            service = self.named("Service").get(spec.get("serviceName"))
            if service is None or service["spec"].get("clusterIP") != "None":
                self.problem(obj, "serviceName %r is not a headless Service"
                             % spec.get("serviceName"))
        if obj["kind"] == "Job" and pod_spec(obj).get("restartPolicy") not in ("OnFailure", "Never"):
            self.problem(obj, "a Job's pods need restartPolicy OnFailure or Never")
        volumes = {v["name"]: v for v in pod_spec(obj).get("volumes", [])}
        claims = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
        config_maps = self.named("ConfigMap")
        claims_defined = self.named("PersistentVolumeClaim")
        for volume in volumes.values():
            if "configMap" in volume and volume["configMap"]["name"] not in config_maps:
                self.problem(obj, "volume %s: no ConfigMap %s" % (volume["name"],
                                                                  volume["configMap"]["name"]))
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            if claim and claim not in claims_defined and claim != "ivg-sweep-runs":
                self.problem(obj, "volume %s: no PersistentVolumeClaim %s" % (volume["name"], claim))
        annotations = template.get("metadata", {}).get("annotations", {})
        if annotations.get("prometheus.io/scrape") not in ("true", "false"):
            self.problem(obj, "no prometheus.io/scrape annotation")
        for container in pod_spec(obj).get("containers", []):
            for field in ("name", "image"):
                if not container.get(field):
                    self.problem(obj, "container without %s" % field)
            if not (container.get("args") or container.get("command")):
                self.problem(obj, "container %s runs nothing" % container.get("name"))
            ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
            if annotations.get("prometheus.io/scrape") == "true":
                if int(annotations.get("prometheus.io/port", 0)) not in ports.values():
                    self.problem(obj, "prometheus.io/port is not a container port")
            for source in container.get("envFrom", []):
                secret = source.get("secretRef", {}).get("name")
                # ivg-secrets is the one Secret the user creates (kustomization.yaml says how).
                if secret and secret not in self.named("Secret") and secret != "ivg-secrets":
                    self.problem(obj, "envFrom: no Secret %s" % secret)
            for mount in container.get("volumeMounts", []):
                if mount["name"] not in volumes and mount["name"] not in claims:
                    self.problem(obj, "mount %s has no volume" % mount["name"])
            requests = container.get("resources", {}).get("requests", {})
            for resource in ("cpu", "memory"):
                if resource not in requests:
                    self.problem(obj, "container %s requests no %s" % (container["name"], resource))
            if obj["kind"] != "Job":
                for probe_kind in ("readinessProbe", "livenessProbe"):
                    probe = container.get(probe_kind)
                    if not probe:
                        self.problem(obj, "container %s has no %s" % (container["name"], probe_kind))
                        continue
                    action = probe.get("grpc") or probe.get("httpGet") or probe.get("tcpSocket")
                    if action is None:
                        self.problem(obj, "%s has no grpc/httpGet/tcpSocket action" % probe_kind)
                        continue
                    port = action["port"]
                    if port not in ports and port not in ports.values():
                        self.problem(obj, "%s port %s is not a container port" % (probe_kind, port))

    def check_service(self, obj):
        selector = obj["spec"].get("selector", {})
        pods = [w for w in self.objects if w.get("kind") in WORKLOADS and
                all(w["spec"]["template"]["metadata"].get("labels", {}).get(k) == v
                    for k, v in selector.items())]
        if not selector or not pods:
            self.problem(obj, "selector %s matches no workload" % selector)
            return
        port_names = {p.get("name") for w in pods for c in containers(w) for p in c.get("ports", [])}
        for port in obj["spec"].get("ports", []):
            if isinstance(port.get("targetPort"), str) and port["targetPort"] not in port_names:
                self.problem(obj, "targetPort %s is no port of the selected pods" % port["targetPort"])


class EveryKubectlRendersTheSameValidObjects(unittest.TestCase):
    """Debian 12's kubectl 1.20 (old kustomize v2) and a current one must give the same,
    valid objects: once v2 turned a StatefulSet's missing volumeClaimTemplates into a mapping,
    an object Kubernetes refuses, while newer kubectl rendered the same files correctly."""

    def test_debian_and_current_kubectl_agree_on_every_object(self):
        kubectls = lib.kubectls()
        versions = [v for v, _ in kubectls]
        self.assertTrue(any(v.startswith("v1.20.") for v in versions),
                        "Debian 12's kubectl (1.20) not found among %s: scripts/bootstrap.sh "
                        "installs it, or unpacks it to %s" % (versions, lib.DEBIAN_KUBECTL))
        reference_version, reference = None, None
        for version, kubectl in kubectls:
            with self.subTest(kubectl=version):
                objects = render(lib.K8S_BASE, kubectl)
                self.assertEqual(ObjectChecker(objects).check(), [], version)
                for obj in objects:
                    if obj["kind"] == "StatefulSet":
                        self.assertIsInstance(obj["spec"].get("volumeClaimTemplates", []), list,
                                              "%s: %s" % (version, obj["metadata"]["name"]))
                if reference is None:
                    reference_version, reference = version, comparable(objects)
                else:
                    self.assertEqual(comparable(objects), reference,
                                     "%s and %s render different objects"
                                     % (version, reference_version))


class KustomizeBase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.objects = render(lib.K8S_BASE)
        cls.workloads = {o["metadata"]["name"]: o for o in cls.objects if o["kind"] in WORKLOADS}
        cls.services = {o["metadata"]["name"]: o for o in cls.objects if o["kind"] == "Service"}
        cls.plan = lib.launcher_plan(CONFIG)
        cls.fields = lib.config_fields(CONFIG)

    def workload_running(self, binary_name):
        found = [w for w in self.workloads.values() if lib.binary(containers(w)[0]["args"]) == binary_name]
        self.assertEqual(len(found), 1, binary_name)
        return found[0]

    def test_rendered_objects_have_required_fields_and_valid_references(self):
        self.assertEqual(ObjectChecker(self.objects).check(), [])

    def test_every_statefulset_source_declares_its_volume_claim_templates_as_a_list(self):
        # kustomize v2 (built into Debian 12's kubectl 1.20, which scripts/bootstrap.sh
        # installs on a fresh machine) creates volumeClaimTemplates as a *mapping* when it adds
        # commonLabels to a StatefulSet that has none: an invalid object. Newer kubectl renders
        # the same files correctly, so this checks the sources, whatever kubectl is installed.
        found = 0
        for name in sorted(os.listdir(lib.K8S_BASE)):
            if not name.endswith(".yaml") or name == "kustomization.yaml":
                continue
            with open(os.path.join(lib.K8S_BASE, name)) as f:
                for obj in lib.load_yaml_documents(f.read()):
                    if obj and obj.get("kind") == "StatefulSet":
                        found += 1
                        self.assertIsInstance(obj["spec"].get("volumeClaimTemplates"), list,
                                              "%s: StatefulSet %s" % (name, obj["metadata"]["name"]))
        self.assertGreaterEqual(found, 3)

    def test_rendered_statefulsets_have_list_volume_claim_templates(self):
        for obj in self.objects:
            if obj["kind"] == "StatefulSet":
                self.assertIsInstance(obj["spec"].get("volumeClaimTemplates", []), list,
                                      obj["metadata"]["name"])

    def test_the_checker_finds_broken_references(self):
        broken = json.loads(json.dumps(self.objects))
        for obj in broken:
            if obj["kind"] == "StatefulSet" and obj["metadata"]["name"] == "replay":
                obj["spec"]["serviceName"] = "nope"
                containers(obj)[0]["readinessProbe"]["grpc"]["port"] = 1
                del containers(obj)[0]["resources"]["requests"]["memory"]
        problems = ObjectChecker(broken).check()
        self.assertEqual(len(problems), 3, problems)

    def test_every_workload_runs_the_launchers_binary_with_its_flags(self):
        launcher_flags = lib.launcher_flags_by_binary(self.plan)
        started = set()
        for name, workload in self.workloads.items():
            argv = containers(workload)[0]["args"]
            binary_name = lib.binary(argv)
            self.assertIn(binary_name, launcher_flags, name)
            self.assertEqual(sorted(set(lib.flags(argv)) - EXTRA_FLAGS.get(binary_name, set())),
                             sorted(launcher_flags[binary_name]), name)
            started.add(binary_name)
        self.assertEqual(started, set(launcher_flags))

    def test_replica_counts_match_the_config(self):
        replay = self.workload_running("ivg_replay_server")
        learner = self.workload_running("ivg_learner")
        actor = self.workload_running("ivg_actor")
        self.assertEqual(replay["spec"]["replicas"], len(self.fields["shard_addresses"]))
        self.assertEqual(str(replay["spec"]["replicas"]), self.fields["num_replay_shards"][0])
        self.assertEqual(str(learner["spec"]["replicas"]), self.fields["num_learners"][0])
        self.assertEqual(lib.flags(containers(learner)[0]["args"])["--world_size"],
                         self.fields["num_learners"][0])
        self.assertEqual(str(actor["spec"]["replicas"]), self.fields["num_actors"][0])
        # Shards, ranks and actor ids are pod ordinals (ivg-entrypoint.sh).
        self.assertEqual(lib.flags(containers(replay)[0]["args"])["--shard"], "{ordinal}")
        self.assertEqual(lib.flags(containers(learner)[0]["args"])["--rank"], "{ordinal}")
        self.assertEqual(lib.flags(containers(actor)[0]["args"])["--actor_id"], "{ordinal}")
        for workload in (replay, learner, actor):
            self.assertEqual(workload["kind"], "StatefulSet")

    def test_one_evaluator_as_the_launcher_starts(self):
        planned = [argv for _, argv in self.plan if lib.binary(argv) == "ivg_evaluator"]
        self.assertEqual(len(planned), 1, "the launcher starts one evaluator")
        evaluator = self.workload_running("ivg_evaluator")  # exactly one workload
        self.assertEqual(evaluator["spec"]["replicas"], 1)
        if evaluator["kind"] == "Deployment":
            # A rolling update would run two evaluators appending to one eval.csv.
            self.assertEqual(evaluator["spec"]["strategy"]["type"], "Recreate")
        # <cluster.run_dir>/eval.csv lives on a persistent volume.
        container = containers(evaluator)[0]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        run_dir = self.fields["run_dir"][0]
        self.assertIn(run_dir, mounts)
        volumes = {v["name"]: v for v in pod_spec(evaluator).get("volumes", [])}
        claims = {c["metadata"]["name"] for c in evaluator["spec"].get("volumeClaimTemplates", [])}
        volume = volumes.get(mounts[run_dir], {})
        self.assertTrue(mounts[run_dir] in claims or "persistentVolumeClaim" in volume,
                        "the evaluator's run directory is not a persistent volume")

    def test_config_endpoints_resolve_to_services_of_the_right_pods(self):
        replay = self.workload_running("ivg_replay_server")
        for k, address in enumerate(self.fields["shard_addresses"]):
            host, port = address.split(":")
            self.assertEqual(host, "%s-%d.%s" % (replay["metadata"]["name"], k,
                                                 replay["spec"]["serviceName"]))
            self.assertEqual(lib.port_of(lib.flags(containers(replay)[0]["args"])["--address"]),
                             port)
        host, port = self.fields["param_server_address"][0].split(":")
        service = self.services[host]
        self.assertIn(int(port), [p["port"] for p in service["spec"]["ports"]])
        param = self.workload_running("ivg_param_server")
        self.assertEqual(lib.flags(containers(param)[0]["args"])["--address"], "0.0.0.0:%s" % port)
        host, port = self.fields["learner_rendezvous_address"][0].split(":")
        learner = self.workload_running("ivg_learner")
        self.assertEqual(host, "%s-0.%s" % (learner["metadata"]["name"], learner["spec"]["serviceName"]))
        headless = self.services[learner["spec"]["serviceName"]]
        self.assertTrue(headless["spec"].get("publishNotReadyAddresses"),
                        "rank 0 must resolve its own name before it is ready")
        self.assertIn(int(port), [p["port"] for p in headless["spec"]["ports"]])

    def test_grpc_servers_are_probed_on_the_grpc_health_service(self):
        for binary_name in ("ivg_replay_server", "ivg_param_server"):
            container = containers(self.workload_running(binary_name))[0]
            grpc_port = {p["name"]: p["containerPort"] for p in container["ports"]}["grpc"]
            for probe in ("readinessProbe", "livenessProbe"):
                self.assertEqual(container[probe]["grpc"]["port"], grpc_port, binary_name)
        for binary_name in ("ivg_learner", "ivg_actor", "ivg_evaluator"):
            container = containers(self.workload_running(binary_name))[0]
            self.assertEqual(container["readinessProbe"]["httpGet"]["path"], "/metrics")

    def test_secrets_reach_only_the_pods_that_use_them_and_no_command_line(self):
        users = {"ivg_learner", "ivg_param_server", "ivg_replay_server"}
        for name, workload in self.workloads.items():
            container = containers(workload)[0]
            refs = [e.get("secretRef", {}).get("name") for e in container.get("envFrom", [])]
            binary = lib.binary(container["args"])
            self.assertEqual(refs, ["ivg-secrets"] if binary in users else [], name)
            self.assertFalse(any(k in arg for arg in container["args"]
                                 for k in ("publish_token", "redis_password")), name)
            for env in container.get("env", []):
                self.assertFalse(env["name"].startswith("IVG_") and "value" in env,
                                 "%s: a secret's value in the manifest" % name)
        self.assertEqual([o for o in self.objects if o["kind"] == "Secret"], [],
                         "no Secret (its values) belongs in these files")

    def test_only_learner_pods_reach_the_learners_but_for_metrics(self):
        (policy,) = [o for o in self.objects if o["kind"] == "NetworkPolicy"]
        learner = self.workload_running("ivg_learner")
        pod_labels = learner["spec"]["template"]["metadata"]["labels"]
        selected = policy["spec"]["podSelector"]["matchLabels"]
        self.assertTrue(all(pod_labels.get(k) == v for k, v in selected.items()))
        self.assertEqual(policy["spec"]["policyTypes"], ["Ingress"])
        rules = policy["spec"]["ingress"]
        from_learners = [r for r in rules if "from" in r]
        self.assertEqual(len(from_learners), 1)
        self.assertNotIn("ports", from_learners[0], "every port between the ranks (Gloo)")
        (peer,) = from_learners[0]["from"]
        self.assertEqual(peer["podSelector"]["matchLabels"], selected)
        open_ports = [r for r in rules if "from" not in r]
        self.assertEqual([p["port"] for r in open_ports for p in r["ports"]], [9400])
        # The rendezvous port the config names is one the policy closes to everyone else.
        self.assertTrue(self.fields["learner_rendezvous_address"][0].endswith(":50120"))

    def test_learners_request_gpus_and_storage(self):
        learner = self.workload_running("ivg_learner")
        resources = containers(learner)[0]["resources"]
        self.assertEqual(str(resources["requests"]["nvidia.com/gpu"]), "1")
        self.assertEqual(str(resources["limits"]["nvidia.com/gpu"]), "1")
        self.assertTrue(learner["spec"]["volumeClaimTemplates"])
        self.assertTrue(self.workload_running("ivg_replay_server")["spec"]["volumeClaimTemplates"])

    def test_pods_carry_the_labels_prometheus_turns_into_job_and_run(self):
        run_name = self.fields["name"][0]
        for name, workload in self.workloads.items():
            labels = workload["spec"]["template"]["metadata"]["labels"]
            self.assertEqual(labels.get("ivg.role"), ROLES[lib.binary(containers(workload)[0]["args"])],
                             name)
            self.assertEqual(labels.get("ivg.run"), run_name, name)

    def test_scrape_config_maps_pod_labels_to_the_dashboards_labels(self):
        import yaml
        with open(SCRAPE_CONFIG) as f:
            config = yaml.safe_load(f)
        (job,) = config["scrape_configs"]
        targets = {r.get("target_label"): r.get("source_labels") for r in job["relabel_configs"]}
        self.assertEqual(targets["job"], ["__meta_kubernetes_pod_label_ivg_role"])
        self.assertEqual(targets["run"], ["__meta_kubernetes_pod_label_ivg_run"])
        self.assertEqual(targets["process"], ["__meta_kubernetes_pod_name"])
        # Debian's Prometheus is built without Kubernetes discovery: check everything else
        # (relabel rules, regexes) with promtool by standing in a static target.
        del job["kubernetes_sd_configs"]
        job["static_configs"] = [{"targets": ["pod:9400"]}]
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            yaml.safe_dump(config, f)
            f.flush()
            lib.run([lib.require_tool("promtool"), "check", "config", f.name])

    def test_the_config_map_holds_the_experiment_config(self):
        config_maps = [o for o in self.objects if o["kind"] == "ConfigMap"]
        self.assertEqual(len(config_maps), 1)
        with open(CONFIG) as f:
            self.assertEqual(config_maps[0]["data"]["config.textproto"], f.read())


class SweepGenerator(unittest.TestCase):

    def setUp(self):
        self.out = tempfile.mkdtemp(prefix="ivg_sweep_")
        self.addCleanup(shutil.rmtree, self.out)

    def generate(self, grid):
        out = os.path.join(self.out, "generated")
        lib.run(["/usr/bin/python3", GENERATOR, grid, "--out", out])
        return out

    def test_every_point_of_every_grid_renders_and_starts(self):
        grids = sorted(os.listdir(GRIDS))
        self.assertTrue(grids)
        for grid in grids:
            out = self.generate(os.path.join(GRIDS, grid))
            with open(os.path.join(out, "points.json")) as f:
                points = json.load(f)
            self.assertTrue(points, grid)
            all_objects = render(out)
            jobs = [o for o in all_objects if o["kind"] == "Job"]
            self.assertEqual(len(jobs), len(points), grid)
            self.assertEqual(ObjectChecker(all_objects).check(), [], grid)
            for point in points:
                objects = render(os.path.join(out, point["run"]))
                self.assertEqual(ObjectChecker(objects).check(), [], point["run"])
                (job,) = [o for o in objects if o["kind"] == "Job"]
                self.assertTrue(job["metadata"]["name"].startswith(point["run"]))
                self.assertEqual(job["spec"]["template"]["metadata"]["labels"]["ivg.run"], point["run"])
                args = containers(job)[0]["args"]
                self.assertEqual(args, point["args"])
                self.assertIn("--set=name=%s" % point["run"], args)
                # The config validation of every process accepts the point.
                lib.launcher_plan(os.path.join(lib.SOURCE_DIR, "configs", point["config"] + ".textproto"),
                                  point["overrides"])
            runs = [p["run"] for p in points]
            self.assertEqual(len(set(runs)), len(runs), grid)

    def test_horizon_zero_points_use_svg0(self):
        out = self.generate(os.path.join(GRIDS, "horizon.json"))
        with open(os.path.join(out, "points.json")) as f:
            points = json.load(f)
        zero = [p for p in points if "learner.imagination_horizon=0" in p["overrides"]]
        self.assertTrue(zero)
        for point in points:
            self.assertEqual("learner.policy_algorithm=POLICY_SVG0" in point["overrides"],
                             point in zero, point["run"])
            # The paper's IVG(0) keeps the model loss; plain POLICY_SVG0 is model-free.
            self.assertEqual("learner.svg0_model_loss=true" in point["overrides"],
                             point in zero, point["run"])

    def test_variants_run_on_their_own_configs(self):
        out = self.generate(os.path.join(GRIDS, "baselines.json"))
        with open(os.path.join(out, "points.json")) as f:
            points = json.load(f)
        by_variant = {}
        for point in points:
            by_variant.setdefault(point["run"].split("-")[1], []).append(point)
        self.assertEqual(sorted(by_variant),
                         ["cem", "ivg0", "ivg1", "ivg20", "ivg5", "pg", "svg0"])
        for variant, runs in by_variant.items():
            self.assertEqual(len(runs), 3, variant)  # three seeds each
            for point in runs:
                expected = variant if variant in ("ivg0", "svg0", "pg", "cem") else "lift_r"
                self.assertEqual(point["config"], expected, point["run"])
                self.assertIn("--config=/etc/ivg/configs/%s.textproto" % expected, point["args"])
        self.assertIn("learner.imagination_horizon=20", by_variant["ivg20"][0]["overrides"])

    def test_a_variant_on_a_missing_config_is_an_error(self):
        grid = os.path.join(self.out, "missing.json")
        with open(grid, "w") as f:
            json.dump({"name": "missing", "variants": {"mpo": {"config": "mpo"}}}, f)
        result = lib.run(["/usr/bin/python3", GENERATOR, grid, "--out",
                          os.path.join(self.out, "generated")], check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("no config 'mpo' in configs/", result.stderr)

    def test_a_grid_that_contradicts_the_config_rules_is_an_error(self):
        grid = os.path.join(self.out, "bad.json")
        with open(grid, "w") as f:
            json.dump({"name": "bad", "grid": {"learner.imagination_horizon": [0, 5]},
                       "set": {"learner.policy_algorithm": "POLICY_IVG"}}, f)
        out = os.path.join(self.out, "generated")
        result = lib.run(["/usr/bin/python3", GENERATOR, grid, "--out", out], check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("needs learner.policy_algorithm = POLICY_SVG0", result.stderr)
        self.assertFalse(os.path.exists(out), "nothing is written for an invalid grid")

    def test_unknown_grid_keys_are_an_error(self):
        grid = os.path.join(self.out, "typo.json")
        with open(grid, "w") as f:
            json.dump({"name": "typo", "grids": {"learner.kl_lambda": [0.1]}}, f)
        result = lib.run(["/usr/bin/python3", GENERATOR, grid, "--out", self.out], check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("unknown key(s) ['grids']", result.stderr)

    def test_refuses_to_replace_a_folder_it_did_not_generate(self):
        grid = os.path.join(self.out, "grid.json")
        with open(grid, "w") as f:
            json.dump({"name": "one", "grid": {"learner.kl_lambda": [0.1]}}, f)
        result = lib.run(["/usr/bin/python3", GENERATOR, grid, "--out", self.out], check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("holds no generated sweep", result.stderr)
        self.assertTrue(os.path.exists(grid))


if __name__ == "__main__":
    lib.parse_args()
    unittest.main(verbosity=2)
