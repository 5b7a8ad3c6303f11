/* closedloop number style: one way to print every kind of number on the dashboard.
 *
 *   money        currency, two decimals          $1,234.50   (Intl.NumberFormat currency style)
 *   rate         percentage, one decimal         12.3%       (conversion and win rates, CTR, shares, ROI)
 *   ratio        two decimals                    2.35        (ROAS)
 *   conversions  one decimal                     134.0       (attributed conversions)
 *   count        integer, thousands separators   2,067       (journeys, leads, touches)
 *   days         one decimal                     56.7
 *   change       signed percentage, one decimal  +12.3%      ((now - before) / before)
 *   missing      an em dash                      —           (null, undefined, NaN, infinities)
 *
 * CSV downloads come from the API and keep raw numbers; only the screen is formatted.
 */
(function (global) {
  "use strict";

  const MISSING = "—";
  const LOCALE = "en-US";
  const formats = {};

  function isMissing(value) {
    return value === null || value === undefined || typeof value !== "number" || !Number.isFinite(value);
  }

  function numberFormat(key, options) {
    if (!formats[key]) formats[key] = new Intl.NumberFormat(LOCALE, options);
    return formats[key];
  }

  function fixed(digits) {
    return numberFormat("fixed" + digits, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  // An ISO 4217 code Intl does not know (or none) prints as "XYZ 1,234.50".
  function money(value, currency) {
    if (isMissing(value)) return MISSING;
    const code = currency || "USD";
    try {
      return numberFormat("money" + code, { style: "currency", currency: code,
        minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
    } catch (error) {
      return code + " " + fixed(2).format(value);
    }
  }

  function currencySymbol(currency) {
    const part = numberFormat("symbol" + currency, { style: "currency", currency: currency || "USD" })
      .formatToParts(0).find((p) => p.type === "currency");
    return part ? part.value : currency;
  }

  const rate = (value) => (isMissing(value) ? MISSING
    : numberFormat("rate", { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(value));
  const ratio = (value) => (isMissing(value) ? MISSING : fixed(2).format(value));
  const conversions = (value) => (isMissing(value) ? MISSING : fixed(1).format(value));
  const count = (value) => (isMissing(value) ? MISSING : fixed(0).format(value));
  const days = (value) => (isMissing(value) ? MISSING : fixed(1).format(value));
  const change = (value) => (isMissing(value) ? MISSING
    : numberFormat("change", { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1,
      signDisplay: "exceptZero" }).format(value));

  // The relative change from `before` to `now`; null when either is missing or `before` is 0.
  function relativeChange(now, before) {
    if (isMissing(now) || isMissing(before) || before === 0) return null;
    return (now - before) / Math.abs(before);
  }

  global.closedloopFormat = {
    MISSING, isMissing, money, currencySymbol, rate, ratio, conversions, count, days, change, relativeChange,
  };
})(window);
