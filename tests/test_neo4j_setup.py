"""The Neo4j setup: docker-compose.yml for users, scripts/neo4j for developers and CI, and the server itself."""

from __future__ import annotations

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

try:
    from neo4j_env import DEFAULT_PASSWORD, DEFAULT_USERNAME, require_neo4j, skip_or_fail
except ImportError:  # tests/ imported as a package
    from tests.neo4j_env import DEFAULT_PASSWORD, DEFAULT_USERNAME, require_neo4j, skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "neo4j"
POM = ROOT / "scripts" / "neo4j-server" / "pom.xml"
PORTS = ("7474", "7687")


# ---------------------------------------------------------------- docker-compose.yml


@pytest.fixture(scope="module")
def neo4j_service() -> dict:
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "neo4j" in compose["services"], compose["services"].keys()
    service = compose["services"]["neo4j"]
    service["_volumes_top"] = compose.get("volumes") or {}
    return service


def test_compose_image_is_neo4j_526_community(neo4j_service: dict) -> None:
    assert re.fullmatch(r"neo4j:5\.26[0-9.]*-community", neo4j_service["image"]), neo4j_service["image"]


def test_compose_plugins_auth_and_procedures(neo4j_service: dict) -> None:
    env = neo4j_service["environment"]
    assert set(json.loads(env["NEO4J_PLUGINS"])) >= {"apoc", "graph-data-science"}
    assert env["NEO4J_AUTH"] == "${NEO4J_USERNAME:-neo4j}/${NEO4J_PASSWORD:-younger-graph}"
    assert {"apoc.*", "gds.*"} <= set(env["NEO4J_dbms_security_procedures_unrestricted"].split(","))


def test_compose_ports_are_loopback_only(neo4j_service: dict) -> None:
    ports = {str(p) for p in neo4j_service["ports"]}
    assert ports == {f"127.0.0.1:{p}:{p}" for p in PORTS}, ports


def test_compose_healthcheck_and_data_volume(neo4j_service: dict) -> None:
    check = neo4j_service["healthcheck"]
    assert check["test"] and "7474" in " ".join(check["test"])
    assert check.get("retries", 0) >= 1
    named = [v.split(":")[0] for v in neo4j_service["volumes"] if str(v).endswith(":/data")]
    assert named and named[0] in neo4j_service["_volumes_top"], neo4j_service["volumes"]


def test_docs_state_ports_and_defaults() -> None:
    text = (ROOT / "docs" / "neo4j.md").read_text()
    for needle in ("bolt://127.0.0.1:7687", "7474", "NEO4J_USERNAME", "NEO4J_PASSWORD", DEFAULT_PASSWORD,
                   "scripts/neo4j start", "docker compose up -d"):
        assert needle in text, needle


# ---------------------------------------------------------------- scripts/neo4j


def test_script_is_executable_bash_and_pins_526() -> None:
    assert os.access(SCRIPT, os.X_OK)
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    r = subprocess.run([str(SCRIPT), "help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "start" in r.stdout and "NEO4J_PASSWORD" in r.stdout
    r = subprocess.run([str(SCRIPT), "no-such-command"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    props = ET.parse(POM).getroot().find("m:properties", ns)
    assert props is not None
    assert re.fullmatch(r"5\.26\.\d+", props.findtext("m:neo4j.version", namespaces=ns) or "")
    assert re.fullmatch(r"5\.26\.\d+", props.findtext("m:apoc.version", namespaces=ns) or "")


def test_script_status_agrees_with_reality() -> None:
    """`status` exits 0 only when its server answers on Bolt with the configured credentials, else 3."""
    r = subprocess.run([str(SCRIPT), "status"], capture_output=True, text=True, timeout=60)
    assert r.returncode in (0, 3), (r.returncode, r.stdout, r.stderr)
    if r.returncode == 3:
        assert "not running" in r.stdout or "not answering" in r.stdout, r.stdout
        return
    try:
        import neo4j
    except ImportError:
        skip_or_fail("the neo4j driver is not installed (pip install -e '.[test]')")
    port = os.environ.get("NEO4J_BOLT_PORT", "7687")
    auth = (os.environ.get("NEO4J_USERNAME") or DEFAULT_USERNAME, os.environ.get("NEO4J_PASSWORD") or DEFAULT_PASSWORD)
    with neo4j.GraphDatabase.driver(f"bolt://127.0.0.1:{port}", auth=auth) as driver:
        records, _, _ = driver.execute_query("RETURN 1 AS one")
        assert records[0]["one"] == 1


# ---------------------------------------------------------------- the server named by NEO4J_URI


@pytest.mark.neo4j
def test_server_is_neo4j_526_community_with_apoc() -> None:
    uri, user, password = require_neo4j()
    try:
        import neo4j
    except ImportError:
        skip_or_fail("the neo4j driver is not installed (pip install -e '.[test]')")
    with neo4j.GraphDatabase.driver(uri, auth=(user, password)) as driver:
        records, _, _ = driver.execute_query("CALL dbms.components() YIELD name, versions, edition "
                                             "RETURN name, versions, edition")
        kernel = next(r for r in records if r["name"] == "Neo4j Kernel")
        assert kernel["versions"][0].startswith("5.26."), kernel["versions"]
        assert kernel["edition"] == "community"
        records, _, _ = driver.execute_query("RETURN apoc.version() AS v")
        assert records[0]["v"].startswith("5.26"), records[0]["v"]
        records, _, _ = driver.execute_query("CALL apoc.help('text') YIELD name RETURN count(*) AS n")
        assert records[0]["n"] > 0
        # Graph Data Science is optional (scripts/neo4j goes on without it); when present it must work
        records, _, _ = driver.execute_query("SHOW PROCEDURES YIELD name WHERE name = 'gds.version' RETURN name")
        if records:
            records, _, _ = driver.execute_query("CALL gds.version() YIELD gdsVersion RETURN gdsVersion")
            assert re.match(r"\d+\.\d+", records[0]["gdsVersion"])
