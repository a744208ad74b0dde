"""Build the eos C extension from csrc/, finding system libraries with pkg-config."""
import glob
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup

# (pkg-config name, Debian package that provides it)
PKG_CONFIG = [
    ("blkid", "libblkid-dev"),
    ("fdisk", "libfdisk-dev"),
    ("libbtrfsutil", "libbtrfsutil-dev"),
    ("devmapper", "libdevmapper-dev"),
    ("zlib", "zlib1g-dev"),
]
# (header, Debian package) for libraries that ship no .pc file
HEADERS = [
    ("xfs/xfs.h", "xfslibs-dev"),
    ("uuid/uuid.h", "uuid-dev"),
]
# (header, library to link, Debian package) for libraries found by header check
HEADER_LIBS = [
    ("rados/librados.h", "rados", "librados-dev"),
    ("cephfs/libcephfs.h", "cephfs", "libcephfs-dev"),
]


def fail(msg):
    sys.stderr.write(f"\neos build: {msg}\n\n")
    sys.exit(1)


def pkg_config(name, deb):
    if not shutil.which("pkg-config"):
        fail("pkg-config is missing: apt-get install pkg-config")
    try:
        out = subprocess.run(["pkg-config", "--cflags", "--libs", name],
                             check=True, capture_output=True, text=True).stdout
    except subprocess.CalledProcessError:
        fail(f"library '{name}' not found by pkg-config: apt-get install {deb}")
    return out.split()


def have_header(header):
    return any(os.path.exists(os.path.join(d, header))
               for d in ("/usr/include", "/usr/local/include"))


flags = []
for name, deb in PKG_CONFIG:
    flags += pkg_config(name, deb)
for header, deb in HEADERS:
    if not have_header(header):
        fail(f"header <{header}> not found: apt-get install {deb}")
for header, lib, deb in HEADER_LIBS:
    if not have_header(header):
        fail(f"header <{header}> not found: apt-get install {deb}")
    flags.append(f"-l{lib}")

include_dirs = ["csrc/include"] + [f[2:] for f in flags if f.startswith("-I")]
library_dirs = [f[2:] for f in flags if f.startswith("-L")]
libraries = sorted({f[2:] for f in flags if f.startswith("-l")}) + ["pthread"]

cflags = ["-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers",
          "-D_GNU_SOURCE", "-D_FILE_OFFSET_BITS=64"]
ldflags = []
# The crash-injection hooks (EOS_TEST_CRASH_AFTER_STEP, EOS_TEST_FAIL_STEP) exist only in the
# test build (make test); the extension a minion loads never reads them.
if os.environ.get("EOS_TEST_HOOKS") == "1":
    cflags.append("-DEOS_TEST_HOOKS")
if os.environ.get("EOS_SANITIZE"):
    san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined"]
    cflags = [f for f in cflags if f != "-O2"] + ["-O1"] + san
    ldflags += san

sources = sorted(glob.glob("csrc/lib/**/*.c", recursive=True)) + sorted(glob.glob("csrc/py/*.c"))

setup(
    ext_modules=[
        Extension(
            "eos._eos",
            sources=sources,
            include_dirs=include_dirs,
            library_dirs=library_dirs,
            libraries=libraries,
            extra_compile_args=cflags,
            extra_link_args=ldflags,
            depends=(sorted(glob.glob("csrc/include/eos/**/*.h", recursive=True))
                     + sorted(glob.glob("csrc/lib/**/*.h", recursive=True)) + ["csrc/py/eos_py.h"]),
        )
    ],
)
