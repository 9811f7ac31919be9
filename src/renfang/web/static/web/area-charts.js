/* The charts of the area page, drawn with ECharts from the figures the page embeds
   (json_script "area-chart-data"): the category mix and the population by subarea. */
(function () {
  "use strict";
  var source = document.getElementById("area-chart-data");
  if (!source || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var palette = ["#2f6f9f", "#e07b39", "#5a9e6f", "#8c6bb1"];
  var charts = [];

  function draw(id, option) {
    var element = document.getElementById(id);
    if (!element) {
      return;
    }
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(option);
    charts.push(chart);
  }

  var pie = document.getElementById("category-chart");
  var narrow = pie !== null && pie.clientWidth < 480;
  draw("category-chart", {
    color: palette,
    tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
    legend: { bottom: 0, left: "center" },
    series: [
      {
        name: data.labels.categoryMix,
        type: "pie",
        // A phone leaves less room around the ring for the percent labels.
        radius: narrow ? ["28%", "50%"] : ["35%", "65%"],
        center: ["50%", "45%"],
        label: { formatter: "{d}%" },
        data: data.categories
      }
    ]
  });

  var names = data.subareas.names;
  var subareaChart = document.getElementById("subarea-chart");
  if (subareaChart) {
    // One bar per subarea: the chart grows with them instead of squeezing them.
    subareaChart.style.height = Math.max(240, names.length * 28 + 60) + "px";
  }
  draw("subarea-chart", {
    color: palette,
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { top: 0 },
    grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: "value" },
    yAxis: { type: "category", data: names, inverse: true, axisLabel: { width: 110, overflow: "truncate" } },
    series: data.subareas.series.map(function (series) {
      return { name: series.name, type: "bar", stack: "population", data: series.data };
    })
  });

  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
