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

  /*
   * Money and people as engine/figures.py short_money and people print them: $98M, $1.2B, $950K,
   * $420 (whole dollars under $1,000, else one decimal of the unit at most and none from 100 of a
   * unit up), 1,234 people; rounded half to even, a true minus sign "−" below zero and none on what
   * rounds to zero. The formats are built once.
   */
  var WHOLE_DOLLARS = new Intl.NumberFormat("en-US", {
    style: "currency", currency: "USD", minimumFractionDigits: 0, maximumFractionDigits: 0,
    roundingMode: "halfEven", signDisplay: "negative"
  });
  var SHORT_MONEY = new Intl.NumberFormat("en-US", {
    style: "currency", currency: "USD", notation: "compact", minimumFractionDigits: 0, maximumFractionDigits: 1,
    maximumSignificantDigits: 3, roundingPriority: "lessPrecision", roundingMode: "halfEven", signDisplay: "negative"
  });
  var PEOPLE = new Intl.NumberFormat("en-US", {
    maximumFractionDigits: 0, roundingMode: "halfEven", signDisplay: "negative"
  });

  function shortMoney(value) {
    var format = Math.abs(value) < 999.5 ? WHOLE_DOLLARS : SHORT_MONEY;
    return format.format(value).replace("-", "−");
  }

  function people(value) {
    return PEOPLE.format(value);
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

  window.pdpCharts = { draw: drawAll, shortMoney: shortMoney, people: people };
})();
