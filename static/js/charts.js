// Charts from data attributes (no inline script, CSP-safe): <div class="chart" data-chart='{...}'>.
// The JSON: {"type": "bar"|"line"|"hbar", "categories": [...], "series": [{"name": ..., "data": [...]}],
// "percent": false, "stack": false}. Every chart has its numbers in a table beside it as well.
(function () {
  "use strict";
  var PALETTE = ["#2f6f4f", "#5b8def", "#e3a33b", "#c0504d", "#7a5ea8", "#3aa3a3", "#8c8c8c"];

  function option(spec) {
    var horizontal = spec.type === "hbar";
    var kind = horizontal ? "bar" : spec.type;
    var category = { type: "category", data: spec.categories, axisLabel: { interval: 0, hideOverlap: true } };
    var value = { type: "value", minInterval: spec.percent ? 0 : 1, max: spec.percent ? 100 : null,
                  axisLabel: { formatter: spec.percent ? "{value}%" : "{value}" } };
    return {
      color: PALETTE,
      animation: false,
      // richText tooltips: no HTML with inline styles (the CSP allows none)
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: spec.series.length > 1 ? { top: 0 } : undefined,
      grid: { left: horizontal ? 110 : 40, right: 16, top: spec.series.length > 1 ? 32 : 12, bottom: 28,
              containLabel: !horizontal },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? Object.assign({}, category, { inverse: true }) : value,
      series: spec.series.map(function (s) {
        return { name: s.name, type: kind, data: s.data, stack: spec.stack ? "all" : undefined,
                 smooth: kind === "line" ? 0.2 : undefined, label: { show: !!spec.labels, position: "right" } };
      })
    };
  }

  function draw(el) {
    if (!window.echarts || el.dataset.drawn) { return; }
    var spec;
    try { spec = JSON.parse(el.getAttribute("data-chart")); } catch (e) { return; }
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option(spec));
    el.dataset.drawn = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function drawAll(root) {
    (root || document).querySelectorAll(".chart[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function (event) { drawAll(event.target); });
})();
