/* The dashboard: reads the form (state.js), asks the /v1 API, draws the cards.
 *
 * One refresh asks every card's route with the queries of closedloopState.queries(state);
 * tables are closedloopTable's (sortable, TOTAL row from the API's totals, top 10 and "show
 * all", "Download CSV" = the same route and query with format=csv); numbers are printed by
 * closedloopFormat; charts are Vega-Lite (specs.js and the report's templates).
 * The early / middle / late card draws /v1/paths' touch_positions and, for shapley_ordered,
 * the attribution answer's positions (position × key).
 * The response-curve card lives in budget.js and uses $, esc, authFetch, chart and fmt from here.
 */
"use strict";
const fmt = closedloopFormat;
const S = closedloopState;
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
let currency = "USD";
const money = (v) => fmt.money(v, currency);
const PAGE = 1000;  // the API's largest page: tables and their CSV ask for this many rows

// A server that needs a key for reads (not on 127.0.0.1 by default) gets it from the
// "API key" field; it is kept for this tab only (sessionStorage) and sent as X-API-Key.
const KEY_ITEM = "closedloop-api-key";
// A computation past the server's time limit is answered 503 "Still computing" with
// Retry-After while it goes on in the background; the retry gets its answer (README,
// "Limits"). So is a busy server. Every request here only reads or computes, so it is
// asked again after Retry-After seconds, up to MAX_RETRIES times, saying so in the status line.
const MAX_RETRIES = 20;
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
async function authFetch(url, options) {
  const opts = Object.assign({}, options);
  const key = sessionStorage.getItem(KEY_ITEM);
  if (key) opts.headers = Object.assign({}, opts.headers, { "X-API-Key": key });
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(url, opts);
    const wait = Number(r.headers.get("Retry-After"));
    if (r.status !== 503 || !(wait > 0) || attempt >= MAX_RETRIES) return r;
    const status = $("status");
    if (status) status.textContent = `still computing: asking again in ${Math.min(wait, 60)} s…`;
    await sleep(Math.min(wait, 60) * 1000);
  }
}
async function get(path, query) {
  const r = await authFetch(S.url(path, query), { headers: { Accept: "application/json" } });
  const body = await r.json();
  if (!r.ok) throw new Error(body.detail || r.statusText);
  return body;
}
async function getAll(path, query) {
  let body = await get(path, Object.assign({ limit: PAGE }, query));
  const rows = body.data.slice();
  while (body.next_cursor) {
    body = await get(path, Object.assign({ limit: PAGE, cursor: body.next_cursor }, query));
    rows.push(...body.data);
  }
  body.data = rows;
  return body;
}
const csvURL = (path, query, paged) => S.url(path, Object.assign({}, query, paged ? { limit: PAGE } : {}, { format: "csv" }));
// A table without an API route of its own (the buckets): its rows shown, as CSV, in a data: URL.
function csvData(columns, rows) {
  const quote = (v) => (v === null || v === undefined ? "" : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const lines = [columns.map((c) => quote(c.key))].concat(rows.map((r) => columns.map((c) => quote(r[c.key]))));
  return "data:text/csv;charset=utf-8," + encodeURIComponent(lines.map((l) => l.join(",")).join("\r\n") + "\r\n");
}
// With a key, a CSV link is fetched with it and saved from a blob (a plain link sends no header).
document.addEventListener("click", async (event) => {
  const link = event.target.closest("a.csv");
  if (!link || !sessionStorage.getItem(KEY_ITEM) || link.href.startsWith("data:")) return;
  event.preventDefault();
  const r = await authFetch(link.href);
  const name = ((r.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/) || [])[1] || "closedloop.csv";
  const save = Object.assign(document.createElement("a"), { href: URL.createObjectURL(await r.blob()), download: name });
  save.click();
  setTimeout(() => URL.revokeObjectURL(save.href), 1000);
});

// The chart specs are the HTML report's (api/report/charts.py), without rows: same look.
// Fetched once per currency and grouping. The cache holds the request's promise, so the
// charts drawn at once share one request; a failed one is forgotten, to be tried again.
const specCache = {};
function chartSpecs(by) {
  const key = currency + "/" + by;
  if (!specCache[key]) {
    const specs = authFetch(S.url("/dashboard/charts.json", { currency, by })).then((r) => {
      if (!r.ok) throw new Error("chart specs: " + r.statusText);
      return r.json();
    });
    specCache[key] = specs;
    specs.catch(() => { if (specCache[key] === specs) delete specCache[key]; });
  }
  return specCache[key];
}
async function chart(id, name, rows) {
  const specs = await chartSpecs("channel");
  await closedloopCharts.draw($(id), specs[name], rows);
}

// The warnings of each answer (docs/diagnostics.md), shown once each at the top, warnings first.
const warningsOf = {};
function showWarnings(answer, list) {
  warningsOf[answer] = list || [];
  const seen = new Map();
  Object.values(warningsOf).flat().forEach((w) => seen.set(w.code + "|" + w.message, w));
  const all = [...seen.values()].sort((a, b) => (a.severity === "warning" ? 0 : 1) - (b.severity === "warning" ? 0 : 1));
  $("warnings-list").innerHTML = all.map((w) =>
    `<li class="${esc(w.severity)}"><b>${esc(w.severity)}</b> <code>${esc(w.code)}</code> ${esc(w.message)}</li>`).join("");
  $("warnings").hidden = all.length === 0;
}

function delta(id, now, before, format) {
  const change = fmt.relativeChange(now, before);
  const el = $(id);
  if (before === undefined) { el.textContent = ""; return; }
  el.className = "delta " + (change > 0 ? "up" : change < 0 ? "down" : "");
  el.textContent = `${fmt.change(change)} vs ${format(before)}`;
}

// Columns of previous-period value and % change after each compared column.
const COMPARED = ["conversions", "value", "spend", "roas"];
function withPrevious(columns, rows, total, previous, key, valueKey) {
  const byKey = new Map(previous.data.map((r) => [r[key], r]));
  const names = { conversions: "conversions", value: valueKey, spend: "spend", roas: "roas" };
  const join = (row, before) => {
    const out = Object.assign({}, row);
    for (const c of COMPARED) {
      const name = names[c];
      out["prev_" + name] = before ? before[name] ?? null : null;
      out[name + "_change"] = fmt.relativeChange(row[name], out["prev_" + name]);
    }
    return out;
  };
  const out = [];
  for (const column of columns) {
    out.push(column);
    const compared = COMPARED.map((c) => names[c]).includes(column.key);
    // One column per compared figure: its % change, and under it the earlier value.
    if (compared) {
      out.push({ key: column.key + "_change", label: "Δ", format: fmt.change, cls: "change",
        title: column.label + ": % change from the comparison period (under it: its value then)",
        detail: { key: "prev_" + column.key, format: column.format } });
    }
  }
  return { columns: out, rows: rows.map((r) => join(r, byKey.get(r[key]))), total: join(total, previous.totals) };
}

async function loadAttribution(state, asked) {
  const body = await get("/v1/attribution", asked.attribution);
  currency = body.currency || "USD";
  const by = state.by;
  const t = body.totals;
  // Columns are named for the stage: revenue / pipeline / value, cpa / cpl / cost_per_<stage>.
  const value = body.value_column || "revenue", cost = body.cost_column || "cpa";
  const costLabel = { cpa: "CPA", cpl: "CPL" }[cost] || cost.replace(/_/g, " ");
  const valueLabel = value[0].toUpperCase() + value.slice(1);
  $("total-revenue").textContent = money(t[value]);
  $("total-revenue-label").textContent = "attributed " + value;
  $("total-spend").textContent = money(t.spend);
  $("total-roas").textContent = fmt.ratio(t.roas);
  $("total-conversions").textContent = fmt.conversions(t.conversions);
  $("total-cpa").textContent = money(t[cost]);
  $("total-cpa-label").textContent = costLabel;
  showWarnings("attribution", body.warnings);
  if (!$("start").value && body.start) $("start").value = body.start;
  if (!$("end").value && body.end) $("end").value = body.end;
  addStages([body.stage]);
  let columns = [
    { key: by, label: by },
    { key: "conversions", label: "Conversions", format: fmt.conversions },
    { key: value, label: valueLabel, format: money },
  ];
  if (body.data.some((r) => r[value + "_low"] !== undefined)) {
    const level = fmt.rate(Number(state.ci)).replace(".0%", "%");
    columns.push({ key: value + "_low", label: level + " range", title: `${valueLabel}: bootstrap interval (sorts by its low end)`, cls: "range",
      format: (low, row) => (low === null || low === undefined ? fmt.MISSING : `${money(low)} – ${money(row[value + "_high"])}`) });
  }
  columns.push({ key: "spend", label: "Spend", format: money }, { key: "roas", label: "ROAS", format: fmt.ratio },
    { key: "roi", label: "ROI", format: fmt.rate }, { key: cost, label: costLabel, format: money });
  const period = S.comparisonPeriod(state, body.start, body.end);
  const media = !period && body.data.some((r) => r.impressions !== null || r.clicks !== null);
  if (media) {
    columns.push({ key: "impressions", label: "Impr.", format: fmt.count }, { key: "clicks", label: "Clicks", format: fmt.count },
      { key: "ctr", label: "CTR", format: fmt.rate }, { key: "cpc", label: "CPC", format: money }, { key: "cpm", label: "CPM", format: money });
  }
  let rows = body.data, total = Object.assign({ [by]: "TOTAL" }, t);
  const kpis = [["total-revenue-delta", value, money], ["total-spend-delta", "spend", money], ["total-roas-delta", "roas", fmt.ratio],
    ["total-conversions-delta", "conversions", fmt.conversions], ["total-cpa-delta", cost, money]];
  if (period) {
    // A comparison period without data (before the first conversion) shows "—", and says why.
    let previous, why = "";
    try {
      previous = await get("/v1/attribution", Object.assign({}, asked.attribution, period));
    } catch (error) {
      previous = { data: [], totals: {} };
      why = ` (${error.message})`;
    }
    ({ columns, rows, total } = withPrevious(columns, rows, total, previous, by, value));
    kpis.forEach(([id, key, format]) => delta(id, t[key], previous.totals[key] ?? null, format));
    $("attribution-note").textContent = `${body.start} to ${body.end} vs ${period.start} to ${period.end}${why}`;
  } else {
    kpis.forEach(([id]) => delta(id, null, undefined));
    $("attribution-note").textContent = `${body.start} to ${body.end} · ${body.stage}`;
  }
  closedloopTable.render($("attribution"), { columns, rows, total, caption: `Attribution by ${by}`,
    csv: csvURL("/v1/attribution", asked.attribution, false) });
  document.body.dataset.period = period ? period.start + "/" + period.end : "";
  return body;
}

async function loadCompare(state, asked) {
  const body = await getAll("/v1/compare", asked.compare);
  const [a, b] = body.models.length > 1 ? body.models : [body.models[0], body.models[0]];
  const label = (m) => labels[m] || m;
  const metrics = [["conversions", "Conv.", fmt.conversions], ["revenue", "Revenue", money], ["roas", "ROAS", fmt.ratio]];
  const columns = [{ key: state.by, label: state.by }];
  const hasRange = body.data.some((r) => r[a + "_revenue_low"] !== undefined);
  const range = (m) => (v, row) => (row[m + "_revenue_low"] === undefined ? fmt.MISSING
    : `${money(row[m + "_revenue_low"])} – ${money(row[m + "_revenue_high"])}`);
  for (const [metric, name, format] of metrics) {
    columns.push({ key: `${a}_${metric}`, label: `${name} A`, format, title: `${name}, ${label(a)}` });
    if (metric === "revenue" && hasRange) columns.push({ key: `${a}_range`, label: "range A", format: range(a), cls: "range" });
    columns.push({ key: `${b}_${metric}`, label: `${name} B`, format, title: `${name}, ${label(b)}` });
    if (metric === "revenue" && hasRange) columns.push({ key: `${b}_range`, label: "range B", format: range(b), cls: "range" });
    columns.push({ key: `${b}_${metric}_delta`, label: "Δ", format: fmt.change, title: `${name}: % change, B vs A` });
  }
  // GA4's % change: (B − A) / A; the API's <model>_<metric>_change when it sends it.
  const withChange = (row, get) => {
    const out = Object.assign({}, row);
    for (const [metric] of metrics) {
      const sent = row[`${b}_${metric}_change`];
      out[`${b}_${metric}_delta`] = sent !== undefined ? sent : fmt.relativeChange(get(b, metric), get(a, metric));
    }
    return out;
  };
  const rows = body.data.map((r) => withChange(r, (m, metric) => r[`${m}_${metric}`]));
  const t = body.totals || {};
  const totals = {};
  for (const m of [a, b]) for (const [metric] of metrics) totals[`${m}_${metric}`] = t[m] ? t[m][metric] : null;
  const total = withChange(totals, (m, metric) => totals[`${m}_${metric}`]);
  // A row whose revenue moves most between the models is highlighted (the three largest).
  const moves = rows.map((r) => Math.abs(r[`${b}_revenue`] - r[`${a}_revenue`]) || 0).sort((x, y) => y - x);
  const hot = moves[Math.min(2, moves.length - 1)];
  const skipped = Object.entries(body.skipped || {}).map(([m, why]) => `${label(m)} did not run: ${why}`);
  $("compare-note").textContent = `A: ${label(a)} · B: ${label(b)} · Δ: B vs A` + (skipped.length ? " · " + skipped.join("; ") : "");
  closedloopTable.render($("comparison"), { columns, rows, total, caption: `${label(a)} and ${label(b)} by ${state.by}`,
    csv: csvURL("/v1/compare", asked.compare, true),
    rowClass: (r) => (hot > 0 && Math.abs(r[`${b}_revenue`] - r[`${a}_revenue`]) >= hot ? "hot" : "") });
}

async function loadTimeseries(state, asked, attributed) {
  // A stage without revenue (leads, opportunities without amounts) is drawn in conversions.
  const metric = attributed.totals.revenue ? "revenue" : "conversions";
  const query = Object.assign({}, asked.timeseries, { metric });
  const body = await getAll("/v1/timeseries", query);
  const specs = await chartSpecs("channel");
  const trend = closedloopSpecs.trend(specs.trend, body.data, state.by, { metric, title: `attributed ${metric} per week` });
  await closedloopCharts.draw($("timeseries"), trend.spec, trend.rows);
  $("timeseries-title").textContent = `Weekly attributed ${metric}`;
  const folded = trend.keys.includes(closedloopSpecs.OTHER) ? `; the ${trend.keys.length - 1} largest ${state.by} values, the rest as Other` : "";
  $("timeseries-note").textContent = trend.keys.length
    ? `Stacked: the top edge is the week's total. Weeks start on Monday; ${metric} dated at the conversion${folded}.`
    : `No attributed ${metric} in this period.`;
}

// GA4's buckets (1..7, 8-11, 12+; lag from 0), as /v1/paths sends them (attribution/buckets.py).
function bucketRows(sent) {
  return (sent || []).map((r) => ({ bucket: String(r.bucket), journeys: r.journeys ?? null, conversions: r.conversions ?? 0, revenue: r.revenue ?? 0 }));
}
function bucketTable(id, rows, kind, title) {
  const total = { bucket: "TOTAL", journeys: null, conversions: 0, revenue: 0 };
  rows.forEach((r) => { total.conversions += r.conversions; total.revenue += r.revenue; if (r.journeys !== null) total.journeys = (total.journeys || 0) + r.journeys; });
  rows.forEach((r) => { r.share = total.conversions ? r.conversions / total.conversions : null; });
  total.share = total.conversions ? 1 : null;
  const columns = [{ key: "bucket", label: title }];
  if (kind === "length") columns.push({ key: "journeys", label: "Journeys", format: fmt.count });
  columns.push({ key: "conversions", label: "Conversions", format: fmt.count }, { key: "share", label: "Share", format: fmt.rate },
    { key: "revenue", label: "Revenue", format: money });
  closedloopTable.render($(id), { columns, rows, total, top: 12, caption: title + " buckets", csv: csvData(columns, rows) });
}

async function loadPaths(state, asked) {
  const body = await get("/v1/paths", Object.assign({ limit: PAGE }, asked.paths));
  showWarnings("paths", body.warnings);
  // Every journey is in exactly one length: their sums are all paths' totals.
  const sum = (key) => body.lengths.reduce((s, r) => s + (r[key] || 0), 0);
  const total = { path: "TOTAL", journeys: sum("journeys"), conversions: sum("conversions"), revenue: sum("revenue") };
  total.conversion_rate = total.journeys ? total.conversions / total.journeys : null;
  closedloopTable.render($("paths"), {
    columns: [{ key: "path", label: "Path" }, { key: "journeys", label: "Journeys", format: fmt.count },
      { key: "conversions", label: "Conv.", format: fmt.count }, { key: "conversion_rate", label: "Rate", format: fmt.rate },
      { key: "revenue", label: "Revenue", format: money }, { key: "average_length", label: "Avg touches", format: fmt.days },
      { key: "average_days_to_conversion", label: "Avg days", format: fmt.days }],
    rows: body.data, total, caption: "Top conversion paths", csv: csvURL("/v1/paths", asked.paths, true) });
  $("paths-note").textContent = `by ${asked.paths.by}` + (body.count > body.data.length ? ` · the ${fmt.count(body.data.length)} most common of ${fmt.count(body.count)} paths (TOTAL: all)` : "");
  const specs = await chartSpecs("channel");
  const lengths = bucketRows(body.length_buckets);
  const lags = bucketRows(body.time_lag_buckets);
  bucketTable("lengths", lengths, "length", "Touches");
  bucketTable("lags", lags, "lag", "Days");
  await Promise.all([
    closedloopCharts.draw($("lengths-chart"), closedloopSpecs.buckets(specs.lengths, lengths, "touches"), lengths),
    closedloopCharts.draw($("lags-chart"), closedloopSpecs.buckets(specs.lengths, lags, "days"), lags),
    loadTouches(body, asked.paths.by),
  ]);
}

// GA4's early / middle / late view (docs/paths.md): the API's touch_positions, one row per key.
// The TOTAL row sums the rows: each part's column is every converting journey with a touch.
const PARTS = [["early", "Early"], ["middle", "Middle"], ["late", "Late"]];
async function loadTouches(body, by) {
  const rows = body.touch_positions || [];
  const columns = [{ key: by, label: by }];
  for (const [part, name] of PARTS) {
    columns.push(
      { key: part + "_conversions", label: name + " conv.", format: fmt.conversions, title: `${name} touches: conversions credited` },
      { key: part + "_revenue", label: name + " revenue", format: money, title: `${name} touches: revenue credited` });
  }
  const total = { [by]: "TOTAL" };
  for (const c of columns.slice(1)) total[c.key] = rows.reduce((s, r) => s + (r[c.key] || 0), 0);
  closedloopTable.render($("touches"), { columns, rows, total, caption: `Early, middle and late touches by ${by}`,
    csv: csvData(columns, rows) });
  $("touches-note").textContent = rows.length
    ? `by ${by} · each part: ${fmt.conversions(total.late_conversions)} conversions, ${money(total.late_revenue)}` : "";
  // A stage without revenue (leads) is drawn in conversions.
  const measure = rows.some((r) => r.early_revenue || r.middle_revenue || r.late_revenue) ? "revenue" : "conversions";
  const specs = await chartSpecs(by);
  await closedloopCharts.draw($("touches-chart"), specs["touch_positions_" + measure], rows);
}

// shapley_ordered's credit by position (the attribution answer's `positions`): positions down,
// keys across (most credit first) and a total column; the measure toggle redraws it.
let positionsShown = null;
const POSITION_MEANING = { first_visit: "position i is the i-th distinct channel visited", touch: "position i is the i-th touch" };
function showPositions(body) {
  const positions = body.positions;
  positionsShown = positions ? { positions, by: body.by } : null;
  $("positions-hint").hidden = Boolean(positions);
  $("positions-controls").hidden = !positions;
  if (!positions) {
    $("positions").replaceChildren();
    $("positions-note").textContent = "";
    return;
  }
  $("positions-note").textContent = `${labels.shapley_ordered || "shapley_ordered"} · ${POSITION_MEANING[positions.convention] || positions.convention}` +
    `; from ${positions.max_position} on, summed as ${positions.max_position}+`;
  drawPositions();
}
function drawPositions() {
  if (!positionsShown) return;
  const { positions, by } = positionsShown;
  const measure = $("positions-measure").value;
  const format = measure === "revenue" ? money : fmt.conversions;
  const keyTotals = new Map();
  for (const r of positions.data) keyTotals.set(r[by], (keyTotals.get(r[by]) || 0) + (r[measure] || 0));
  const keys = [...keyTotals.keys()].sort((a, b) => keyTotals.get(b) - keyTotals.get(a) || String(a).localeCompare(String(b)));
  const byPosition = new Map();
  for (const r of positions.data) {
    const row = byPosition.get(r.position) || { position: r.position, total: 0 };
    row["key:" + r[by]] = (row["key:" + r[by]] || 0) + (r[measure] || 0);
    row.total += r[measure] || 0;
    byPosition.set(r.position, row);
  }
  const rows = [...byPosition.values()];
  rows.forEach((row) => keys.forEach((k) => { row["key:" + k] = row["key:" + k] || 0; }));
  const columns = [{ key: "position", label: "Position" }]
    .concat(keys.map((k) => ({ key: "key:" + k, label: k, format })), [{ key: "total", label: "Total", format }]);
  const total = { position: "TOTAL", total: 0 };
  keys.forEach((k) => { total["key:" + k] = keyTotals.get(k); total.total += keyTotals.get(k); });
  const long = [{ key: "position" }, { key: by }, { key: "conversions" }, { key: "revenue" }];
  closedloopTable.render($("positions"), { columns, rows, total, caption: `Ordered Shapley ${measure} by position and ${by}`,
    csv: csvData(long, positions.data) });
}
function pickOrderedShapley() {
  $("model").value = "shapley_ordered";
  $("controls").requestSubmit();
}

const STEP_LABELS = { leads: "leads", mqls: "MQLs", sqls: "SQLs", opportunities: "opportunities", won: "won" };
async function loadFunnel(state, asked) {
  let body;
  try {
    body = await get("/v1/funnel", asked.funnel);
  } catch (error) {
    $("funnel-chart").replaceChildren(); $("funnel").innerHTML = ""; showWarnings("funnel", []);
    $("funnel-notes").innerHTML = `<p class="note">${esc(error.message)}</p>`;
    return;
  }
  showWarnings("funnel", body.warnings);
  // Only stages the data has: attributing an absent one would answer 422.
  addStages(body.stages.filter((s) => !(body.absent_stages || []).includes(s)));
  const t = body.totals;
  const keys = (body.count_columns || Object.keys(STEP_LABELS)).filter((k) => t[k] !== null && t[k] !== undefined);
  // One bar per stage the data has; an absent stage (null count) gets none.
  await chart("funnel-chart", "funnel", keys.map((k) => ({ step: STEP_LABELS[k] || k, count: t[k] })));
  const by = asked.funnel.by;
  $("funnel-card").classList.toggle("wide", Boolean(by));  // a table per group needs the width
  const columns = [{ key: by || "step", label: by ? by.replace(/_/g, " ") : "Step" }];
  let rows, total;
  if (by) {
    keys.forEach((k) => columns.push({ key: k, label: STEP_LABELS[k] || k, format: fmt.count }));
    columns.push({ key: "lead_conversion_rate", label: "lead → won", format: fmt.rate }, { key: "win_rate", label: "Win rate", format: fmt.rate },
      { key: "revenue", label: "Revenue", format: money }, { key: "cpl", label: "CPL", format: money },
      { key: "days_lead_to_won_mean", label: "Days to win", format: fmt.days });
    rows = body.data;
    total = Object.assign({ [by]: "TOTAL" }, t);
  } else {
    columns.push({ key: "count", label: "Persons", format: fmt.count }, { key: "rate", label: "From the step before", format: fmt.rate });
    rows = keys.map((k, i) => ({ step: STEP_LABELS[k] || k, count: t[k], rate: i && t[keys[i - 1]] ? t[k] / t[keys[i - 1]] : null }));
    total = null;
  }
  closedloopTable.render($("funnel"), { columns, rows, total, caption: "Lead funnel", csv: csvURL("/v1/funnel", asked.funnel, false) });
  const notes = (body.notes || []).map((n) => `<p class="note">${esc(n)}</p>`).join("");
  $("funnel-notes").innerHTML = `<p class="note">${esc(body.stages.join(" → "))} · win rate ${fmt.rate(t.win_rate)} · ` +
    `${esc(keys[0] || "")} → won ${fmt.rate(t.lead_conversion_rate)} · CPL ${money(t.cpl)} · revenue ${money(t.revenue)}</p>` + notes;
}

// The stage control lists the stages the answers name (the funnel's and the attributed one).
const stagesSeen = [];
function addStages(list) {
  const select = $("stage");
  for (const stage of list || []) {
    if (!stage || stagesSeen.includes(stage)) continue;
    stagesSeen.push(stage);
    if (![...select.options].some((o) => o.value === stage)) select.append(new Option(stage, stage));
  }
}

const labels = {};
async function loadModels() {
  const r = await authFetch("/v1/models");
  if (r.status === 401) return r;
  const models = (await r.json()).data;
  for (const id of ["model", "compare"]) {
    $(id).innerHTML = models.map((m) => `<option value="${esc(m.name)}">${esc(m.label || m.name)}</option>`).join("");
  }
  models.forEach((m) => { labels[m.name] = m.label || m.name; });
  return r;
}

function showPeriodFields() {
  const custom = $("period").value === "custom";
  $("cmp-fields-start").hidden = $("cmp-fields-end").hidden = !custom;
}

let refreshing = 0;
async function refresh() {
  const mine = ++refreshing;
  const state = S.fromForm($("controls"));
  const asked = S.queries(state);
  document.body.dataset.ready = "0";
  document.body.dataset.state = S.toURL(state);
  $("status").textContent = "loading…";
  const t0 = performance.now();
  try {
    const attributed = await loadAttribution(state, asked);
    showPositions(attributed);
    const parts = [loadCompare(state, asked), loadTimeseries(state, asked, attributed), loadPaths(state, asked), loadFunnel(state, asked),
      closedloopBudget.load(state.model)];
    const results = await Promise.allSettled(parts);
    if (mine !== refreshing) return;  // a newer refresh is on its way
    const failed = results.filter((x) => x.status === "rejected").map((x) => x.reason.message);
    $("status").textContent = failed.length ? "some parts failed: " + failed.join("; ") : `loaded in ${Math.round(performance.now() - t0)} ms`;
    document.body.dataset.ready = "1";
  } catch (e) {
    if (mine !== refreshing) return;
    $("status").innerHTML = `<span class="error">${esc(e.message)}</span>`;
    document.body.dataset.ready = "error";
  }
}

// Apply: the form's state goes into the URL (a new history entry) and every card is asked again.
function apply(event) {
  event.preventDefault();
  const search = S.toURL(S.fromForm($("controls")));
  if (search !== location.search) history.pushState(null, "", location.pathname + search);
  refresh();
}

async function copyLink() {
  const link = location.origin + location.pathname + S.toURL(S.fromForm($("controls")));
  try {
    await navigator.clipboard.writeText(link);
    $("status").textContent = "link copied";
  } catch (error) {
    // No clipboard access (a page not served over https or localhost): show it, selected.
    $("status").innerHTML = `<label>Link to this view <input id="link" readonly size="40" value="${esc(link)}"></label>`;
    $("link").select();
  }
  document.body.dataset.link = link;
}

async function start() {
  const r = await loadModels();
  if (r.status === 401) {
    $("keybox").hidden = false;
    $("status").innerHTML = `<span class="error">${esc((await r.json()).detail.split(". ")[0])}.</span> Enter a read key and Apply.`;
    $("controls").onsubmit = (event) => { event.preventDefault(); sessionStorage.setItem(KEY_ITEM, $("apikey").value.trim()); start(); };
    document.body.dataset.ready = "key";
    return;
  }
  $("controls").onsubmit = apply;
  S.toForm($("controls"), S.fromURL(location.search));
  showPeriodFields();
  $("period").addEventListener("change", showPeriodFields);
  $("copy-link").addEventListener("click", copyLink);
  $("positions-measure").addEventListener("change", drawPositions);
  $("positions-pick").addEventListener("click", pickOrderedShapley);
  $("reset").addEventListener("click", () => { history.pushState(null, "", location.pathname); S.toForm($("controls"), S.DEFAULTS); showPeriodFields(); refresh(); });
  window.addEventListener("popstate", () => { S.toForm($("controls"), S.fromURL(location.search)); showPeriodFields(); refresh(); });
  await refresh();
}

window.closedloopDashboard = { start, refresh };
