// Draws the charts of report and dashboard pages with the vendored ECharts (no inline
// scripts: the pages' CSP forbids them).
// - [data-chart="<id>"]: an element to draw in; its ECharts options are the JSON of the
//   <script type="application/json" id="<id>"> data island the server wrote (the same rows
//   as the table beside it). CSS classes give it its size.
// - options.anju.format ("percent", "money", "integer", "number") says how values read in
//   tooltips and on the value axis (functions cannot travel in JSON).
(function () {
  "use strict";

  function formatter(kind) {
    var locale = document.documentElement.lang || "zh-CN";
    if (kind === "percent") {
      return function (v) {
        return v == null ? "—" : (v * 100).toLocaleString(locale, { maximumFractionDigits: 1 }) + "%";
      };
    }
    var digits = kind === "money" ? 2 : kind === "integer" ? 0 : 2;
    return function (v) {
      return v == null ? "—" : Number(v).toLocaleString(locale, {
        minimumFractionDigits: kind === "money" ? 2 : 0, maximumFractionDigits: digits
      });
    };
  }

  function draw(element) {
    if (!window.echarts || element.dataset.drawn) { return; }
    var island = document.getElementById(element.dataset.chart);
    if (!island) { return; }
    var options = JSON.parse(island.textContent);
    var format = formatter((options.anju && options.anju.format) || "number");
    delete options.anju;
    options.tooltip = options.tooltip || {};
    options.tooltip.valueFormatter = format;
    if (options.yAxis && options.yAxis.type === "value") {
      options.yAxis.axisLabel = { formatter: format };
    }
    options.aria = { enabled: true };
    var chart = window.echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(options);
    element.dataset.drawn = "true";
    if (window.ResizeObserver) {
      new ResizeObserver(function () { chart.resize(); }).observe(element);
    }
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  // widgets or results swapped in by htmx
  document.addEventListener("htmx:afterSettle", function (event) { drawAll(event.target); });
})();
