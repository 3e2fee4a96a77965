// NAV per unit charts, drawn from the figures the server embedded (each page shows them as a table too).
// NAVs arrive as exact integer counts of 10^-scale of the currency; they are divided only to draw and label.
document.addEventListener("DOMContentLoaded", () => {
  if (!window.Chart) return;
  document.querySelectorAll("canvas.nav-chart").forEach((canvas) => {
    const node = document.getElementById(canvas.dataset.source);
    if (!node) return;
    const data = JSON.parse(node.textContent);
    const divisor = 10 ** data.scale;
    const label = (value) => `${Number(value).toLocaleString(undefined, { maximumFractionDigits: data.scale })} ${data.currency}`;
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [{ label: `NAV per unit (${data.currency})`, data: data.nav.map((n) => n / divisor), borderColor: "#2a6f97", tension: 0 }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { ticks: { callback: (value) => label(value) } } },
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: (ctx) => label(ctx.parsed.y) } } },
      },
    });
  });
});
