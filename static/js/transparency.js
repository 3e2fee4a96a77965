// Transparency report charts, drawn from the figures the server embedded (the page shows them as tables too).
// Amounts arrive as exact integer counts of 10^-scale of the reserve unit; they are divided only to label the axes.
document.addEventListener("DOMContentLoaded", () => {
  const node = document.getElementById("transparency-chart-data");
  if (!node || !window.Chart) return;
  const data = JSON.parse(node.textContent);
  const divisor = 10 ** data.scale;
  const inUnit = (counts) => (counts === null ? null : counts / divisor);
  const label = (value) => `${Number(value).toLocaleString(undefined, { maximumFractionDigits: data.scale })} ${data.unit}`;
  const palette = ["#2a6f97", "#52b788", "#f4a261", "#e76f51", "#8e7dbe", "#264653", "#e9c46a"];
  const base = { responsive: true, maintainAspectRatio: false, animation: false };
  const draw = (id, config) => {
    const canvas = document.getElementById(id);
    if (canvas) new window.Chart(canvas, config);
  };
  draw("chart-composition", {
    type: "doughnut",
    data: {
      labels: data.composition.labels,
      datasets: [{ label: data.unit, data: data.composition.amounts.map(inUnit), backgroundColor: palette }],
    },
    options: {
      ...base,
      plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: (ctx) => label(ctx.parsed) } } },
    },
  });
  draw("chart-history", {
    type: "line",
    data: {
      labels: data.history.labels,
      datasets: [
        { label: "Reserves attested", data: data.history.reserves.map(inUnit), borderColor: "#52b788", stepped: true, spanGaps: true },
        { label: "Reserves the supply needs", data: data.history.required.map(inUnit), borderColor: "#e76f51", stepped: true },
      ],
    },
    options: {
      ...base,
      scales: { y: { beginAtZero: true, ticks: { callback: (value) => label(value) } } },
      plugins: { tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${label(ctx.parsed.y)}` } } },
    },
  });
});
