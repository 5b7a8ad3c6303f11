/* closedloop charts: draw Vega-Lite specs with the vendored vega-embed, offline.
 *
 * Shared by the dashboard (served at /static/charts.js) and the HTML report (inlined).
 * The specs come from api/report/charts.py; every one reads the dataset named "table".
 * Needs vega, vega-lite and vega-embed loaded first (api/static/vendor/).
 */
(function (global) {
  "use strict";

  // A loader that refuses to load anything: every chart's data is inline in its spec.
  function offlineLoader() {
    const loader = vega.loader();
    const refuse = (uri) => Promise.reject(new Error("closedloop charts load no files: " + uri));
    loader.load = refuse;
    loader.http = refuse;
    loader.file = refuse;
    return loader;
  }

  const OPTIONS = {
    actions: false,          // no export menu, no "open in the Vega editor" link
    renderer: "svg",
    loader: offlineLoader(),
    tooltip: { theme: "light" },
  };

  // Draw `spec` into `element` (replacing its chart, if any); with `rows`, they become the
  // spec's "table" dataset.
  function draw(element, spec, rows) {
    const full = rows ? Object.assign({}, spec, { datasets: { table: rows } }) : spec;
    if (element.closedloopView) element.closedloopView.finalize();
    return vegaEmbed(element, full, OPTIONS).then(function (result) {
      element.closedloopView = result.view;
      return result;
    }).catch(function (error) {
      const message = document.createElement("p");
      message.className = "chart-error";
      message.textContent = "This chart could not be drawn: " + error.message;
      element.replaceChildren(message);
      throw error;
    });
  }

  // Draw every <script type="application/json" data-chart> under `root` into its parent.
  function drawAll(root) {
    const scripts = root.querySelectorAll('script[type="application/json"][data-chart]');
    return Promise.allSettled(Array.prototype.map.call(scripts, function (script) {
      const target = document.createElement("div");
      script.parentNode.appendChild(target);
      return draw(target, JSON.parse(script.textContent));
    }));
  }

  global.closedloopCharts = { draw: draw, drawAll: drawAll, options: OPTIONS };
})(window);
