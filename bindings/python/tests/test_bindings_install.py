"""`pip install bindings/python` gives a working package that finds the library through
$SLLM_LIBRARY, $SLLM_BUILD or pkg-config's libdir, with no build step of its own."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

BINDINGS = pathlib.Path(__file__).resolve().parents[1]
PROBE = ("import statelessllm as s; print(s.library_path()); "
         "print(s.__file__); print(s.library_version())")


@pytest.fixture(scope="module")
def installed(tmp_path_factory, sllm):
    target = tmp_path_factory.mktemp("pip-target")
    # Installed from a copy, so setuptools' build/ and egg-info stay out of the checkout.
    source = tmp_path_factory.mktemp("pip-source") / "python"
    shutil.copytree(BINDINGS, source, ignore=shutil.ignore_patterns(
        "tests", "build", "*.egg-info", "__pycache__"))
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
               "--target", str(target), str(source)]
    try:
        import setuptools  # noqa: F401  (Debian's python3-setuptools: build offline)
        command.insert(4, "--no-build-isolation")
    except ImportError:
        pass
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0 and "No module named pip" in proc.stderr:
        pytest.skip("pip is not installed for %s (make deps installs python3-pip)"
                    % sys.executable)
    assert proc.returncode == 0, proc.stderr
    return target


def _probe(target, env):
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(target)}
    proc = subprocess.run([sys.executable, "-c", PROBE], env={**base, **env}, cwd=str(target),
                          capture_output=True, text=True)
    return proc


def test_pip_install_copies_the_package_and_its_type_marker(installed):
    package = installed / "statelessllm"
    for name in ("__init__.py", "_lib.py", "model.py", "cache.py", "conversation.py",
                 "errors.py", "py.typed"):
        assert (package / name).is_file(), name


def test_installed_package_finds_the_library_through_sllm_library(installed, sllm):
    proc = _probe(installed, {"SLLM_LIBRARY": sllm.library_path()})
    assert proc.returncode == 0, proc.stderr
    library, module, version = proc.stdout.split()
    assert library == sllm.library_path()
    assert module.startswith(str(installed))
    assert version == sllm.library_version()


def test_installed_package_finds_the_library_through_sllm_build(installed, sllm):
    build = pathlib.Path(sllm.library_path()).parents[1]
    proc = _probe(installed, {"SLLM_BUILD": str(build)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == str(build / "lib" / "libstatelessllm.so")


def test_installed_package_finds_the_library_through_pkg_config(installed, sllm, tmp_path):
    if shutil.which("pkg-config") is None:
        pytest.skip("pkg-config is not installed (make deps)")
    libdir = pathlib.Path(sllm.library_path()).parent
    (tmp_path / "statelessllm.pc").write_text(
        "libdir=%s\nName: statelessllm\nDescription: test\nVersion: 0.1.0\n"
        "Libs: -L${libdir} -lstatelessllm\n" % libdir)
    proc = _probe(installed, {"PKG_CONFIG_PATH": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == str(libdir / "libstatelessllm.so.0")


def test_installed_package_without_a_library_says_how_to_get_one(installed, tmp_path):
    proc = _probe(installed, {"PKG_CONFIG_PATH": str(tmp_path), "PKG_CONFIG_LIBDIR": str(tmp_path),
                              "LD_LIBRARY_PATH": str(tmp_path)})
    if proc.returncode == 0:
        pytest.skip("a libstatelessllm is installed system-wide: %s" % proc.stdout.split()[0])
    assert "LibraryNotFoundError" in proc.stderr
    assert "SLLM_LIBRARY" in proc.stderr
