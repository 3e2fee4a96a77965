// Register exports: each running job's bar follows its progress; the download appears when it is ready.
document.addEventListener("DOMContentLoaded", () => {
  const stream = document.getElementById("stream-form");
  if (stream) {
    stream.addEventListener("submit", (event) => {
      event.preventDefault();
      const url = new URL(stream.querySelector("[data-stream-select]").value, window.location.href);
      const asOf = document.getElementById("stream-as-of").value;
      if (asOf) url.searchParams.set("as_of", asOf);
      window.location.assign(url.toString());
    });
  }

  const rows = Array.from(document.querySelectorAll("tr[data-job][data-live='1']"));
  const follow = (row) => {
    const bar = row.querySelector("[data-bar]");
    const poll = async () => {
      try {
        const response = await fetch(row.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (response.ok) {
          const p = await response.json();
          bar.className = bar.className.replace(/\bpct-\d+\b/, `pct-${p.percent}`);
          bar.textContent = `${p.percent}%`;
          bar.parentElement.setAttribute("aria-valuenow", String(p.percent));
          const rowsText = p.rows_total === null ? "" : ` · ${p.rows_done} of ${p.rows_total} rows`;
          row.querySelector("[data-state]").textContent = `${p.state_label}${rowsText}`;
          if (p.state === "done") {
            bar.classList.add("bg-success");
            row.querySelector("[data-download]").hidden = false;
          }
          if (p.state === "failed") {
            bar.classList.add("bg-danger");
            const error = row.querySelector("[data-error]");
            error.textContent = p.error;
            error.hidden = false;
          }
          if (p.finished) return;
        }
      } catch (error) {
        // The network dropped for a moment: try again on the next tick.
      }
      window.setTimeout(poll, 2000);
    };
    window.setTimeout(poll, 1000);
  };
  rows.forEach(follow);
});
