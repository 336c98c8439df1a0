// Draws every <canvas data-chart='{...}'> with the vendored Chart.js
// (static/vendor/chartjs). The figures are also in the table beside each
// chart, so a page without this file, or without scripts, loses nothing.
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") {
    return;
  }

  const css = getComputedStyle(document.documentElement);
  const colour = (name, fallback) => (css.getPropertyValue(name) || "").trim() || fallback;
  const TONES = {
    won: colour("--won", "#1d7a46"),
    lost: colour("--lost", "#b3261e"),
    no_decision: colour("--nodec", "#8a6d00"),
    accent: colour("--accent", "#2454d6"),
    previous: "#9aa4b5",
    muted: colour("--muted", "#5b6475"),
  };
  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function formatter(unit) {
    if (unit === "percent") {
      return (value) => (value === null || value === undefined ? "—" : `${Math.round(value)}%`);
    }
    return (value) => (value === null || value === undefined ? "—" : value.toLocaleString());
  }

  function dataset(series, spec) {
    const tone = TONES[series.tone] || TONES.accent;
    const line = spec.kind === "line" || series.line;
    return {
      type: line ? "line" : "bar",
      label: series.label,
      data: series.values,
      backgroundColor: line ? tone : `${tone}cc`,
      borderColor: tone,
      borderWidth: line ? 2 : 0,
      pointRadius: line ? 3 : 0,
      spanGaps: true,
      tension: 0.25,
      order: line ? 0 : 1,
    };
  }

  function draw(canvas) {
    let spec;
    try {
      spec = JSON.parse(canvas.dataset.chart);
    } catch (error) {
      return;
    }
    const format = formatter(spec.unit);
    const horizontal = spec.kind === "hbar";
    const valueAxis = {
      beginAtZero: true,
      stacked: spec.stacked,
      ticks: { callback: (value) => format(value), precision: 0 },
      grid: { color: "#e6e9ef" },
    };
    if (spec.unit === "percent" && !spec.stacked && !horizontal) {
      valueAxis.suggestedMax = 100;
    }
    const labelAxis = { stacked: spec.stacked, grid: { display: false }, ticks: { autoSkip: !horizontal } };
    new window.Chart(canvas, {
      type: spec.kind === "line" ? "line" : "bar",
      data: { labels: spec.labels, datasets: spec.series.map((s) => dataset(s, spec)) },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: reduceMotion ? false : { duration: 300 },
        interaction: { mode: "index", intersect: false },
        scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
        plugins: {
          legend: { display: spec.series.length > 1, position: "bottom" },
          tooltip: {
            callbacks: {
              label: (item) => `${item.dataset.label}: ${format(item.raw)}`,
            },
          },
        },
      },
    });
  }

  function drawAll() {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
