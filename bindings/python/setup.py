"""Build of the flexiti_auth package (configuration in pyproject.toml).

setuptools-rust compiles the library from the repository's Cargo.toml (cargo, release profile
unless SETUPTOOLS_RUST_CARGO_PROFILE says otherwise) and installs it into the package as
flexiti_auth/libflexiti_auth<extension suffix> (a plain C library: no Python binding code in it;
flexiti_auth._native loads it with ctypes).

FLEXITI_AUTH_PURE_WHEEL=1 builds the pure-Python part alone: `make dist` (tools/packages.sh) adds
the library it built for each platform to that wheel, so the platform wheels need no Rust.
"""

import os
import re
from pathlib import Path

from setuptools import setup
from setuptools_rust import Binding, RustExtension

HERE = Path(__file__).resolve().parent
CARGO_TOML = HERE.parent.parent / "Cargo.toml"


def cargo_version() -> str:
    """[package] version of the Rust crate: every package carries this one version."""
    try:
        text = CARGO_TOML.read_text(encoding="utf-8")
    except OSError as e:
        raise SystemExit(f"flexiti-auth: {CARGO_TOML} not found ({e}): build from the source tree") from None
    package = re.search(r"^\[package\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    version = package and re.search(r'^version\s*=\s*"([^"]+)"', package.group(1), re.M)
    if not version:
        raise SystemExit(f"flexiti-auth: no [package] version in {CARGO_TOML}")
    return version.group(1)


rust_extensions = []
if os.environ.get("FLEXITI_AUTH_PURE_WHEEL") != "1":
    rust_extensions.append(
        RustExtension(
            "flexiti_auth.libflexiti_auth",
            path=str(CARGO_TOML),
            binding=Binding.NoBinding,
            # A source install takes the crate's default features unless FLEXITI_AUTH_CARGO_FEATURES
            # names some (comma-separated, e.g. "redis", what the wheels of `make dist` ship with).
            features=[f for f in os.environ.get("FLEXITI_AUTH_CARGO_FEATURES", "").split(",") if f],
            args=["--locked"],
        )
    )

setup(version=cargo_version(), rust_extensions=rust_extensions, zip_safe=False)
