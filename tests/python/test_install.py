"""`make install` into a temporary DESTDIR, then build and run a C program against the
installed library using only `pkg-config --cflags --libs statelessllm`."""
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

PROGRAM = r"""
#include <statelessllm.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (strcmp(sllm_version(), SLLM_VERSION_STRING) != 0) return 3;
    printf("version %s\n", sllm_version());
    sllm_model *model = NULL;
    sllm_status status = sllm_model_load("/nonexistent/model.gguf", NULL, &model);
    printf("missing file -> %d\n", (int)status);
    if (argc > 1) {
        sllm_model_params params;
        sllm_model_params_init(&params);
        params.metadata_only = 1;
        status = sllm_model_load(argv[1], &params, &model);
        if (status != SLLM_OK) { printf("load failed: %s\n", sllm_last_error()); return 1; }
        printf("tensors %lld\n", (long long)sllm_model_tensor_count(model));
        sllm_model_free(model);
    }
    return 0;
}
"""


def _run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if shutil.which("pkg-config") is None:
        pytest.skip("pkg-config is not installed (make deps)")
    destdir = tmp_path_factory.mktemp("destdir")
    prefix = "/opt/sllm-test"
    build = os.environ.get("SLLM_BUILD", str(ROOT / "build"))
    _run(["make", "-C", str(ROOT), f"BUILD={os.path.relpath(build, ROOT)}", "install",
          f"DESTDIR={destdir}", f"PREFIX={prefix}"])
    return destdir, prefix


def test_installed_files_are_in_place(installed):
    destdir, prefix = installed
    root = pathlib.Path(f"{destdir}{prefix}")
    for rel in ["include/statelessllm.h", "lib/libstatelessllm.a", "lib/libstatelessllm.so",
                "lib/libstatelessllm.so.0", "lib/pkgconfig/statelessllm.pc", "bin/sllm"]:
        assert (root / rel).exists(), rel


def test_program_builds_with_pkg_config_and_runs(installed, tmp_path):
    destdir, prefix = installed
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = f"{destdir}{prefix}/lib/pkgconfig"
    env["PKG_CONFIG_SYSROOT_DIR"] = str(destdir)
    flags = _run(["pkg-config", "--cflags", "--libs", "statelessllm"], env=env).stdout.split()
    assert f"-I{destdir}{prefix}/include" in flags
    source = tmp_path / "prog.c"
    source.write_text(PROGRAM)
    exe = tmp_path / "prog"
    _run(["cc", "-std=c11", "-Wall", "-Werror", str(source), "-o", str(exe)] + flags)
    run_env = dict(os.environ, LD_LIBRARY_PATH=f"{destdir}{prefix}/lib")
    # The binary must pick up the installed shared library, by its soname.
    ldd = _run(["ldd", str(exe)], env=run_env).stdout
    assert f"{destdir}{prefix}/lib/libstatelessllm.so.0" in ldd
    args = [str(exe)]
    model = pathlib.Path(os.environ.get("SLLM_TESTDATA", ROOT.parent / "shared" / "testdata")) / "models" / "llama-2-tiny-random.gguf"
    if model.exists():
        args.append(str(model))
    out = _run(args, env=run_env).stdout
    assert "version 0.1.0" in out
    assert "missing file -> 3" in out  # SLLM_ERR_IO
    if model.exists():
        assert "tensors 12" in out


def test_only_sllm_symbols_are_exported(installed):
    destdir, prefix = installed
    lib = f"{destdir}{prefix}/lib/libstatelessllm.so.0"
    out = _run(["nm", "-D", "--defined-only", lib]).stdout
    names = [line.split()[-1] for line in out.splitlines() if line.strip()]
    assert names, "no exported symbols"
    assert [n for n in names if not n.startswith("sllm_")] == []
