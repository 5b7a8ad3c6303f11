/* closedloop tables: sortable columns, a TOTAL row, top N with "show all", a CSV link.
 *
 *   closedloopTable.render(element, {
 *     columns: [{ key, label, format(value, row), title, detail: { key, format } }],
 *                               // the first column names the row; detail: a smaller second figure
 *     rows,                     // the API's rows, in the API's order
 *     total,                    // the API's totals row (shown as TOTAL, never sorted), or null
 *     top: 10,                  // rows shown until "show all"
 *     csv,                      // the API's URL for the same rows as CSV, or null
 *     caption,                  // what the table is, for screen readers
 *     rowClass(row),            // an optional class per row
 *   });
 *
 * A header is a button: click or Enter/Space sorts by it (numbers largest first, text A to Z;
 * again to reverse) and its <th> says so in aria-sort. Missing numbers sort last. The sort and
 * "show all" are kept when the same element is drawn again with new rows.
 */
(function (global) {
  "use strict";

  const TOP = 10;
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const isNumber = (v) => typeof v === "number" && Number.isFinite(v);

  function compare(a, b, direction) {
    const missingA = a === null || a === undefined, missingB = b === null || b === undefined;
    if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1;
    const order = isNumber(a) && isNumber(b) ? a - b : String(a).localeCompare(String(b));
    return direction === "ascending" ? order : -order;
  }

  function sorted(rows, sort) {
    if (!sort) return rows;
    // Stable: ties keep the API's order.
    return rows.map((row, i) => [row, i])
      .sort((x, y) => compare(x[0][sort.key], y[0][sort.key], sort.direction) || x[1] - y[1])
      .map((pair) => pair[0]);
  }

  function text(column, row) {
    const value = row[column.key];
    return column.format ? column.format(value, row) : value === null || value === undefined ? "—" : String(value);
  }

  // A column with a `detail` ({key, format}) shows that second figure under its own, smaller
  // (the earlier period's value under a % change); each figure keeps its data-key.
  function cell(column, row, tag) {
    const scope = tag === "th" ? ' scope="row"' : "";
    const cls = column.cls ? ` class="${esc(column.cls)}"` : "";
    if (!column.detail) return `<${tag}${scope}${cls} data-key="${esc(column.key)}">${esc(text(column, row))}</${tag}>`;
    return `<${tag}${scope}${cls}><span data-key="${esc(column.key)}">${esc(text(column, row))}</span>` +
      `<span class="detail" data-key="${esc(column.detail.key)}">${esc(text(column.detail, row))}</span></${tag}>`;
  }

  function header(column, sort) {
    const state = sort && sort.key === column.key ? sort.direction : "none";
    const arrow = state === "ascending" ? "▲" : state === "descending" ? "▼" : "";
    const title = column.title ? ` title="${esc(column.title)}"` : "";
    return `<th scope="col" aria-sort="${state}"${title}><button type="button" class="sort" data-sort="${esc(column.key)}">` +
      `${esc(column.label)}<span class="arrow" aria-hidden="true">${arrow}</span></button></th>`;
  }

  function draw(element) {
    const options = element.closedloopTable;
    const state = element.closedloopTableState;
    const columns = options.columns;
    const rows = sorted(options.rows, state.sort);
    const top = options.top || TOP;
    const shown = state.all ? rows : rows.slice(0, top);
    const body = shown.map((row) => `<tr class="${esc(options.rowClass ? options.rowClass(row) : "")}">` +
      columns.map((c, i) => cell(c, row, i === 0 ? "th" : "td")).join("") + "</tr>").join("");
    const total = options.total
      ? `<tfoot><tr class="total">${columns.map((c, i) => (i === 0 ? '<th scope="row">TOTAL</th>' : cell(c, options.total, "td"))).join("")}</tr></tfoot>`
      : "";
    const count = rows.length > top
      ? `<span class="note">${state.all ? "all " + rows.length + " rows" : "top " + top + " of " + rows.length}</span>` : "";
    const csv = options.csv ? `<a class="csv" href="${esc(options.csv)}" download>Download CSV</a>` : "";
    const more = rows.length > top
      ? `<button type="button" class="quiet more" aria-expanded="${state.all}">${state.all ? "Show top " + top : "Show all " + rows.length}</button>` : "";
    element.innerHTML = `<div class="table-tools">${count}${csv}</div><div class="table-wrap"><table>` +
      (options.caption ? `<caption class="sr-only">${esc(options.caption)}</caption>` : "") +
      `<thead><tr>${columns.map((c) => header(c, state.sort)).join("")}</tr></thead><tbody>${body}</tbody>${total}</table></div>${more}`;
  }

  function onClick(event) {
    const element = event.currentTarget;
    const state = element.closedloopTableState;
    const button = event.target.closest("button");
    if (!button || !element.contains(button)) return;
    let focus = null;
    if (button.classList.contains("sort")) {
      const key = button.dataset.sort;
      const numeric = element.closedloopTable.rows.some((r) => isNumber(r[key]));
      const first = numeric ? "descending" : "ascending";
      const again = state.sort && state.sort.key === key;
      state.sort = { key, direction: again ? (state.sort.direction === "ascending" ? "descending" : "ascending") : first };
      focus = `button.sort[data-sort="${CSS.escape(key)}"]`;
    } else if (button.classList.contains("more")) {
      state.all = !state.all;
      focus = "button.more";
    } else {
      return;
    }
    draw(element);
    const again = element.querySelector(focus);
    if (again) again.focus();  // redrawn: keep the keyboard where it was
  }

  function render(element, options) {
    if (!element.closedloopTableState) {
      element.closedloopTableState = { sort: null, all: false };
      element.addEventListener("click", onClick);
    }
    const state = element.closedloopTableState;
    if (state.sort && !options.columns.some((c) => c.key === state.sort.key)) state.sort = null;
    element.closedloopTable = options;
    draw(element);
  }

  global.closedloopTable = { render, TOP };
})(window);
