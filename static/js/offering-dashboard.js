// Issuer dashboard: the chart over time, and live minting progress while the offering closes.
document.addEventListener("DOMContentLoaded", () => {
  const dataNode = document.getElementById("offering-chart-data");
  const canvas = document.getElementById("offering-chart");
  if (dataNode && canvas && window.Chart) {
    const data = JSON.parse(dataNode.textContent);
    const exponent = data.currency === "JPY" ? 0 : 2;
    const major = (minor) => minor / 10 ** exponent; // display only; amounts stay integers server-side
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [
          { label: `Committed (${data.currency})`, data: data.committed.map(major), borderColor: "#2a6f97", tension: 0.2 },
          { label: `Paid (${data.currency})`, data: data.paid.map(major), borderColor: "#52b788", tension: 0.2 },
        ],
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true } } },
    });
  }

  const panel = document.getElementById("mint-progress");
  if (!panel || panel.dataset.live !== "1") return;
  const bar = document.querySelector("#mint-bar .progress-bar");
  const setWidth = (percent) => {
    bar.className = bar.className.replace(/\bpct-\d+\b/, `pct-${percent}`);
    bar.textContent = `${percent}%`;
    document.getElementById("mint-bar").setAttribute("aria-valuenow", String(percent));
  };
  const poll = async () => {
    try {
      const response = await fetch(panel.dataset.progressUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      const p = await response.json();
      document.getElementById("mint-holders").textContent = `${p.mint.holders_confirmed} of ${p.mint.holders}`;
      document.getElementById("mint-batches").textContent = `${p.mint.confirmed} of ${p.mint.batches}`;
      document.getElementById("offering-status").textContent = p.status_label;
      setWidth(p.mint.percent);
      if (p.status !== "closing") return;
    } catch (error) {
      // The network dropped for a moment: try again on the next tick.
    }
    window.setTimeout(poll, 3000);
  };
  window.setTimeout(poll, 3000);
});
