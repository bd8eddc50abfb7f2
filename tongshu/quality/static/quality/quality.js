/* Charts of the data-quality pages. Data comes from a <script type="application/json"> block (json_script), so no
   inline script is needed (CSP script-src 'self'). Each chart element names its kind (data-chart) and its data block
   (data-source). */
(function () {
  "use strict";
  var COLORS = ["#1f5fbf", "#1a7f37", "#b26a00", "#7b3fb5", "#0e7c86", "#c62828"];
  var BASE = {
    color: COLORS,
    animation: false,
    textStyle: { fontFamily: "Noto Sans CJK SC, Microsoft YaHei, sans-serif" },
    grid: { left: 48, right: 18, top: 30, bottom: 30 },
    tooltip: { trigger: "axis" },
  };
  var percentAxis = { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}" } };

  var builders = {
    trend: function (data) {
      return {
        xAxis: { type: "category", data: data.trend.map(function (p) { return p.day; }) },
        yAxis: percentAxis,
        series: [{ name: "平均评分", type: "line", smooth: true, areaStyle: { opacity: 0.08 },
          data: data.trend.map(function (p) { return p.average; }) }],
      };
    },
    dimensions: function (data) {
      return {
        tooltip: { trigger: "item" },
        xAxis: { type: "category", data: data.dimensions.map(function (d) { return d.name; }) },
        yAxis: percentAxis,
        series: [{ type: "bar", barMaxWidth: 36, label: { show: true, position: "top" },
          data: data.dimensions.map(function (d, i) {
            return { value: d.value, itemStyle: { color: COLORS[i % COLORS.length] } };
          }) }],
      };
    },
    departments: function (data) {
      var rows = data.departments.slice().sort(function (a, b) { return a.value - b.value; });
      return {
        tooltip: { trigger: "item" },
        grid: { left: 110, right: 30, top: 10, bottom: 24 },
        xAxis: percentAxis,
        yAxis: { type: "category", data: rows.map(function (d) { return d.name; }),
          axisLabel: { width: 100, overflow: "truncate" } },
        series: [{ type: "bar", barMaxWidth: 18, label: { show: true, position: "right" },
          data: rows.map(function (d) { return d.value; }) }],
      };
    },
    history: function (data) {
      var keys = ["overall", "completeness", "validity", "uniqueness", "consistency", "timeliness"];
      return {
        legend: { top: 0, data: keys.map(function (k) { return data.labels[k]; }) },
        grid: { left: 48, right: 40, top: 40, bottom: 30 },
        xAxis: { type: "category", data: data.history.map(function (p) { return p.at.replace("T", " "); }) },
        yAxis: percentAxis,
        series: keys.map(function (k) {
          return { name: data.labels[k], type: "line", showSymbol: data.history.length < 20,
            lineStyle: { width: k === "overall" ? 3 : 1.5 },
            data: data.history.map(function (p) { return p[k]; }) };
        }),
      };
    },
  };

  function render() {
    if (!window.echarts) { return; }
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var source = document.getElementById(element.dataset.source);
      var build = builders[element.dataset.chart];
      if (!source || !build) { return; }
      var data = JSON.parse(source.textContent);
      var chart = window.echarts.init(element, null, { renderer: "svg" });
      chart.setOption(Object.assign({}, BASE, build(data)));
      charts.push(chart);
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", render);
  } else {
    render();
  }
})();
