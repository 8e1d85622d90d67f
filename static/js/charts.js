/*
 * The simulation charts of the rule page.
 *
 * Each chart is a <canvas data-chart="ID"> whose data sits in <script type="application/json"
 * id="ID"> (Django's json_script), built by portal/presenters/charts.py. This file draws every such canvas
 * when the page loads and again whenever htmx swaps in new content (the checks fragment), and
 * reveals the canvas's frame only once it is drawn: without Chart.js the tables stand alone.
 * No inline script is needed, so a strict Content-Security-Policy stays possible.
 */
(function () {
  "use strict";

  var TEXT = "#1b1b1b";
  var GRID = "#dfe1e2";

  /* $98M, $1.2B, $950K, $420: the short money of engine/simulation.py short_money. */
  function shortMoney(value) {
    var sizes = [[1e9, "B"], [1e6, "M"], [1e3, "K"]];
    var sign = value < 0 ? "−" : "";
    var magnitude = Math.abs(value);
    for (var i = 0; i < sizes.length; i++) {
      if (magnitude >= sizes[i][0]) {
        var scaled = magnitude / sizes[i][0];
        var text = scaled < 100 ? String(parseFloat(scaled.toFixed(1))) : scaled.toFixed(0);
        return sign + "$" + text + sizes[i][1];
      }
    }
    return sign + "$" + Math.round(magnitude).toLocaleString("en-US");
  }

  function people(value) {
    return Math.round(value).toLocaleString("en-US");
  }

  function formatter(kind) {
    return kind === "money" ? shortMoney : people;
  }

  function readData(text) {
    try {
      return JSON.parse(text);
    } catch (error) {
      return null;
    }
  }

  function axisTitle(text) {
    return { display: Boolean(text), text: text || "", color: TEXT };
  }

  function configFor(data) {
    var format = formatter(data.value_format);
    var horizontal = Boolean(data.horizontal);
    var valueAxis = {
      beginAtZero: true,
      title: axisTitle(data.value_title),
      ticks: {
        color: TEXT,
        callback: function (value) {
          return format(value);
        },
      },
      grid: { color: GRID },
    };
    if (data.value_format === "people") {
      valueAxis.ticks.precision = 0;
    }
    var categoryAxis = {
      title: axisTitle(data.category_title),
      ticks: { color: TEXT, autoSkip: false },
      grid: { display: false },
    };
    var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    return {
      type: data.type || "bar",
      data: {
        labels: data.labels,
        datasets: data.datasets.map(function (dataset) {
          return {
            label: dataset.label,
            data: dataset.data,
            backgroundColor: dataset.colors,
            borderColor: dataset.colors,
            borderWidth: 1,
          };
        }),
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: reduceMotion ? false : { duration: 300 },
        scales: horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (context) {
                var value = horizontal ? context.parsed.x : context.parsed.y;
                return context.dataset.label + ": " + format(value);
              },
            },
          },
        },
      },
    };
  }

  /* Charts whose canvas left the page (an htmx swap replaced it) are destroyed, not leaked. */
  function destroyDetached() {
    Object.keys(window.Chart.instances || {}).forEach(function (key) {
      var chart = window.Chart.instances[key];
      if (chart && chart.canvas && !chart.canvas.isConnected) {
        chart.destroy();
      }
    });
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    var text = source ? source.textContent : "";
    var existing = window.Chart.getChart(canvas);
    if (existing && canvas.pdpChartSource === text) {
      return; // drawn already from this very data (page load and htmx:load both ask)
    }
    var data = readData(text);
    if (!data || !Array.isArray(data.labels) || !Array.isArray(data.datasets)) {
      return;
    }
    if (existing) {
      existing.destroy();
    }
    canvas.pdpChartSource = text;
    var frame = canvas.parentElement;
    if (frame && frame.hasAttribute("hidden")) {
      frame.removeAttribute("hidden"); // Chart.js sizes the canvas from a visible frame
    }
    new window.Chart(canvas, configFor(data));
  }

  function drawAll(root) {
    if (!window.Chart) {
      return; // Chart.js did not load: the tables under each chart carry every figure
    }
    destroyDetached();
    var scope = root && root.querySelectorAll ? root : document;
    var canvases = scope.querySelectorAll("canvas[data-chart]");
    if (scope.matches && scope.matches("canvas[data-chart]")) {
      canvases = [scope];
    }
    Array.prototype.forEach.call(canvases, draw);
  }

  document.addEventListener("htmx:load", function (event) {
    drawAll(event.detail && event.detail.elt);
  });
  document.addEventListener("htmx:afterSwap", function () {
    // An outerHTML swap reports the element it replaced: look at the whole page instead.
    drawAll(document);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      drawAll(document);
    });
  } else {
    drawAll(document);
  }

  window.pdpCharts = { draw: drawAll, shortMoney: shortMoney };
})();
