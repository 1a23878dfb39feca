"""package.xml, pyproject.toml and the installed console scripts agree and are valid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10 (ROS 2 Humble): the same parser, packaged as tomli
    import tomli as tomllib

import pytest
from catkin_pkg.package import parse_package

from lihmr_ros import paths

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def package():
    return parse_package(str(REPO_ROOT / "package.xml"))


@pytest.fixture(scope="module")
def pyproject() -> dict:
    with open(REPO_ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)


def test_package_xml_is_an_ament_cmake_interface_package(package) -> None:
    assert package.name == "lihmr_ros"
    assert package.get_build_type() == "ament_cmake"
    assert "rosidl_interface_packages" in [group.name for group in package.member_of_groups]
    build_tools = {dep.name for dep in package.buildtool_depends}
    assert {"ament_cmake", "rosidl_default_generators"} <= build_tools


def test_package_xml_lists_runtime_dependencies(package) -> None:
    exec_deps = {dep.name for dep in package.exec_depends}
    build_deps = {dep.name for dep in package.build_depends}
    required = {
        "rclpy", "sensor_msgs", "geometry_msgs", "std_msgs", "visualization_msgs", "diagnostic_msgs",
        "builtin_interfaces", "launch_ros", "rosidl_default_runtime", "python3-numpy", "python3-opencv", "tf2_ros",
    }
    assert required <= exec_deps
    assert {"std_msgs", "geometry_msgs", "builtin_interfaces"} <= build_deps


def test_versions_agree(package, pyproject) -> None:
    import lihmr_ros

    assert package.version == pyproject["project"]["version"] == lihmr_ros.__version__


def test_share_dir_holds_this_package_xml() -> None:
    share = paths.share_dir()
    assert parse_package(str(share / "package.xml")).name == "lihmr_ros"


def test_missing_config_file_error_names_the_directory() -> None:
    with pytest.raises(FileNotFoundError, match="no_such_file.yaml"):
        paths.config_file("no_such_file.yaml")


def declared_console_scripts() -> list[str]:
    with open(REPO_ROOT / "pyproject.toml", "rb") as file:
        return sorted(tomllib.load(file)["project"]["scripts"])


def installed_executable(script: str) -> Path:
    """Where the install put ``script``: next to the interpreter (pip) or in lib/lihmr_ros (colcon)."""
    candidates = [Path(sys.executable).parent / script]
    try:
        from ament_index_python.packages import get_package_prefix

        candidates.append(Path(get_package_prefix("lihmr_ros")) / "lib" / "lihmr_ros" / script)
    except (LookupError, OSError):
        pass  # no ROS workspace sourced: the pip route
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise AssertionError(f"console script {script} not installed at any of {candidates}: reinstall")


@pytest.mark.parametrize("script", declared_console_scripts())
def test_declared_console_scripts_are_installed(script: str) -> None:
    assert installed_executable(script).stat().st_mode & 0o111, f"{script} is not executable"


def test_lihmr_help_runs_as_installed_console_script() -> None:
    result = subprocess.run([str(installed_executable("lihmr")), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage: lihmr" in result.stdout
