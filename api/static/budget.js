/* The response-curve card: each channel's curve, its marks and a keyboard what-if.
 *
 * Uses $, esc, authFetch, chart, money and fmt from dashboard.js (loaded first).
 */
"use strict";
// A plain table of inputs (not a data table: no sorting, no TOTAL, no CSV).
function formTable(columns, rows) {
  const head = columns.map((c) => `<th scope="col">${esc(c[1])}</th>`).join("");
  const body = rows.map((r) => "<tr>" + columns.map((c) => `<td>${esc((c[2] || String)(r[c[0]]))}</td>`).join("") + "</tr>").join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}
// Response curves: one POST /v1/budget/plan with the points of every channel (observed weeks,
// the curve with its 90% range, current and recommended spend, saturation) draws the chart;
// the what-if moves spends (the slider for the chosen channel, or the table's inputs) and asks
// POST /v1/budget/whatif, debounced, for the predicted revenue, drawn on the curve.
const budget = { model: "linear", rows: [], byChannel: {}, allocation: {}, predicted: null, timer: null, asked: 0 };
const WHATIF_DELAY_MS = 300;
const dash = () => "–";
const hasCurve = (row) => row.points && row.points.curve && row.points.curve.length > 0;
// The chart's rows, as api/report/charts.py curve_rows builds them for the report.
function curveRows(channel, points) {
  const row = (kind, p) => ({ channel, panel: channel, kind, spend: p.spend, revenue: p.revenue ?? null,
    revenue_low: p.revenue_low ?? null, revenue_high: p.revenue_high ?? null, week: p.week ?? null });
  const rows = (points.observed || []).map((p) => row("observed", p))
    .concat((points.curve || []).map((p) => row("curve", p)))
    .concat((points.marks || []).filter((m) => m.label === "current" || m.label === "recommended").map((m) => row(m.label, m)));
  if (points.saturation) rows.push(row("saturation", points.saturation));
  return rows;
}
async function loadBudget(model) {
  budget.model = model;
  const r = await authFetch("/v1/budget/plan", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model, by: "channel", bootstrap: 20, points: true }) });
  const body = await r.json();
  budget.predicted = null;
  if (!r.ok) {
    Object.assign(budget, { rows: [], byChannel: {}, allocation: {} });
    $("curve-channel").innerHTML = ""; $("curve").replaceChildren(); $("whatif").innerHTML = ""; $("whatif-result").textContent = "";
    $("whatif-range").disabled = $("whatif-spend").disabled = true;
    $("curve-note").innerHTML = `<span class="error">${esc(body.detail)}</span>`;
    return;
  }
  const spent = body.data.filter((row) => row.current_spend > 0 || hasCurve(row));
  budget.rows = spent.filter(hasCurve).concat(spent.filter((row) => !hasCurve(row)));
  budget.byChannel = Object.fromEntries(budget.rows.map((row) => [row.channel, row]));
  budget.allocation = Object.fromEntries(budget.rows.map((row) => [row.channel, row.current_spend]));
  const chosen = budget.byChannel[$("curve-channel").value] ? $("curve-channel").value : (budget.rows[0] || {}).channel;
  $("curve-channel").innerHTML = budget.rows.map((row) => `<option${row.channel === chosen ? " selected" : ""}>${esc(row.channel)}</option>`).join("");
  $("whatif").innerHTML = formTable([["channel", "channel"], ["current_spend", "current", money], ["recommended_spend", "recommended", money],
    ["_whatif", "what-if", dash], ["_predicted", "revenue then", dash], ["_change", "change", dash]], budget.rows);
  // The what-if column holds one labelled number input per channel with a curve.
  $("whatif").querySelectorAll("tbody tr").forEach((tr, i) => {
    const row = budget.rows[i];
    const cell = tr.children[3];
    cell.textContent = "";
    if (hasCurve(row)) {
      const input = Object.assign(document.createElement("input"), { type: "number", min: 0, step: 100, value: Math.round(row.current_spend) });
      input.dataset.channel = row.channel;
      input.setAttribute("aria-label", "what-if weekly spend, " + row.channel);
      input.addEventListener("input", () => setSpend(row.channel, Number(input.value), input));
      // Editing a channel's amount shows that channel's curve.
      input.addEventListener("focus", () => {
        if ($("curve-channel").value !== row.channel) { $("curve-channel").value = row.channel; showChannel(); }
      });
      cell.append(input);
    } else {
      cell.textContent = "held";
      cell.title = "no response curve: " + (row.status || "");
    }
    tr.children[4].id = "predicted-" + i; tr.children[5].id = "change-" + i;
  });
  showChannel();
  await whatIf();
}
function showChannel() {
  const row = budget.byChannel[$("curve-channel").value];
  if (!row) {
    $("whatif-range").disabled = $("whatif-spend").disabled = true;
    $("curve").replaceChildren();
    $("curve-note").textContent = "No channel has spend to draw.";
    return;
  }
  const range = $("whatif-range"), amount = $("whatif-spend");
  const curve = row.points.curve || [];
  const top = curve.length ? curve[curve.length - 1].spend : 2 * row.current_spend;
  range.max = String(Math.ceil(top));
  range.step = String(Math.max(1, Math.round(top / 200)));
  range.value = amount.value = String(Math.round(budget.allocation[row.channel]));
  range.disabled = amount.disabled = !hasCurve(row);
  const sat = row.points.saturation;
  $("curve-note").textContent = hasCurve(row)
    ? `Line: the fitted curve; shaded: its 90% range; grey: the weeks it was fitted on; marks: current spend, recommended spend (the plan), what-if spend and saturation` +
      (sat ? ` (${money(sat.spend)}: past it the next dollar returns less than a dollar)` : " (beyond the chart)") + "."
    : `${row.channel} has no response curve (${row.status}), so it is held at its current spend (dashed line); grey: its weeks.`;
  drawCurve();
}
function drawCurve() {
  const channel = $("curve-channel").value;
  const row = budget.byChannel[channel];
  if (!row) return Promise.resolve();
  const rows = curveRows(channel, row.points);
  const moved = budget.predicted && budget.predicted[channel];
  if (moved && hasCurve(row)) rows.push({ channel, panel: channel, kind: "what_if", spend: moved.spend, revenue: moved.predicted_revenue,
    revenue_low: null, revenue_high: null, week: null });
  return chart("curve", "curve", rows);
}
function setSpend(channel, value, source) {
  if (!Number.isFinite(value) || value < 0) return;
  budget.allocation[channel] = value;
  if (channel === $("curve-channel").value) {
    if (source !== $("whatif-range")) $("whatif-range").value = String(value);
    if (source !== $("whatif-spend")) $("whatif-spend").value = String(Math.round(value));
  }
  const input = document.querySelector(`#whatif input[data-channel="${CSS.escape(channel)}"]`);
  if (input && input !== source) input.value = String(Math.round(value));
  clearTimeout(budget.timer);
  budget.timer = setTimeout(whatIf, WHATIF_DELAY_MS);
}
async function whatIf() {
  const asked = ++budget.asked;
  const allocation = {};
  for (const row of budget.rows) if (hasCurve(row)) allocation[row.channel] = budget.allocation[row.channel];
  const r = await authFetch("/v1/budget/whatif", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: budget.model, by: "channel", allocation, points: false, bootstrap: 20 }) });
  const body = await r.json();
  if (asked !== budget.asked) return;  // a newer what-if is on its way
  if (!r.ok) { $("whatif-result").innerHTML = `<span class="error">${esc(body.detail)}</span>`; return; }
  budget.predicted = Object.fromEntries(body.data.map((row) => [row.channel, row]));
  budget.rows.forEach((row, i) => {
    const p = budget.predicted[row.channel];
    if (!p) return;
    $("predicted-" + i).textContent = money(p.predicted_revenue);
    $("change-" + i).textContent = (p.revenue_change > 0 ? "+" : "") + money(p.revenue_change);
  });
  const channel = $("curve-channel").value, p = budget.predicted[channel], t = body.totals;
  const signed = (v) => `<b class="${v >= 0 ? "up" : "down"}">${v >= 0 ? "+" : ""}${money(v)}</b>`;
  $("whatif-result").innerHTML = (p ? `${esc(channel)} at <b>${money(p.spend)}</b> a week (now ${money(p.current_spend)}): ` +
      `predicted revenue <b id="whatif-channel-revenue">${money(p.predicted_revenue)}</b> (${signed(p.revenue_change)}). ` : "") +
    `All channels: predicted weekly revenue <b id="whatif-total">${money(t.predicted_revenue)}</b> (${signed(t.revenue_change)} vs now; ` +
    `range ${money(t.revenue_low)}–${money(t.revenue_high)}) · ROAS ${fmt.ratio(t.roas)}` +
    (body.warnings && body.warnings.length ? `<br><span class="note">${esc(body.warnings.join(" "))}</span>` : "");
  document.body.dataset.whatif = String(asked);
  await drawCurve();
}
$("curve-channel").addEventListener("change", showChannel);
$("whatif-range").addEventListener("input", () => setSpend($("curve-channel").value, Number($("whatif-range").value), $("whatif-range")));
$("whatif-spend").addEventListener("input", () => setSpend($("curve-channel").value, Number($("whatif-spend").value), $("whatif-spend")));
$("whatif-reset").addEventListener("click", () => {
  for (const row of budget.rows) budget.allocation[row.channel] = row.current_spend;
  document.querySelectorAll("#whatif input[data-channel]").forEach((i) => { i.value = String(Math.round(budget.allocation[i.dataset.channel])); });
  showChannel();
  clearTimeout(budget.timer);
  budget.timer = setTimeout(whatIf, WHATIF_DELAY_MS);
});

window.closedloopBudget = { load: loadBudget };
