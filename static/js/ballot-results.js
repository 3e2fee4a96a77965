// A closed ballot's tally as a bar chart, drawn from the figures the server embedded (the page shows them as a table too).
document.addEventListener("DOMContentLoaded", () => {
  const node = document.getElementById("ballot-chart-data");
  const canvas = document.getElementById("chart-ballot");
  if (!node || !canvas || !window.Chart) return;
  const data = JSON.parse(node.textContent);
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        { label: "Units", data: data.power, backgroundColor: "#2a6f97", xAxisID: "units" },
        { label: "Holders", data: data.holders, backgroundColor: "#52b788", xAxisID: "holders" },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      indexAxis: "y",
      scales: {
        units: { type: "linear", position: "bottom", beginAtZero: true, title: { display: true, text: "Units" } },
        holders: { type: "linear", position: "top", beginAtZero: true, ticks: { precision: 0 }, grid: { drawOnChartArea: false }, title: { display: true, text: "Holders" } },
      },
    },
  });
});
