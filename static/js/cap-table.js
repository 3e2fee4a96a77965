// Cap table charts, drawn from the figures the server embedded (the page shows them as tables too).
document.addEventListener("DOMContentLoaded", () => {
  const node = document.getElementById("cap-table-chart-data");
  if (!node || !window.Chart) return;
  const data = JSON.parse(node.textContent);
  const palette = ["#2a6f97", "#52b788", "#f4a261", "#e76f51", "#8e7dbe", "#264653", "#e9c46a", "#90be6d", "#577590", "#f9844a", "#adb5bd"];
  const base = { responsive: true, maintainAspectRatio: false, animation: false };
  const draw = (id, config) => {
    const canvas = document.getElementById(id);
    if (canvas) new window.Chart(canvas, config);
  };
  draw("chart-concentration", {
    type: "doughnut",
    data: { labels: data.concentration.labels, datasets: [{ label: "Units", data: data.concentration.units, backgroundColor: palette }] },
    options: { ...base, plugins: { legend: { position: "bottom" } } },
  });
  draw("chart-countries", {
    type: "bar",
    data: { labels: data.countries.labels, datasets: [{ label: "Holders", data: data.countries.holders, backgroundColor: "#2a6f97" }] },
    options: { ...base, indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  draw("chart-exemptions", {
    type: "doughnut",
    data: { labels: data.exemptions.labels, datasets: [{ label: "Holders", data: data.exemptions.holders, backgroundColor: palette }] },
    options: { ...base, plugins: { legend: { position: "bottom" } } },
  });
  draw("chart-history", {
    type: "line",
    data: {
      labels: data.history.labels,
      datasets: [
        { label: "Holders", data: data.history.holders, borderColor: "#2a6f97", yAxisID: "holders", stepped: true },
        { label: "Units held", data: data.history.supply, borderColor: "#52b788", yAxisID: "supply", stepped: true },
      ],
    },
    options: {
      ...base,
      scales: {
        holders: { type: "linear", position: "left", beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Holders" } },
        supply: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "Units" } },
      },
    },
  });
});
