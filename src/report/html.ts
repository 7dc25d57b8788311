/**
 * The HTML size report: one self-contained page (inline CSS, script and data; it fetches
 * nothing, so it renders offline and can be attached to a CI run). It shows the layer's
 * unzipped size against Lambda's 250 MiB limit as a budget bar, a zoomable treemap by
 * package → folder → file with hover details, and the tables of the text report.
 */
import { SLIM_REASONS } from "../slim/index.js";
import { count, formatBytes, formatPercent } from "../strings.js";
import { squarify } from "./treemap.js";
import type { LayerReport, ReportFile } from "./types.js";

/** A treemap node as serialized into the page: `[name, bytes, children?]`. */
type SerializedNode = [string, number, SerializedNode[]?];

/** Bytes as KiB/MiB/GiB (the same function runs in the page, embedded from its source). */
export const formatSize = formatBytes;

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** The tree of the treemap: layer → packages → folders → files (paths relative to the site folder). */
export function treemapData(report: LayerReport): SerializedNode {
  const byPackage = new Map<string, ReportFile[]>();
  for (const file of report.files) {
    const list = byPackage.get(file.package) ?? [];
    list.push(file);
    byPackage.set(file.package, list);
  }
  const packageNodes: SerializedNode[] = report.packages.map((usage) => {
    const root: SerializedNode = [
      usage.version === undefined ? usage.name : `${usage.name} ${usage.version}`,
      0,
      [],
    ];
    const folders = new Map<string, SerializedNode>([["", root]]);
    for (const file of byPackage.get(usage.name) ?? []) {
      const relative =
        usage.siteDir !== undefined && file.path.startsWith(`${usage.siteDir}/`)
          ? file.path.slice(usage.siteDir.length + 1)
          : file.path;
      const segments = relative.split("/");
      let parent = root;
      let path = "";
      for (const segment of segments.slice(0, -1)) {
        path = path === "" ? segment : `${path}/${segment}`;
        let folder = folders.get(path);
        if (folder === undefined) {
          folder = [segment, 0, []];
          folders.set(path, folder);
          parent[2]!.push(folder);
        }
        parent = folder;
      }
      parent[2]!.push([segments[segments.length - 1]!, file.size]);
    }
    sumSizes(root);
    return root;
  });
  return [posixBasename(report.path), report.unzippedSize, packageNodes];
}

function sumSizes(node: SerializedNode): number {
  const children = node[2];
  if (children === undefined) return node[1];
  node[1] = children.reduce((total, child) => total + sumSizes(child), 0);
  children.sort((left, right) => right[1] - left[1] || (left[0] < right[0] ? -1 : 1));
  return node[1];
}

