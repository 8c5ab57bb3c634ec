"""docker-compose cluster (deploy/docker): the compose file is accepted by docker-compose,
every service runs the launcher's command line, and the config, healthchecks, volumes,
Prometheus and Grafana provisioning agree with it."""
import atexit
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import yaml

import deploy_testlib as lib

DOCKER = os.path.join(lib.DEPLOY, "docker")
CONFIG = os.path.join(DOCKER, "config.textproto")
GPU_CONFIG = os.path.join(DOCKER, "config.gpu.textproto")
PROMETHEUS = os.path.join(DOCKER, "prometheus", "prometheus.yml")


GENERATE_SECRETS = os.path.join(DOCKER, "generate-secrets.sh")
SECRETS_DIR = tempfile.mkdtemp(prefix="ivg_compose_secrets_")
atexit.register(shutil.rmtree, SECRETS_DIR, True)
SECRETS_ENV = os.path.join(SECRETS_DIR, "secrets.env")


def compose_config(*files):
    """`docker-compose config` with a secrets file generated for the test (IVG_SECRETS_ENV)."""
    docker_compose = lib.require_tool("docker-compose")
    if not os.path.exists(SECRETS_ENV):
        lib.run(["sh", GENERATE_SECRETS, SECRETS_ENV])
    argv = [docker_compose]
    for f in files:
        argv += ["-f", f]
    result = lib.run(argv + ["config"], cwd=DOCKER,
                     env=dict(os.environ, IVG_SECRETS_ENV=SECRETS_ENV))
    return yaml.safe_load(result.stdout)


def env_file(path):
    with open(path) as f:
        return dict(line.strip().split("=", 1) for line in f
                    if "=" in line and not line.startswith("#"))


