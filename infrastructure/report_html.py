"""The HTML report: one self-contained page (inline style, no script, nothing fetched), escaped by
Jinja2's autoescape, laid out to print. Rendered as a stream, so any number of decisions fits."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from jinja2 import Environment, select_autoescape

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Restore {{ identity.restore_id }}: report</title>
<style>
body { font: 13px/1.4 sans-serif; margin: 2em; color: #111; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 1.6em; border-bottom: 1px solid #888; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { border: 1px solid #bbb; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #eee; } td.n { text-align: right; } code { font-size: 12px; word-break: break-all; }
.bad { color: #a00; font-weight: bold; } .ok { color: #060; font-weight: bold; }
@media print { body { margin: 0; } h2 { page-break-after: avoid; } tr { page-break-inside: avoid; } }
</style></head><body>
<h1>Restore {{ identity.restore_id }}</h1>
<table>
<tr><th>status</th><td>{{ identity.status }}</td><th>generated</th><td>{{ header.generated_at }}</td></tr>
<tr><th>actor</th><td>{{ identity.actor }}</td><th>tool</th><td>{{ header.tool }}</td></tr>
<tr><th>reason</th><td>{{ identity.reason }}</td><th>ledger</th>
<td>{{ header.ledger.size }} events, root <code>{{ header.ledger.root }}</code></td></tr>
<tr><th>started</th><td>{{ identity.started_at }}</td><th>verification</th>
<td>{% if header.verified.ok %}<span class="ok">verified</span>, {{ header.verified.events }} events, no finding
{% else %}<span class="bad">{{ header.verified.findings|length }} findings</span>{% endif %}</td></tr>
</table>
<h2>Timeline</h2>
<table><tr><th>when</th><th>what</th><th>who</th><th>why</th><th>target</th></tr>
{% for e in timeline %}<tr><td>{{ e.at }}</td><td>{{ e.what }}</td>
<td>{{ e.actor }}{% if e.os_user %} (as {{ e.os_user }}@{{ e.host }}){% endif %}</td><td>{{ e.reason }}</td>
<td>{{ e.target or "" }}</td></tr>
{% endfor %}</table>
<h2>Source</h2>
<table><tr><th>file</th><td>{{ source.path }}</td></tr><tr><th>format</th><td>{{ source.format }}</td></tr>
<tr><th>sha256</th><td><code>{{ source.sha256 }}</code></td></tr><tr><th>size</th><td>{{ source.size }} bytes</td></tr>
<tr><th>manifest</th><td><code>{{ source.manifest|shown }}</code></td></tr></table>
<h2>Target</h2>
<table><tr><th>URL</th><td>{{ target.url }}</td></tr><tr><th>id</th><td>{{ target.id }}</td></tr>
<tr><th>backend</th><td>{{ target.dialect }}</td></tr></table>
<h2>Reconciliation per model</h2>
<table><tr><th>model</th><th>in backup</th><th>inserted</th><th>mapped</th><th>conflicts</th><th>skipped</th>
<th>updated</th><th>created</th><th>pks reassigned</th><th>uuids reassigned</th><th>adds up</th></tr>
{% for r in reconciliation %}<tr><td>{{ r.model }}</td><td class="n">{{ r.in_backup }}</td>
<td class="n">{{ r.inserted }}</td>
<td class="n">{{ r.mapped }}</td><td class="n">{{ r.conflicts }}</td><td class="n">{{ r.skipped }}</td>
<td class="n">{{ r.updated }}</td><td class="n">{{ r.created }}</td><td class="n">{{ r.pks_reassigned }}</td>
<td class="n">{{ r.uuids_reassigned }}</td><td>{{ "yes" if r.adds_up else "NO" }}</td></tr>
{% endfor %}</table>
<h2>Decisions (security-relevant first: users, roles, groups, permissions, updated rows)</h2>
<p>Secret columns ({{ secret_columns|join(", ") }}) are shown as a digest prefix, never in clear.</p>
<table><tr><th>version</th><th>kind</th><th>model</th><th>record</th><th>field</th><th>before</th><th>after</th>
<th>reason</th></tr>
{% for d in decisions %}<tr><td class="n">{{ d.event_version }}</td><td>{{ d.kind }}</td><td>{{ d.model }}</td>
<td>{{ d.record }}</td><td>{{ d.field }}</td><td><code>{{ d.before|shown }}</code></td>
<td><code>{{ d.after|shown }}</code></td><td>{{ d.reason }}</td></tr>
{% endfor %}</table>
<h2>Verify this report</h2>
<p>This report names the ledger's size and root when it was made; these commands re-verify it:</p>
{% for command in verify_with %}<pre>{{ command }}</pre>{% endfor %}
</body></html>
"""


def shown(value: Any) -> str:
    """A value as a reviewer reads it: JSON for structures, nothing for none."""
    if value is None:
        return ""
    return json.dumps(value, default=str, ensure_ascii=False) if isinstance(value, dict | list) else str(value)


def render_html(data: dict[str, Any], decisions: Iterable[dict[str, Any]]) -> Iterator[str]:
    environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    environment.filters["shown"] = shown
    return environment.from_string(TEMPLATE).generate(**data, decisions=decisions)
