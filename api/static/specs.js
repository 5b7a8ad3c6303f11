/* The dashboard's own Vega-Lite specs: the weekly trend as stacked areas and GA4's buckets.
 *
 * Money axes tick at round amounts with their own SI prefix ($0, $50k, $1.5M), dates carry
 * the year, tooltips print money with two decimals and the store's currency symbol.
 *
 * Each takes a report template from /dashboard/charts.json for its `config` (number locale
 * with the store's currency symbol, fonts, colours), so both look like the report's charts.
 * Rows are the API's; nothing here computes a metric, it only folds small keys into "Other".
 */
(function (global) {
  "use strict";

  const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
  const DATE = "%b %d, %Y";
  const MONEY = "$,.2f";
  const MONEY_TICK = "format(datum.value, '$~s')";  // $0, $50k, $1.5M: each tick its own prefix
  const OTHER = "Other";

  // The trend's rows with every key but the `top` largest (by total) folded into "Other",
  // and the keys in stacking order (largest at the bottom).
  function foldKeys(rows, by, metric, top) {
    const totals = new Map();
    for (const row of rows) totals.set(row[by], (totals.get(row[by]) || 0) + (row[metric] || 0));
    const keys = [...totals.entries()].filter((e) => e[1] > 0).sort((a, b) => b[1] - a[1]).map((e) => e[0]);
    const kept = new Set(keys.slice(0, keys.length > top + 1 ? top : keys.length));
    const folded = new Map();
    const out = [];
    for (const row of rows) {
      if (!totals.get(row[by])) continue;
      if (kept.has(row[by])) { out.push({ period: row.period, key: row[by], value: row[metric] || 0 }); continue; }
      const other = folded.get(row.period) || { period: row.period, key: OTHER, value: 0 };
      other.value += row[metric] || 0;
      folded.set(row.period, other);
    }
    out.push(...folded.values());
    const order = [...kept].concat(folded.size ? [OTHER] : []);
    const rank = new Map(order.map((k, i) => [k, i]));
    out.forEach((row) => { row.rank = rank.get(row.key); });
    return { rows: out, keys: order };
  }

  function trend(template, rows, by, options) {
    const top = (options && options.top) || 7;
    const metric = (options && options.metric) || "revenue";
    const money = metric === "revenue";
    const title = (options && options.title) || `attributed ${metric} per week`;
    const folded = foldKeys(rows, by, metric, top);
    const x = { field: "period", type: "temporal", timeUnit: "utcyearmonthdate", title: null,
      axis: { format: DATE, labelAngle: 0, tickCount: 6, labelOverlap: true } };
    const y = { field: "value", type: "quantitative", stack: "zero", title: title,
      axis: money ? { format: "$~s", tickCount: 5, labelExpr: MONEY_TICK } : { format: ",~f", tickCount: 5, tickMinStep: 1 },
      scale: { nice: 5, zero: true } };
    const color = { field: "key", type: "nominal", title: by, sort: folded.keys,
      legend: { orient: "right", labelLimit: 160, symbolType: "square" } };
    const order = { field: "rank", type: "quantitative", sort: "ascending" };
    const tooltip = [
      { field: "period", type: "temporal", timeUnit: "utcyearmonthdate", format: DATE, title: "week of" },
      { field: "key", type: "nominal", title: by },
      { field: "value", type: "quantitative", format: money ? MONEY : ",.1f", title: metric },
    ];
    const spec = {
      $schema: SCHEMA, config: template.config, width: "container", height: 260,
      data: { name: "table" },
      layer: [
        { mark: { type: "area", interpolate: "monotone", opacity: 0.85, line: { strokeWidth: 1 } },
          encoding: { x, y, color, order } },
        // Invisible points on every week and key carry the tooltips (an area has one item).
        { mark: { type: "point", filled: true, size: 70, opacity: 0 },
          encoding: { x, y, detail: { field: "key", type: "nominal" }, order, tooltip } },
      ],
    };
    return { spec, rows: folded.rows, keys: folded.keys };
  }

  // Conversions (bars) per GA4 bucket, buckets in reading order, revenue in the tooltip.
  function buckets(template, rows, title) {
    return {
      $schema: SCHEMA, config: template.config, width: "container", height: 160,
      data: { name: "table" },
      mark: { type: "bar", color: "#2f6fed" },
      encoding: {
        x: { field: "bucket", type: "ordinal", sort: rows.map((r) => r.bucket), title: title,
          axis: { labelAngle: 0 } },
        y: { field: "conversions", type: "quantitative", title: "conversions",
          axis: { format: ",~f", tickCount: 4, tickMinStep: 1 }, scale: { nice: 4 } },
        tooltip: [
          { field: "bucket", type: "ordinal", title: title },
          { field: "conversions", type: "quantitative", format: ",.1f" },
          { field: "revenue", type: "quantitative", format: MONEY },
        ],
      },
    };
  }

  global.closedloopSpecs = { trend, buckets, foldKeys, OTHER };
})(window);
