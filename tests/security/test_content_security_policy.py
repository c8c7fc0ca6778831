"""The Content-Security-Policy (docs/security.md): the header on pages, the API documentation
page without inline script, and a scan of every template of ours for what the policy refuses
(inline <script>, on*= handlers, javascript: URLs, hx-on, inline CSS).

The browser test tests/e2e/test_csp.py is the end-to-end check: it fails on any violation the
browser logs. This scan fails earlier, and names the file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import engines
from django.template.utils import get_app_template_dirs

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "font-src": {"'self'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
    "base-uri": {"'self'"},
    "object-src": {"'none'"},
}

# Rendered into e-mails and PDFs (WeasyPrint), never served to a browser under the policy:
# mail clients drop <link> stylesheets, so e-mail bodies carry their CSS inline.
NOT_PAGES = ("pricing/templates/pricing/email/", "reports/templates/reports/pdf/")

TAG = re.compile(r"<[a-zA-Z][^<>]*>")
SCRIPT = re.compile(r"<script\b([^<>]*)>", re.IGNORECASE)
DATA_BLOCK = re.compile(r"""type=["']application/(ld\+)?json["']""", re.IGNORECASE)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
HX_ON = re.compile(r"\shx-on(:|-|\s*=)", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
TEMPLATE_COMMENT = re.compile(r"{#.*?#}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.DOTALL)


def directives(header: str) -> dict[str, set[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *sources = part.split()
        parsed[name] = set(sources)
    return parsed


def our_templates() -> list[Path]:
    """Every template file the project serves from its own folders: the engines' DIRS
    (templates/) and each installed app's templates/ (django-template-partials replaces
    APP_DIRS by its own loader, so the app folders are asked for directly)."""
    base = Path(settings.BASE_DIR).resolve()
    candidates = [
        *(folder for engine in engines.all() for folder in engine.dirs),
        *get_app_template_dirs("templates"),
    ]
    folders = {
        Path(folder).resolve()
        for folder in candidates
        if Path(folder).resolve().is_relative_to(base)
        and not Path(folder).resolve().is_relative_to(base / ".venv")
    }
    return sorted(path for folder in folders for path in folder.rglob("*.html"))


def problems_in(path: Path) -> list[str]:
    relative = path.resolve().relative_to(Path(settings.BASE_DIR).resolve()).as_posix()
    # Template comments are never sent; blank them out keeping the line numbers.
    text = TEMPLATE_COMMENT.sub(lambda match: "\n" * match.group(0).count("\n"), path.read_text())
    found = []

    def at(offset: int, what: str) -> None:
        found.append(f"{relative}:{text.count(chr(10), 0, offset) + 1}: {what}")

    for match in SCRIPT.finditer(text):
        attributes = match.group(1)
        if "src=" not in attributes and not DATA_BLOCK.search(attributes):
            at(match.start(), "inline <script> (move it to a file under static/js/)")
    for match in re.finditer(r"javascript:", text, re.IGNORECASE):
        at(match.start(), "javascript: URL")
    for match in TAG.finditer(text):
        tag = match.group(0)
        if HANDLER.search(tag):
            at(match.start(), f"event handler attribute in {tag[:60]!r}")
        if HX_ON.search(tag):
            at(match.start(), f"hx-on attribute (evaluated code) in {tag[:60]!r}")
        if STYLE_ATTRIBUTE.search(tag) and not relative.startswith(NOT_PAGES):
            at(match.start(), f"style= attribute in {tag[:60]!r}")
    if not relative.startswith(NOT_PAGES):
        for match in STYLE_ELEMENT.finditer(text):
            at(match.start(), "inline <style> (move it to a file under static/css/)")
    return found


def test_a_page_is_served_with_the_policy(client):
    # when the sign-in page is read (no session needed)
    response = client.get("/accounts/login/")

    # then every directive is the documented one, with no 'unsafe-inline' or 'unsafe-eval'
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert {name: policy[name] for name in POLICY} == POLICY
    assert "'self'" in policy["connect-src"]
    assert all(source.startswith(("'self'", "ws://", "wss://")) for source in policy["connect-src"])
    assert not any("unsafe" in source for sources in policy.values() for source in sources)


def test_a_signed_in_page_is_served_with_the_policy(client, manager_a):
    client.force_login(manager_a)

    response = client.get("/")

    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"])["script-src"] == {"'self'"}


def test_the_api_docs_page_loads_its_init_script_as_a_file(client):
    # given the Swagger UI page
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert directives(page["Content-Security-Policy"])["script-src"] == {"'self'"}

    # then every script on it has a src, one of them the init script at ?script
    scripts = SCRIPT.findall(html)
    assert scripts
    assert all("src=" in attributes for attributes in scripts)
    assert 'src="/api/docs/?script="' in html
    assert STYLE_ELEMENT.search(html) is None

    # and that address answers JavaScript
    init = client.get("/api/docs/?script=")
    assert init.status_code == 200
    assert init["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in init.content


def test_there_is_no_redoc_page(client):
    # ReDoc needs inline styles, blob: workers and an image from its vendor's CDN (docs/security.md)
    assert client.get("/api/redoc/").status_code == 404


def test_the_template_scan_finds_every_kind_of_problem(tmp_path, settings):
    # given a template with each thing the policy refuses (the scan is itself tested)
    settings.BASE_DIR = tmp_path
    template = tmp_path / "bad.html"
    template.write_text(
        "<script>alert(1)</script>\n"
        '<script type="application/json" id="data">{}</script>\n'
        '<script src="/static/js/app.js"></script>\n'
        '<button onclick="go()">Go</button>\n'
        '<a href="javascript:void(0)">x</a>\n'
        '<div hx-on:click="go()"></div>\n'
        '<div style="width: 5%"></div>\n'
        "<style>p { color: red }</style>\n"
        "{# <script>not sent</script> #}\n"
    )

    found = problems_in(template)

    assert [line.split(": ", 1)[0] for line in found] == [
        "bad.html:1",  # inline script
        "bad.html:5",  # javascript: URL
        "bad.html:4",  # onclick=
        "bad.html:6",  # hx-on
        "bad.html:7",  # style=
        "bad.html:8",  # <style>
    ]


def test_no_template_has_what_the_policy_refuses():
    templates = our_templates()
    # templates/ and the apps' folders are all found (base.html, an app page, the admin override)
    names = {path.resolve().relative_to(Path(settings.BASE_DIR).resolve()).as_posix() for path in templates}
    assert {
        "templates/base.html",
        "insights/templates/insights/dashboard.html",
        "pricing/templates/admin/pricing/pricingsuggestion/review.html",
    } <= names

    problems = [problem for path in templates for problem in problems_in(path)]

    assert problems == []
