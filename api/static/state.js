/* The dashboard's state: the form's controls, the URL's query string and the API queries.
 *
 * Every control is a named form field; its value is the state. The URL holds the fields
 * that differ from their default (`?model=markov&stage=lead&period=previous`), so a link
 * reproduces the view, and the default view has a bare URL. The API queries are built from
 * the state alone, in one place, so what is shown and what is asked cannot drift apart.
 */
(function (global) {
  "use strict";

  // name → default. A name is a form field's id and name and the URL's parameter.
  const DEFAULTS = {
    model: "linear", compare: "last_touch", by: "channel", stage: "", journey: "person", ci: "",
    lookback_days: "", click_window_days: "", view_window_days: "",
    start: "", end: "", period: "", cmp_start: "", cmp_end: "", funnel_by: "",
  };
  const FIELDS = Object.keys(DEFAULTS);

  function fromForm(form) {
    const state = {};
    for (const name of FIELDS) state[name] = String(form.elements[name].value || "").trim();
    return state;
  }

  // Set each field from `state`; a select gets an option for a value it does not list yet
  // (a stage or model named in a link before the data has been read).
  function toForm(form, state) {
    for (const name of FIELDS) {
      const field = form.elements[name];
      const value = state[name] ?? DEFAULTS[name];
      if (field.tagName === "SELECT" && value !== "" && ![...field.options].some((o) => o.value === value)) {
        field.append(new Option(value, value));
      }
      field.value = value;
    }
  }

  function fromURL(search) {
    const params = new URLSearchParams(search);
    const state = Object.assign({}, DEFAULTS);
    for (const name of FIELDS) if (params.has(name)) state[name] = params.get(name).trim();
    return state;
  }

  function toURL(state) {
    const params = new URLSearchParams();
    for (const name of FIELDS) if ((state[name] || "") !== DEFAULTS[name]) params.set(name, state[name]);
    const text = params.toString();
    return text ? "?" + text : "";
  }

  // YYYY-MM-DD arithmetic in UTC, as the API's periods are.
  const DAY_MS = 86400000;
  const parse = (iso) => new Date(iso + "T00:00:00Z");
  const iso = (date) => date.toISOString().slice(0, 10);
  function addDays(text, days) { return iso(new Date(parse(text).getTime() + days * DAY_MS)); }
  function lastYear(text) {
    const date = parse(text);
    const day = date.getUTCDate();
    date.setUTCDate(1);
    date.setUTCFullYear(date.getUTCFullYear() - 1);
    const length = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
    date.setUTCDate(Math.min(day, length));  // 29 Feb → 28 Feb
    return iso(date);
  }

  // The period to compare [start, end] with, or null: the same number of days just before,
  // the same dates a year earlier, or the custom dates.
  function comparisonPeriod(state, start, end) {
    if (!start || !end) return null;
    if (state.period === "previous") {
      const days = Math.round((parse(end) - parse(start)) / DAY_MS) + 1;
      return { start: addDays(start, -days), end: addDays(start, -1) };
    }
    if (state.period === "year") return { start: lastYear(start), end: lastYear(end) };
    if (state.period === "custom" && state.cmp_start && state.cmp_end) return { start: state.cmp_start, end: state.cmp_end };
    return null;
  }

  function pick(state, names) {
    const query = {};
    for (const name of names) if (state[name]) query[name] = state[name];
    return query;
  }
  const WINDOWS = ["stage", "lookback_days", "click_window_days", "view_window_days", "start", "end"];

  // The API queries of each card, as plain objects of query parameters.
  function queries(state) {
    const shared = Object.assign({ by: state.by }, pick(state, WINDOWS));
    if (state.journey !== "person") shared.journey = state.journey;
    const ci = state.ci ? { ci: state.ci } : {};
    const pathsBy = state.by === "campaign" ? "campaign" : "channel";  // paths are channels or campaigns
    return {
      attribution: Object.assign({ model: state.model }, shared, ci),
      // The same model twice is one model (the API compares each model once).
      compare: Object.assign({ models: state.compare === state.model ? state.model : state.model + "," + state.compare,
        baseline: state.model }, shared, ci),
      timeseries: Object.assign({ metric: "revenue", interval: "week", model: state.model }, shared),
      paths: Object.assign({}, shared, { by: pathsBy }),
      funnel: Object.assign(state.funnel_by ? { by: state.funnel_by } : {}, pick(state, ["start", "end"]),
        state.journey !== "person" ? { journey: state.journey } : {}),
    };
  }

  function url(path, query) {
    const text = new URLSearchParams(query).toString();
    return text ? path + "?" + text : path;
  }

  global.closedloopState = {
    DEFAULTS, FIELDS, fromForm, toForm, fromURL, toURL, comparisonPeriod, addDays, lastYear, queries, url,
  };
})(window);
