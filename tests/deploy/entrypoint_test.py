"""The images' entry point (deploy/docker/ivg-entrypoint.sh) gives scaled replicas distinct
ids: {ordinal} comes from $IVG_ORDINAL, a StatefulSet pod's hostname, or the compose
container number found by reverse DNS. `hostname` and `getent` are replaced by fakes on
PATH to play each environment."""
import os
import shutil
import tempfile
import unittest

import deploy_testlib as lib

ENTRYPOINT = os.path.join(lib.DEPLOY, "docker", "ivg-entrypoint.sh")


class Entrypoint(unittest.TestCase):

    def setUp(self):
        self.fake_bin = tempfile.mkdtemp(prefix="ivg_entrypoint_")
        self.addCleanup(shutil.rmtree, self.fake_bin)

    def fake(self, name, script):
        path = os.path.join(self.fake_bin, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + script + "\n")
        os.chmod(path, 0o755)

    def play_host(self, hostname, ip="172.18.0.7", dns_name=None):
        self.fake("hostname", 'if [ "${1:-}" = "-i" ]; then echo %s; else echo %s; fi'
                  % (ip, hostname))
        if dns_name is None:
            self.fake("getent", "exit 2")
        else:
            # Answers only a DNS-only reverse lookup of this container's IP.
            self.fake("getent", '[ "$1 $2 $3 $4" = "-s dns hosts %s" ] && echo "%s  %s" || exit 2'
                      % (ip, ip, dns_name))

    def entrypoint(self, *argv, env=None):
        environment = dict(os.environ)
        environment.pop("IVG_ORDINAL", None)
        environment["PATH"] = self.fake_bin + os.pathsep + environment["PATH"]
        environment.update(env or {})
        return lib.run(["/bin/sh", ENTRYPOINT] + list(argv), check=False, env=environment)

    def test_replaces_ordinal_from_the_environment(self):
        result = self.entrypoint("echo", "--actor_id={ordinal}", "x{ordinal}y", "two words",
                                 env={"IVG_ORDINAL": "3"})
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "--actor_id=3 x3y two words\n")

    def test_statefulset_pod_ordinal_comes_from_the_hostname(self):
        self.play_host("actor-12")
        result = self.entrypoint("echo", "--actor_id={ordinal}")
        self.assertEqual(result.stdout, "--actor_id=12\n", result.stderr)

    def test_compose_v1_replica_number_comes_from_reverse_dns(self):
        self.play_host("3f2a9c1b7d4e", dns_name="ivg_actor_6.ivg_default")
        result = self.entrypoint("echo", "--actor_id={ordinal}")
        self.assertEqual(result.stdout, "--actor_id=5\n", result.stderr)

    def test_compose_v2_replica_number_comes_from_reverse_dns(self):
        self.play_host("3f2a9c1b7d4e", dns_name="ivg-actor-1.ivg_default")
        result = self.entrypoint("echo", "--actor_id={ordinal}")
        self.assertEqual(result.stdout, "--actor_id=0\n", result.stderr)

    def test_refuses_to_guess_without_an_ordinal(self):
        self.play_host("3f2a9c1b7d4e", dns_name=None)
        result = self.entrypoint("echo", "--actor_id={ordinal}")
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, "")
        self.assertIn("cannot derive this container's ordinal", result.stderr)

    def test_rejects_a_non_numeric_ordinal(self):
        result = self.entrypoint("echo", "--actor_id={ordinal}", env={"IVG_ORDINAL": "a1"})
        self.assertEqual(result.returncode, 2)
        self.assertIn("not a non-negative integer", result.stderr)

    def test_commands_without_the_token_run_unchanged(self):
        self.play_host("3f2a9c1b7d4e", dns_name=None)
        result = self.entrypoint("echo", "--shard=1", "--port=50110")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "--shard=1 --port=50110\n")


if __name__ == "__main__":
    lib.parse_args()
    unittest.main(verbosity=2)
