"""The runtime images' package list (deploy/docker/runtime-packages.txt) brings in every shared
library the image binaries (deploy/docker/image-binaries.txt) link, as built here: each
library's owning package must be in the dependency closure of the list, resolved with the
installed packages' Depends/Pre-Depends (offline: this machine has every runtime package,
as dependencies of the -dev packages it builds with). Without this, a library added to the
build would first show up as a container that cannot start."""
import os
import re
import subprocess
import unittest

import deploy_testlib as lib

def installed_packages():
    """name -> (depends, provides, base) of every installed package."""
    out = subprocess.run(
        ["dpkg-query", "-W", "-f",
         "${db:Status-Status}\t${Package}\t${Pre-Depends}, ${Depends}\t${Provides}\t"
         "${Essential}\t${Priority}\n"],
        check=True, capture_output=True, text=True).stdout
    packages = {}
    for line in out.splitlines():
        status, name, depends, provides, essential, priority = line.split("\t")
        if status != "installed":
            continue
        groups = []
        for group in depends.split(","):
            names = [re.split(r"[\s(:]", alt.strip())[0] for alt in group.split("|")]
            names = [n for n in names if n]
            if names:
                groups.append(names)
        provided = [re.split(r"[\s(:]", p.strip())[0] for p in provides.split(",") if p.strip()]
        base = essential == "yes" or priority == "required"
        packages[name] = (groups, provided, base)
    return packages


def closure(roots, packages):
    providers = {}
    for name, (_, provided, _) in packages.items():
        for virtual in provided:
            providers.setdefault(virtual, []).append(name)
    seen, queue = set(), list(roots)
    while queue:
        name = queue.pop()
        if name in seen or name not in packages:
            continue
        seen.add(name)
        for alternatives in packages[name][0]:
            for alt in alternatives:
                chosen = [alt] if alt in packages else providers.get(alt, [])
                if chosen:
                    queue.append(chosen[0])
                    break
    return seen


def linked_libraries(binary):
    """Real paths of the shared libraries `binary` loads (ldd)."""
    out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    return {os.path.realpath(m.group(1)) for m in re.finditer(r"=> (/\S+)", out)}


def owners(paths):
    """path -> owning package, one dpkg -S for all (files of no package are left out)."""
    out = subprocess.run(["dpkg", "-S"] + sorted(paths), capture_output=True, text=True).stdout
    owner = {}
    for line in out.splitlines():
        package, _, path = line.partition(": ")
        owner[path.strip()] = package.split(":")[0]
    return owner


class RuntimePackages(unittest.TestCase):

    def test_the_list_brings_in_every_library_the_binaries_link(self):
        if not lib.LAUNCHER:
            self.fail("this suite needs --launcher=<build>/services/launcher/ivg_cluster")
        build = os.path.dirname(os.path.dirname(os.path.dirname(lib.LAUNCHER)))
        packages = installed_packages()
        listed = lib.docker_list("runtime-packages.txt")
        missing_here = [p for p in listed if p not in packages]
        self.assertEqual(missing_here, [], "runtime packages not installed on this machine")
        brought_in = closure(listed, packages)
        base = {name for name, (_, _, is_base) in packages.items() if is_base}
        binaries = {}
        for root, _, files in os.walk(os.path.join(build, "services")):
            for name in files:
                binaries.setdefault(name, os.path.join(root, name))
        libraries = {}
        for name in lib.docker_list("image-binaries.txt"):
            self.assertIn(name, binaries, "%s is not built in %s" % (name, build))
            libraries[name] = linked_libraries(binaries[name])
        owner = owners(set().union(*libraries.values()))
        for name, paths in sorted(libraries.items()):
            needed = {owner[p] for p in paths if p in owner}
            absent = sorted(needed - brought_in - base)
            self.assertEqual(absent, [], "%s links libraries of packages that "
                             "runtime-packages.txt does not bring in" % name)

    def test_the_list_names_the_programs_the_services_start(self):
        listed = lib.docker_list("runtime-packages.txt")
        for program in ("redis-server", "libopenblas0-openmp", "libegl-mesa0",
                        "libgl1-mesa-dri"):
            self.assertIn(program, listed)


if __name__ == "__main__":
    lib.parse_args()
    unittest.main(verbosity=2)