function posixBasename(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** The complete page for `report`. */
export function renderReportHtml(report: LayerReport): string {
  const title = `Layer size report — ${posixBasename(report.path)}`;
  const data = {
    name: posixBasename(report.path),
    limit: report.limit,
    unzippedSize: report.unzippedSize,
    tree: treemapData(report),
  };
  // `<` escaped so that no file name can close the script element.
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  const over = report.unzippedSize > report.limit;
  const slimRows = report.slim.byReason
    .map(
      (row) =>
        `<tr><td>${escapeHtml(SLIM_REASONS[row.reason])}</td><td class="num">${row.files}</td><td class="num">${formatSize(row.bytes)}</td></tr>`,
    )
    .join("");
  const packageRows = report.packages
    .map(
      (usage) =>
        `<tr><td>${escapeHtml(usage.name)}</td><td>${escapeHtml(usage.version ?? "")}</td><td class="num">${formatSize(usage.size)}</td><td class="num">${formatPercent(usage.size, report.unzippedSize)}</td><td class="num">${formatPercent(usage.size, report.limit)}</td><td class="num">${usage.files}</td></tr>`,
    )
    .join("");
  const fileRows = report.biggestFiles
    .map(
      (file) =>
        `<tr><td class="path">${escapeHtml(file.path)}</td><td>${escapeHtml(file.package)}</td><td class="num">${formatSize(file.size)}</td></tr>`,
    )
    .join("");
  const targets = report.manifest
    ? `${report.manifest.runtimes.join(", ")} · ${report.manifest.architectures.join(", ")} · layout ${report.manifest.layout}`
    : "";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>${escapeHtml(title)}</h1>
  <p class="meta">${escapeHtml(targets)}</p>
  <div class="cards">
    <div class="card${over ? " over" : ""}"><span class="label">Unzipped</span><span class="value">${formatSize(report.unzippedSize)}</span><span class="sub">${formatPercent(report.unzippedSize, report.limit)} of the 250 MiB limit</span></div>
    <div class="card"><span class="label">Zipped</span><span class="value">${formatSize(report.zipSize)}</span><span class="sub">${report.zipSize > 50 * 1024 * 1024 ? "over 50 MiB: upload through S3" : "direct upload possible (≤ 50 MiB)"}</span></div>
    <div class="card"><span class="label">Packages</span><span class="value">${report.packages.length}</span><span class="sub">${count(report.fileCount, "file")}</span></div>
    <div class="card"><span class="label">--slim would save</span><span class="value">${formatSize(report.slim.bytes)}</span><span class="sub">${count(report.slim.files, "file")}</span></div>
  </div>
</header>
<section>
  <h2>Budget</h2>
  <div id="budget" class="budget" aria-label="unzipped size against the 250 MiB limit"></div>
  <p class="note">The limit counts the function code and all its layers together, unzipped.</p>
</section>
<section>
  <h2>Treemap</h2>
  <nav id="crumbs" class="crumbs"></nav>
  <div id="treemap" class="treemap" role="img" aria-label="treemap of the layer by package, folder and file"></div>
  <p class="note">Hover for details; click a package or folder to zoom in.</p>
</section>
<section class="tables">
  <div><h2>Packages</h2><table><thead><tr><th>Package</th><th>Version</th><th>Unzipped</th><th>Of layer</th><th>Of limit</th><th>Files</th></tr></thead><tbody>${packageRows}</tbody></table></div>
  <div><h2>Biggest files</h2><table><thead><tr><th>File</th><th>Package</th><th>Unzipped</th></tr></thead><tbody>${fileRows}</tbody></table>
  <h2>What --slim would remove</h2><table><thead><tr><th>Kind</th><th>Files</th><th>Unzipped</th></tr></thead><tbody>${slimRows || '<tr><td colspan="3">nothing</td></tr>'}</tbody></table></div>
</section>
<div id="tooltip" class="tooltip" hidden></div>
<script type="application/json" id="report-data">${json}</script>
<script>
"use strict";
const squarify = ${squarify.toString()};
const formatSize = ${formatBytes.toString()};
${PAGE_SCRIPT}
</script>
</body>
</html>
`;
}

const STYLE = `
:root { color-scheme: light; --fg: #1d232b; --muted: #5b6673; --line: #d9dee4; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header, section { padding: 12px 24px; }
h1 { font-size: 20px; margin: 8px 0 2px; }
h2 { font-size: 15px; margin: 12px 0 8px; }
.meta, .note { color: var(--muted); margin: 4px 0; font-size: 12px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin-top: 10px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 170px; display: flex; flex-direction: column; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 22px; font-weight: 600; }
.card .sub { color: var(--muted); font-size: 12px; }
.card.over { border-color: #c62828; }
.card.over .value { color: #c62828; }
.budget { position: relative; height: 30px; margin-bottom: 24px; background: #fff; border: 1px solid var(--line); border-radius: 4px; overflow: visible; }
.budget .segment { position: absolute; top: 0; bottom: 0; border-right: 1px solid rgba(255,255,255,.7); }
.budget .limit { position: absolute; top: -6px; bottom: -6px; width: 2px; background: #c62828; }
.budget .limit span { position: absolute; top: -18px; right: 4px; white-space: nowrap; font-size: 11px; color: #c62828; }
.budget .total { position: absolute; top: 34px; font-size: 11px; color: var(--muted); white-space: nowrap; }
.crumbs { font-size: 13px; margin-bottom: 6px; min-height: 18px; }
.crumbs a { color: #1565c0; cursor: pointer; text-decoration: none; }
.crumbs a:hover { text-decoration: underline; }
.treemap { position: relative; height: 62vh; min-height: 360px; background: #fff; border: 1px solid var(--line); overflow: hidden; }
.node { position: absolute; overflow: hidden; border: 1px solid rgba(255,255,255,.85); }
.node.package, .node.folder { cursor: zoom-in; }
.node .name { position: absolute; left: 3px; top: 1px; right: 3px; font-size: 11px; line-height: 14px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; pointer-events: none; color: #111; }
.node.package > .name { font-weight: 600; font-size: 12px; }
.tooltip { position: fixed; z-index: 10; max-width: 460px; background: rgba(20,24,30,.94); color: #fff; border-radius: 4px; padding: 6px 9px; font-size: 12px; pointer-events: none; word-break: break-all; }
.tooltip b { color: #ffd54f; }
.tables { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 24px; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); font-size: 12px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); }
th { background: #eef1f4; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.path { word-break: break-all; }
`;

/** The page's behaviour, plain browser JavaScript; `squarify`, `formatSize` and the data come before it. */
const PAGE_SCRIPT = `
const data = JSON.parse(document.getElementById("report-data").textContent);
const HEADER = 16;
const PADDING = 2;
const MAX_NODES = 5000;
const nodes = [];

function buildNode(serialized, parent, depth, hue) {
  const node = { name: serialized[0], size: serialized[1], parent, depth, hue, children: null, files: 1, id: nodes.length };
  nodes.push(node);
  if (serialized[2]) {
    node.children = serialized[2].map((child, index) =>
      buildNode(child, node, depth + 1, depth === 0 ? (index * 137.508) % 360 : hue));
    node.files = node.children.reduce((total, child) => total + child.files, 0);
  }
  return node;
}
const root = buildNode(data.tree, null, 0, 0);
let current = root;

function kindOf(node) {
  if (node.depth === 1) return "package";
  return node.children ? "folder" : "file";
}
function pathOf(node) {
  const names = [];
  for (let cursor = node; cursor && cursor.depth > 0; cursor = cursor.parent) names.unshift(cursor.name);
  return names;
}
function colorOf(node, relativeDepth) {
  const lightness = Math.min(88, 52 + relativeDepth * 9 + (node.children ? 0 : 6));
  return "hsl(" + node.hue.toFixed(1) + ", 55%, " + lightness + "%)";
}

const map = document.getElementById("treemap");
let drawn = 0;
function draw(node, x, y, width, height, relativeDepth, force) {
  if (!force && (width < 3 || height < 3 || drawn >= MAX_NODES)) return;
  drawn++;
  const element = document.createElement("div");
  element.className = "node " + kindOf(node);
  element.dataset.id = String(node.id);
  element.dataset.kind = kindOf(node);
  element.dataset.name = node.name;
  element.style.left = x + "px";
  element.style.top = y + "px";
  element.style.width = Math.max(0, width) + "px";
  element.style.height = Math.max(0, height) + "px";
  element.style.background = colorOf(node, relativeDepth);
  map.appendChild(element);
  const labelled = node.children && width > 30 && height > HEADER + 6;
  if (labelled || (!node.children && width > 40 && height > 14)) {
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = node.name + (labelled ? "  " + formatSize(node.size) : "");
    element.appendChild(label);
  }
  if (!node.children || !labelled) return;
  layoutChildren(node, x + PADDING, y + HEADER, width - 2 * PADDING, height - HEADER - PADDING, relativeDepth + 1);
}
function layoutChildren(node, x, y, width, height, relativeDepth) {
  if (width <= 0 || height <= 0) return;
  const rects = squarify(node.children.map((child) => child.size), x, y, width, height);
  node.children.forEach((child, index) => {
    const rect = rects[index];
    draw(child, rect.x, rect.y, rect.width, rect.height, relativeDepth, child.depth === 1);
  });
}
function render() {
  map.textContent = "";
  drawn = 0;
  const width = map.clientWidth;
  const height = map.clientHeight;
  if (current.children) layoutChildren(current, 0, 0, width, height, 0);
  renderCrumbs();
}
function renderCrumbs() {
  const crumbs = document.getElementById("crumbs");
  crumbs.textContent = "";
  const chain = [];
  for (let cursor = current; cursor; cursor = cursor.parent) chain.unshift(cursor);
  chain.forEach((node, index) => {
    if (index > 0) crumbs.appendChild(document.createTextNode(" › "));
    const link = document.createElement("a");
    link.textContent = node.name + " (" + formatSize(node.size) + ")";
    link.addEventListener("click", () => { current = node; render(); });
    crumbs.appendChild(link);
  });
}

const tooltip = document.getElementById("tooltip");
function showTooltip(node, event) {
  const lines = [];
  const path = pathOf(node);
  lines.push("<b>" + escapeText(path.join(" / ")) + "</b>");
  lines.push(kindOf(node) + " · " + formatSize(node.size) + (node.children ? " · " + node.files + " files" : ""));
  lines.push(percent(node.size, data.unzippedSize) + " of the layer · " + percent(node.size, data.limit) + " of the 250 MiB limit");
  tooltip.innerHTML = lines.join("<br>");
  tooltip.hidden = false;
  const x = Math.min(event.clientX + 14, window.innerWidth - tooltip.offsetWidth - 8);
  const y = Math.min(event.clientY + 14, window.innerHeight - tooltip.offsetHeight - 8);
  tooltip.style.left = Math.max(4, x) + "px";
  tooltip.style.top = Math.max(4, y) + "px";
}
// The rounding and format of strings.ts formatPercent, which the commands print.
function percent(part, whole) {
  return (Math.round((part / Math.max(1, whole)) * 1000) / 10).toFixed(1) + "%";
}
function escapeText(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
function nodeFromEvent(event) {
  const element = event.target.closest ? event.target.closest("[data-id]") : null;
  return element ? nodes[Number(element.dataset.id)] : undefined;
}
for (const area of [map, document.getElementById("budget")]) {
  area.addEventListener("mousemove", (event) => {
    const node = nodeFromEvent(event);
    if (node) showTooltip(node, event); else tooltip.hidden = true;
  });
  area.addEventListener("mouseleave", () => { tooltip.hidden = true; });
}
map.addEventListener("click", (event) => {
  let node = nodeFromEvent(event);
  while (node && !node.children) node = node.parent;
  if (node && node !== current) { current = node; render(); }
});

function renderBudget() {
  const budget = document.getElementById("budget");
  const scale = Math.max(data.limit, data.unzippedSize) * 1.02;
  let offset = 0;
  for (const node of root.children) {
    const segment = document.createElement("div");
    segment.className = "segment";
    segment.dataset.id = String(node.id);
    segment.style.left = (offset / scale) * 100 + "%";
    segment.style.width = (node.size / scale) * 100 + "%";
    segment.style.background = colorOf(node, 0);
    budget.appendChild(segment);
    offset += node.size;
  }
  const limit = document.createElement("div");
  limit.className = "limit";
  limit.style.left = (data.limit / scale) * 100 + "%";
  const limitLabel = document.createElement("span");
  limitLabel.textContent = "250 MiB limit";
  limit.appendChild(limitLabel);
  budget.appendChild(limit);
  const total = document.createElement("div");
  total.className = "total";
  total.style.left = Math.min(85, (data.unzippedSize / scale) * 100) + "%";
  total.textContent = formatSize(data.unzippedSize) + " (" + percent(data.unzippedSize, data.limit) + " of the limit)";
  budget.appendChild(total);
}

renderBudget();
render();
let resizeTimer;
window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(render, 100); });
document.body.dataset.ready = "true";
`;
