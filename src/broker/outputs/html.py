"""``report.html``: the round as one self-contained page an authority can read.

One file, nothing fetched from the network: the styles and a few lines of script
are inline, and the map is the round's map drawn by :func:`broker.maps.draw_round`
as inline SVG. The page shows the summary (each figure tagged with its
``summary.json`` key in ``data-summary``), the map, and the tables (matched,
unmatched with reasons and fixes, alternates, supporters, authorities). Every
table sorts by a click on its header (numbers as numbers), and one menu filters
every table by local authority. Hovering over a school on the map shows who it
is and its match or reason (SVG ``<title>`` elements added by the inline script);
the wheel zooms the map, dragging pans it and a double click resets it.

Every value from the scenario is HTML-escaped, so a school named ``<script>`` is
shown as text.
"""

from __future__ import annotations

import html
import io
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from broker.pipeline import MatchingRound

TABLES: tuple[tuple[str, str, list[str]], ...] = (
    (
        "matched",
        "Matched",
        [
            "client_id",
            "client_name",
            "la_name",
            "priority",
            "status",
            "role",
            "supporter_name",
            "supporter_kind",
            "mode",
            "days_per_week",
            "cost_gbp",
            "distance_km",
        ],
    ),
    (
        "unmatched",
        "Unmatched: reasons and fixes",
        ["client_id", "client_name", "la_name", "priority", "reason_code", "reason", "fix_text"],
    ),
    (
        "alternates",
        "Alternates if a supporter declines",
        ["client_id", "client_name", "rank", "alternate_name", "distance_km", "cost_diff_gbp"],
    ),
    (
        "supporters",
        "Supporters",
        [
            "supporter_id",
            "name",
            "kind",
            "la_name",
            "capacity_days",
            "days_committed",
            "spare_days",
            "clients_served",
            "status",
        ],
    ),
    (
        "authorities",
        "Authorities",
        [
            "la_code",
            "la_name",
            "clients",
            "matched",
            "unmatched",
            "priority_matched",
            "cost_gbp",
            "budget_left_gbp",
        ],
    ),
)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;
background:#fafafa}
header{background:#1f4e79;color:#fff;padding:16px 24px}
header h1{margin:0;font-size:1.4em}header p{margin:4px 0 0;opacity:.85;font-size:.9em}
main{padding:16px 24px;max-width:1400px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 16px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:150px}
.card .v{font-size:1.5em;font-weight:600}.card .k{font-size:.8em;color:#555}
.map{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px;max-width:900px}
.map svg{width:100%;height:auto;cursor:grab}
.controls{margin:16px 0;position:sticky;top:0;background:#fafafa;padding:8px 0;z-index:2}
h2{margin-top:28px;font-size:1.15em}
table{border-collapse:collapse;background:#fff;font-size:.85em;width:100%}
th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eef3f8;cursor:pointer;user-select:none;position:relative;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.hidden{display:none}
.count{color:#555;font-size:.85em;margin-left:8px}
footer{color:#666;font-size:.75em;padding:16px 24px}
"""

SCRIPT = """
(function(){
  function key(td){
    var v=td.getAttribute('data-v');
    if(v!==null&&v!==''&&!isNaN(Number(v))){return [0,Number(v)];}
    return [1,td.textContent.trim().toLowerCase()];
  }
  function cmp(a,b){
    if(a[0]!==b[0]){return a[0]-b[0];}
    return a[1]<b[1]?-1:a[1]>b[1]?1:0;
  }
  document.querySelectorAll('table.sortable').forEach(function(table){
    var heads=table.querySelectorAll('thead th');
    heads.forEach(function(th,col){
      th.addEventListener('click',function(){
        var asc=th.getAttribute('aria-sort')!=='ascending';
        heads.forEach(function(h){h.removeAttribute('aria-sort');});
        th.setAttribute('aria-sort',asc?'ascending':'descending');
        var body=table.tBodies[0];
        var rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(r1,r2){
          var c=cmp(key(r1.cells[col]),key(r2.cells[col]));
          return asc?c:-c;
        });
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
  var filter=document.getElementById('la-filter');
  function apply(){
    var la=filter.value;
    document.querySelectorAll('table.sortable').forEach(function(table){
      var shown=0;
      Array.prototype.forEach.call(table.tBodies[0].rows,function(r){
        var hide=la!==''&&r.getAttribute('data-la')!==la;
        r.classList.toggle('hidden',hide);
        if(!hide){shown++;}
      });
      var count=document.getElementById(table.id+'-count');
      if(count){count.textContent=shown+' rows';}
    });
  }
  filter.addEventListener('change',apply);
  apply();
  var svg=document.querySelector('#map svg');
  if(svg&&svg.viewBox&&svg.viewBox.baseVal){
    var home=[svg.viewBox.baseVal.x,svg.viewBox.baseVal.y,svg.viewBox.baseVal.width,
              svg.viewBox.baseVal.height];
    var box=home.slice(),drag=null;
    function show(){svg.setAttribute('viewBox',box.join(' '));}
    function at(e){
      var r=svg.getBoundingClientRect();
      return [box[0]+(e.clientX-r.left)/r.width*box[2],box[1]+(e.clientY-r.top)/r.height*box[3]];
    }
    svg.addEventListener('wheel',function(e){
      e.preventDefault();
      var f=e.deltaY<0?0.8:1.25,c=at(e);
      box=[c[0]-(c[0]-box[0])*f,c[1]-(c[1]-box[1])*f,box[2]*f,box[3]*f];
      show();
    },{passive:false});
    svg.addEventListener('mousedown',function(e){drag=[e.clientX,e.clientY,box[0],box[1]];});
    window.addEventListener('mouseup',function(){drag=null;});
    svg.addEventListener('mousemove',function(e){
      if(!drag){return;}
      var r=svg.getBoundingClientRect();
      box[0]=drag[2]-(e.clientX-drag[0])/r.width*box[2];
      box[1]=drag[3]-(e.clientY-drag[1])/r.height*box[3];
      show();
    });
    svg.addEventListener('dblclick',function(){box=home.slice();show();});
  }
  var data=document.getElementById('map-labels');
  if(data){
    var labels=JSON.parse(data.textContent);
    Object.keys(labels).forEach(function(gid){
      var group=document.getElementById(gid);
      if(!group){return;}
      var marks=group.querySelectorAll('use');
      labels[gid].forEach(function(text,k){
        if(k<marks.length){
          var t=document.createElementNS('http://www.w3.org/2000/svg','title');
          t.textContent=text;
          marks[k].appendChild(t);
        }
      });
    });
  }
})();
"""

SUMMARY_CARDS: tuple[tuple[str, str, str], ...] = (
    ("matched", "schools matched", "{:,}"),
    ("unmatched", "schools unmatched", "{:,}"),
    ("clients", "schools needing support", "{:,}"),
    ("supporters", "supporters", "{:,}"),
    ("priority_matched", "priority matched", "{:,}"),
    ("priority_total", "priority in all", "{:,}"),
    ("need_days_matched", "days per week met", "{:g}"),
    ("total_cost_gbp", "total cost (£)", "{:,.2f}"),
    ("mean_distance_km", "mean distance (km)", "{:.1f}"),
    ("solver_status", "solver status", "{}"),
)


def _esc(v: object) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _is_missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _cell(v: object) -> str:
    if _is_missing(v):
        return "<td></td>"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        shown = f"{v:,.2f}" if isinstance(v, float) and v != int(v) else f"{v:,.0f}"
        return f'<td class="n" data-v="{v!r}">{shown}</td>'
    return f"<td>{_esc(v)}</td>"


def _table(key: str, title: str, frame: pd.DataFrame, columns: list[str]) -> str:
    cols = [c for c in columns if c in frame.columns]
    head = "".join(f"<th>{_esc(c.replace('_', ' '))}</th>" for c in cols)
    rows = []
    for rec in frame.to_dict("records"):
        la = rec.get("la_name", "")
        cells = "".join(_cell(rec[c]) for c in cols)
        rows.append(f'<tr data-la="{_esc(la)}">{cells}</tr>')
    return (
        f'<h2 id="{key}">{_esc(title)}<span class="count" id="t-{key}-count"></span></h2>\n'
        f'<table class="sortable" id="t-{key}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>\n"
    )


def map_svg(rnd: MatchingRound, point_labels: dict[str, list[str]] | None = None) -> str:
    """The round's map as an inline ``<svg>`` element (no XML prolog).

    ``point_labels`` is filled as :func:`broker.maps.draw_round` fills it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from broker.maps import draw_round, map_extent

    x0, x1, y0, y1 = map_extent(rnd)
    width = 8.0
    height = min(11.0, max(4.0, width * (y1 - y0) / max(x1 - x0, 1.0)))
    fig, ax = plt.subplots(figsize=(width, height))
    try:
        draw_round(rnd, ax, point_labels=point_labels)
        fig.tight_layout()
        buf = io.StringIO()
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "broker"}):
            fig.savefig(buf, format="svg", metadata={"Date": None})
    finally:
        plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def write_html(
    path: str | Path,
    rnd: MatchingRound,
    *,
    summary: dict[str, Any],
    assignments: pd.DataFrame,
    supporters: pd.DataFrame,
    authorities: pd.DataFrame,
    fixes: pd.DataFrame | None = None,
    alternates: pd.DataFrame | None = None,
    draw_map: bool = True,
) -> Path:
    """Write ``report.html`` to ``path`` (see the module docstring) and return it."""
    from broker.outputs.workbook import unmatched_table

    cards = []
    for key, label, fmt in SUMMARY_CARDS:
        v = summary.get(key)
        shown = "n/a" if v is None else fmt.format(v)
        cards.append(
            f'<div class="card"><div class="v" data-summary="{key}" data-v="{_esc(v)}">'
            f'{_esc(shown)}</div><div class="k">{_esc(label)}</div></div>'
        )
    reasons = summary.get("unmatched_reasons") or {}
    reason_text = ", ".join(f"{_esc(k)}: {v}" for k, v in reasons.items()) or "none"
    la_names = sorted({str(x) for x in assignments["la_name"] if str(x)})
    options = "".join(f'<option value="{_esc(n)}">{_esc(n)}</option>' for n in la_names)
    frames: dict[str, pd.DataFrame] = {
        "matched": assignments[assignments["status"] != "unmatched"],
        "unmatched": unmatched_table(assignments, fixes),
        "alternates": _with_la(alternates, assignments),
        "supporters": supporters,
        "authorities": authorities,
    }
    sections = "".join(
        _table(key, title, frames[key], cols)
        for key, title, cols in TABLES
        if key != "alternates" or alternates is not None
    )
    labels: dict[str, list[str]] = {}
    figure = ""
    if draw_map:
        svg = map_svg(rnd, labels)
        data = json.dumps(labels).replace("</", "<\\/")  # never ends the script element
        figure = (
            f'<h2>Map</h2><div class="map" id="map">{svg}</div>'
            f'<script type="application/json" id="map-labels">{data}</script>'
        )
    title = f"broker: {summary.get('scenario', '')}"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)}</title><style>{CSS}</style></head>
<body><header><h1>{_esc(summary.get("scenario", ""))}</h1>
<p>broker {_esc(summary.get("broker_version", ""))}, run {_esc(summary.get("run_id", ""))} started
{_esc(summary.get("started_at", ""))}; solver {_esc(summary.get("solver", ""))}, seed
{_esc(summary.get("seed", ""))}; independent check:
{"passed" if (summary.get("checked") or {}).get("ok") else "FAILED"}</p></header>
<main><div class="cards" id="summary">{"".join(cards)}</div>
<p>Unmatched by reason: <span id="reasons">{reason_text}</span></p>
{figure}
<div class="controls"><label for="la-filter">Local authority: </label>
<select id="la-filter"><option value="">All authorities</option>{options}</select></div>
{sections}</main>
<footer>Written by broker from the files beside it (assignments.csv, summary.json, fixes.csv,
alternates.csv, supporters.csv, authorities.csv). Boundaries: Office for National Statistics,
Open Government Licence v3.0; contains OS data &copy; Crown copyright and database right.</footer>
<script>{SCRIPT}</script></body></html>
"""
    out = Path(path)
    out.write_text(page, encoding="utf-8")
    return out


def _with_la(frame: pd.DataFrame | None, assignments: pd.DataFrame) -> pd.DataFrame:
    if frame is None or frame.empty:
        return pd.DataFrame(columns=["client_id", "la_name"])
    la = assignments.drop_duplicates("client_id").set_index("client_id")["la_name"]
    out = frame.copy()
    out["la_name"] = la.reindex(out["client_id"]).fillna("").to_numpy()
    return out
