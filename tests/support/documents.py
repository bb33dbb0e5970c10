"""What a served HTML document must carry so that a reader's browser keeps it inert."""

import base64
import hashlib
import re

import httpx


def assert_inert(document: httpx.Response) -> None:
    """text/html with nosniff, and a CSP that allows the page's own <style> elements (by hash) and nothing else."""
    assert document.status_code == 200 and document.headers["content-type"].startswith("text/html")
    assert document.headers["x-content-type-options"] == "nosniff"
    policy = dict(
        (directive.split(" ", 1) + [""])[:2] for directive in document.headers["content-security-policy"].split("; ")
    )
    assert policy["default-src"] == "'none'" and "script-src" not in policy  # so no script at all
    assert policy["base-uri"] == policy["form-action"] == policy["frame-ancestors"] == "'none'"
    styles = re.findall(r"<style[^>]*>(.*?)</style>", document.text, re.DOTALL)
    assert styles, "the documents are styled: a policy that blocked their style would print them bare"
    allowed = set(policy["style-src"].split())
    assert "'unsafe-inline'" not in allowed
    for style in styles:
        assert "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'" in allowed
    assert "style=" not in document.text  # a style attribute would need 'unsafe-hashes': the page shows it bare
