"""App boundaries (DESIGN section 2, issue 11): the kernel and the CRM app depend on no
analytics app, and the manager analytics read the agent analytics through agents.facade."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("core", "crm", "agents", "insights", "pricing", "reports")


def imports_of(app: str) -> dict[str, set[str]]:
    """{module path: every module it imports (absolute names)}, migrations excluded."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / app).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


def offending(app: str, rule) -> list[str]:
    return sorted(
        f"{module}: {name}" for module, names in imports_of(app).items() for name in names if rule(name)
    )


def top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("app", ["core", "crm"])
def test_kernel_and_crm_import_no_analytics_app(app):
    assert offending(app, lambda name: top(name) in {"agents", "insights", "pricing", "reports"}) == []


def test_core_imports_only_crm_among_the_apps():
    # Organizations live in crm; the kernel may scope by them and hear ingestion events.
    assert offending("core", lambda name: top(name) in set(APPS) - {"core", "crm"}) == []


def test_insights_reads_agents_through_the_facade_only():
    def internal(name: str) -> bool:
        return top(name) == "agents" and not (name == "agents" or name.startswith("agents.facade"))

    # `from agents import facade` names the module "agents" with alias "facade": allowed.
    assert [o for o in offending("insights", internal) if not o.endswith(": agents.facade")] == []


def test_the_boundary_check_sees_a_violation(tmp_path, monkeypatch):
    """A check that cannot fail is no check: a module importing agents internals is caught."""
    fake = tmp_path / "insights"
    fake.mkdir()
    (fake / "leak.py").write_text("from agents.selectors import handled_in\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert offending("insights", lambda name: name.startswith("agents.selectors")) == [
        "insights/leak.py: agents.selectors",
        "insights/leak.py: agents.selectors.handled_in",
    ]