class ComposeFile(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.compose = compose_config(lib.COMPOSE_FILE)
        cls.services = cls.compose["services"]
        # Services that run an IVG binary, by name.
        cls.ivg = {name: s for name, s in cls.services.items()
                   if s.get("command") and lib.binary(s["command"]).startswith("ivg_")}
        cls.plan = lib.launcher_plan(CONFIG)

    def by_binary(self, name):
        return {n: s for n, s in self.ivg.items() if lib.binary(s["command"]) == name}

    def test_docker_compose_accepts_the_file_and_the_gpu_override(self):
        gpu = compose_config(lib.COMPOSE_FILE, lib.COMPOSE_GPU_FILE)
        for name in ("learner-0", "learner-1"):
            learner = gpu["services"][name]
            self.assertIn("gpu", learner["image"])
            devices = learner["deploy"]["resources"]["reservations"]["devices"]
            self.assertEqual(devices[0]["capabilities"], ["gpu"])
        for name, service in gpu["services"].items():
            if name in self.ivg:
                sources = [v.split(":")[0] for v in service["volumes"]
                           if ":/etc/ivg/config.textproto" in v]
                self.assertEqual(len(sources), 1, name)
                self.assertTrue(sources[0].endswith("config.gpu.textproto"), (name, sources))

    def test_secrets_reach_only_the_services_that_use_them_from_the_env_file(self):
        secrets = env_file(SECRETS_ENV)
        uses = {"ivg_param_server": {"IVG_PUBLISH_TOKEN"}, "ivg_learner": {"IVG_PUBLISH_TOKEN"},
                "ivg_replay_server": {"IVG_REDIS_PASSWORD"}}
        for name, service in self.ivg.items():
            environment = service.get("environment", {})
            held = {k for k in ("IVG_PUBLISH_TOKEN", "IVG_REDIS_PASSWORD") if k in environment}
            needed = uses.get(lib.binary(service["command"]), set())
            self.assertTrue(needed <= held, "%s lacks %s" % (name, needed - held))
            if not needed:
                self.assertEqual(held, set(), "%s holds secrets it does not use" % name)
            for key in held:
                self.assertEqual(environment[key], secrets[key], name)
            self.assertFalse(any(secrets["IVG_PUBLISH_TOKEN"] in arg for arg in service["command"]))
        with open(os.path.join(lib.SOURCE_DIR, ".gitignore")) as f:
            self.assertIn("/deploy/docker/secrets.env", f.read().split())

    def test_generate_secrets_writes_an_owner_only_file_once(self):
        path = os.path.join(SECRETS_DIR, "once.env")
        lib.run(["sh", GENERATE_SECRETS, path])
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        first = env_file(path)
        self.assertEqual(sorted(first), ["IVG_PUBLISH_TOKEN", "IVG_REDIS_PASSWORD"])
        for value in first.values():
            self.assertRegex(value, r"^[0-9a-f]{48}$")
        self.assertNotEqual(first["IVG_PUBLISH_TOKEN"], first["IVG_REDIS_PASSWORD"])
        lib.run(["sh", GENERATE_SECRETS, path])
        self.assertEqual(env_file(path), first, "an existing file is kept")
        lib.run(["sh", GENERATE_SECRETS, "--force", path])
        self.assertNotEqual(env_file(path), first)

    def test_every_service_runs_the_launchers_binary_with_its_flags(self):
        launcher_flags = lib.launcher_flags_by_binary(self.plan)
        for name, service in self.ivg.items():
            command = service["command"]
            self.assertIn(lib.binary(command), launcher_flags,
                          "service %s runs %s, which the launcher never starts"
                          % (name, command[0]))
            self.assertEqual(sorted(lib.flags(command)),
                             sorted(launcher_flags[lib.binary(command)]),
                             "service %s: flags differ from ivg_cluster --dry_run's" % name)
        started = {lib.binary(s["command"]) for s in self.ivg.values()}
        self.assertEqual(started, set(launcher_flags),
                         "binaries the launcher starts but no compose service does")

    def test_process_counts_and_identities_match_the_launcher(self):
        def values(binary_name, flag, processes):
            return sorted(lib.flags(argv)[flag] for argv in processes
                          if lib.binary(argv) == binary_name)
        planned = [argv for _, argv in self.plan]
        composed = [s["command"] for s in self.ivg.values()]
        self.assertEqual(values("ivg_replay_server", "--shard", composed),
                         values("ivg_replay_server", "--shard", planned))
        self.assertEqual(values("ivg_learner", "--rank", composed),
                         values("ivg_learner", "--rank", planned))
        self.assertEqual(set(values("ivg_learner", "--world_size", composed)),
                         set(values("ivg_learner", "--world_size", planned)))
        actors = self.by_binary("ivg_actor")
        self.assertEqual(len(actors), 1, "one scalable actor service")
        actor = next(iter(actors.values()))
        planned_actors = len(values("ivg_actor", "--actor_id", planned))
        self.assertEqual(actor.get("scale"), planned_actors)
        # Replicas take their id from the entry point's {ordinal} (ivg-entrypoint.sh).
        self.assertEqual(lib.flags(actor["command"])["--actor_id"], "{ordinal}")

    def test_one_evaluator_as_the_launcher_starts(self):
        planned = [argv for _, argv in self.plan if lib.binary(argv) == "ivg_evaluator"]
        self.assertEqual(len(planned), 1, "the launcher starts one evaluator")
        evaluators = self.by_binary("ivg_evaluator")
        self.assertEqual(len(evaluators), 1, "one evaluator service")
        (name, evaluator), = evaluators.items()
        self.assertNotIn("scale", evaluator, "%s: exactly one evaluator per cluster" % name)
        self.assertNotIn("deploy", evaluator, "%s: no replicas" % name)
        # It reads the replay shards and the parameter server: it starts once they serve.
        servers = set(self.by_binary("ivg_replay_server")) | set(self.by_binary("ivg_param_server"))
        depends = evaluator.get("depends_on", {})
        self.assertEqual(set(depends), servers, name)
        for server in servers:
            self.assertEqual(depends[server]["condition"], "service_healthy", (name, server))

    def test_config_endpoints_are_compose_services_and_ports(self):
        fields = lib.config_fields(CONFIG)
        self.assertEqual(fields["host"], ["0.0.0.0"])
        replay = self.by_binary("ivg_replay_server")
        shard_addresses = fields["shard_addresses"]
        self.assertEqual(len(shard_addresses), len(replay))
        for k, address in enumerate(shard_addresses):
            host, port = address.split(":")
            self.assertIn(host, replay, "shard %d address %s" % (k, address))
            command = lib.flags(replay[host]["command"])
            self.assertEqual(command["--shard"], str(k), address)
            self.assertEqual(lib.port_of(command["--address"]), port, address)
        host, port = fields["param_server_address"][0].split(":")
        self.assertEqual(list(self.by_binary("ivg_param_server")), [host])
        host, _ = fields["learner_rendezvous_address"][0].split(":")
        self.assertEqual(lib.flags(self.services[host]["command"])["--rank"], "0",
                         "the rendezvous host must be learner rank 0 (it hosts the TCPStore)")

    def test_gpu_config_differs_only_in_sizes(self):
        cpu, gpu = lib.config_fields(CONFIG), lib.config_fields(GPU_CONFIG)
        for key in ("shard_addresses", "param_server_address", "learner_rendezvous_address",
                    "host", "num_learners", "num_actors", "num_replay_shards", "name"):
            self.assertEqual(cpu[key], gpu[key], key)
        lib.launcher_plan(GPU_CONFIG)  # valid

    def test_grpc_servers_are_health_checked_through_the_grpc_health_service(self):
        fields = lib.config_fields(CONFIG)
        param_port = fields["param_server_address"][0].split(":")[1]
        for name, service in self.ivg.items():
            self.assertIn("healthcheck", service, name)
            test = " ".join(service["healthcheck"]["test"])
            command = service["command"]
            if lib.binary(command) == "ivg_replay_server":
                port = lib.port_of(lib.flags(command)["--address"])
                self.assertRegex(test, r"ivg_health_check --address=[\w.-]+:%s\b" % port, name)
            elif lib.binary(command) == "ivg_param_server":
                self.assertRegex(test, r"ivg_health_check --address=[\w.-]+:%s\b" % param_port)
            else:
                self.assertIn("/9400", test, "%s: probe its /metrics port" % name)

    def test_redis_data_and_checkpoints_live_on_named_volumes(self):
        named = set(self.compose.get("volumes", {}))

        def volume_at(service, target):
            for v in service["volumes"]:
                parts = v.split(":")
                if parts[1] == target:
                    return parts[0]
            self.fail("nothing mounted at %s" % target)

        redis_volumes = set()
        for name, service in self.by_binary("ivg_replay_server").items():
            volume = volume_at(service, lib.flags(service["command"])["--redis_data_dir"])
            self.assertIn(volume, named, name)
            redis_volumes.add(volume)
        self.assertEqual(len(redis_volumes), len(self.by_binary("ivg_replay_server")),
                         "each shard needs its own Redis volume")
        for name, service in self.by_binary("ivg_learner").items():
            self.assertIn(volume_at(service, lib.flags(service["command"])["--run_dir"]), named)
        for name, service in self.by_binary("ivg_param_server").items():
            self.assertIn(volume_at(service, lib.flags(service["command"])["--state_dir"]), named)
        # The evaluator writes <cluster.run_dir>/eval.csv: it must outlive the container.
        run_dir = lib.config_fields(CONFIG)["run_dir"][0]
        for name, service in self.by_binary("ivg_evaluator").items():
            self.assertIn(volume_at(service, run_dir), named, name)

    def test_the_images_hold_every_service_binary(self):
        # One list (image-binaries.txt) feeds the images' cmake targets and their install step,
        # and the host-build image of scripts/test_containers.sh.
        listed = set(lib.docker_list("image-binaries.txt"))
        for name in lib.SERVICE_BINARIES + ("ivg_cluster", "ivg_health_check",
                                            "ivg_policy_client"):
            self.assertIn(name, listed, "image-binaries.txt does not list %s" % name)
        for dockerfile in ("Dockerfile", "Dockerfile.gpu"):
            with open(os.path.join(DOCKER, dockerfile)) as f:
                text = f.read()
            self.assertRegex(text, r"cmake --build \S+ --target \$\(deploy/docker/"
                             r"install-binaries\.sh --targets\)", dockerfile)
            self.assertRegex(text, r"deploy/docker/install-binaries\.sh /build /opt/ivg/bin",
                             dockerfile)
            self.assertIn("COPY --from=build /opt/ivg/bin/ /opt/ivg/bin/", text, dockerfile)

    def test_install_binaries_copies_every_listed_binary_from_a_build_folder(self):
        script = os.path.join(DOCKER, "install-binaries.sh")
        targets = lib.run([script, "--targets"]).stdout.split()
        with tempfile.TemporaryDirectory() as tmp:
            build = os.path.join(tmp, "build")
            for i, name in enumerate(targets):
                # Binaries sit in per-service folders; CMakeFiles holds same-named objects.
                folder = os.path.join(build, "services", "s%d" % i)
                os.makedirs(os.path.join(folder, "CMakeFiles", name))
                shutil.copy("/bin/true", os.path.join(folder, name))
            dest = os.path.join(tmp, "bin")
            lib.run([script, build, dest])
            self.assertEqual(sorted(os.listdir(dest)), sorted(targets))
            os.remove(os.path.join(build, "services", "s0", targets[0]))
            failed = subprocess.run([script, build, dest], capture_output=True, text=True)
            self.assertNotEqual(failed.returncode, 0)
            self.assertIn("%s not found" % targets[0], failed.stderr)

    def test_prometheus_scrapes_every_service_on_its_metrics_port(self):
        lib.run([lib.require_tool("promtool"), "check", "config", PROMETHEUS])
        with open(PROMETHEUS) as f:
            prometheus = yaml.safe_load(f)
        static, dns = {}, {}
        for job in prometheus["scrape_configs"]:
            for group in job.get("static_configs", []):
                for target in group["targets"]:
                    static[target] = (job["job_name"], group.get("labels", {}))
            for sd in job.get("dns_sd_configs", []):
                for name in sd["names"]:
                    dns[name] = (job["job_name"], sd["port"])
        run_name = lib.config_fields(CONFIG)["name"][0]
        for name, service in self.ivg.items():
            command = service["command"]
            role = lib.ROLES[lib.binary(command)]
            f = lib.flags(command)
            port = lib.port_of(f["--metrics_address"])
            if "scale" in service:
                self.assertEqual(dns.get(name), (role, int(port)), name)
            else:
                target = "%s:%s" % (name, port)
                self.assertIn(target, static, "Prometheus does not scrape %s" % name)
                self.assertEqual(static[target][0], role, target)
                self.assertEqual(static[target][1].get("run"), run_name, target)
        prometheus_service = self.services["prometheus"]
        self.assertTrue(any(v.endswith(":/etc/prometheus/prometheus.yml:ro")
                            for v in prometheus_service["volumes"]))

    def test_grafana_is_provisioned_with_the_datasource_and_dashboards(self):
        grafana = self.services["grafana"]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"]}
        provisioning = mounts["/etc/grafana/provisioning"]
        with open(os.path.join(provisioning, "datasources", "prometheus.yml")) as f:
            datasource = yaml.safe_load(f)["datasources"][0]
        self.assertEqual(datasource["url"], "http://prometheus:9090")
        with open(os.path.join(provisioning, "dashboards", "ivg.yml")) as f:
            provider = yaml.safe_load(f)["providers"][0]
        dashboards_path = provider["options"]["path"]
        self.assertEqual(os.path.realpath(mounts[dashboards_path]),
                         os.path.realpath(lib.DASHBOARD_DIR))
        for name in os.listdir(lib.DASHBOARD_DIR):
            with open(os.path.join(lib.DASHBOARD_DIR, name)) as f:
                dashboard = json.load(f)
            variable = {v["name"]: v for v in dashboard["templating"]["list"]}["datasource"]
            self.assertEqual(variable["current"]["value"], datasource["uid"], name)


if __name__ == "__main__":
    lib.parse_args()
    unittest.main(verbosity=2)
