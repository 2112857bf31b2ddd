"""What every page shares: the CSS and the small plain-JavaScript filter and column sort, both inlined, and
the page shell. Pages read fully without JavaScript; the script only adds the filter box and sorting."""

from __future__ import annotations

from html import escape

# Fits 420 px: text wraps anywhere, wide tables scroll inside their own box, the SVG scales to the page width.
CSS = """*{box-sizing:border-box}html{-webkit-text-size-adjust:100%}
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1200px;margin:0 auto;padding:1em;
color:#222;line-height:1.4;overflow-wrap:anywhere}
h1{font-size:1.55em;margin:.2em 0}h2{font-size:1.2em;margin-top:1.6em}a{color:#0b57d0}
nav{font-size:.9em;color:#666}.asof,.muted{color:#666}.lead{font-size:1.1em}
.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #dde3ea;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#e8eef7;white-space:nowrap}th[data-sort]{cursor:pointer}th[data-sort]:after{content:" \\2195";color:#99a}
td.date{white-space:nowrap}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.leader td{font-weight:600}
figure{margin:0}td.name{min-width:12em}svg.chart{width:100%;height:auto;max-width:900px;display:block}svg.spark{display:block}
ul{padding-left:1.2em}.downloads a{margin-right:1em;white-space:nowrap}
#filter{width:100%;max-width:28em;font-size:1em;padding:.4em;margin:.5em 0}
footer{color:#666;margin-top:2em;font-size:.9em}
@media (max-width:640px){body{padding:.5em}table{font-size:.85em}th,td{padding:.25em .3em}.wide{display:none}}
@media print{nav,#filter,.downloads{display:none}a{color:#000;text-decoration:none}body{max-width:none}
.scroll{overflow:visible}th[data-sort]:after{content:""}}"""

# Plain JavaScript: a filter box (rows whose text lacks every word are hidden, empty groups too) and sortable
# columns (click a header: numbers by value, text alphabetically; click again to reverse).
JS = """(function(){
var box=document.getElementById('filter');
if(box){box.hidden=false;box.addEventListener('input',function(){
var words=box.value.toLowerCase().split(/\\s+/).filter(Boolean);
document.querySelectorAll('section.group').forEach(function(sec){var shown=0;
sec.querySelectorAll('tbody tr').forEach(function(tr){var t=tr.textContent.toLowerCase();
var ok=words.every(function(w){return t.indexOf(w)>=0});tr.hidden=!ok;if(ok)shown++;});
sec.hidden=shown===0;});
var n=document.querySelectorAll('tbody tr:not([hidden])').length;
document.getElementById('count').textContent=n+' shown';});}
document.querySelectorAll('th[data-sort]').forEach(function(th){th.addEventListener('click',function(){
var table=th.closest('table'),body=table.tBodies[0],i=Array.prototype.indexOf.call(th.parentNode.children,th);
var num=th.getAttribute('data-sort')==='num',dir=th.getAttribute('data-dir')==='asc'?-1:1;
th.setAttribute('data-dir',dir===1?'asc':'desc');
var rows=Array.prototype.slice.call(body.rows);
function key(tr){var c=tr.cells[i],v=c?(c.getAttribute('data-v')||c.textContent):'';
if(num){var f=parseFloat(v);return isNaN(f)?null:f}return v.toLowerCase()}
rows.sort(function(a,b){var x=key(a),y=key(b);if(x===y)return 0;if(x===null)return 1;if(y===null)return -1;
return (x<y?-1:1)*dir});rows.forEach(function(r){body.appendChild(r)});});});
})();"""


def page(title: str, body: str, *, root: str, feed: str | None = None, script: bool = False) -> str:
    """A whole HTML document: viewport tag, inline CSS, optional Atom link and script; `root` is the relative
    path to the site's top ('' or '../../')."""
    alt = f'<link rel="alternate" type="application/atom+xml" href="{escape(feed)}" title="Atom feed">' if feed else ""
    js = f"<script>{JS}</script>" if script else ""
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title>{alt}<style>{CSS}</style></head><body>\n"
            f'<nav><a href="{root}index.html">All boards</a></nav>\n{body}\n'
            f'<footer>Built by tracker from its store. Data: <a href="{root}api/boards.json">api/boards.json</a>, '
            f'<a href="{root}feed.xml">feed.xml</a>.</footer>{js}\n</body></html>\n')
