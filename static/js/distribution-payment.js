// Distributions: while a distribution is paying, its page fetches the payment panel every few seconds.
document.addEventListener("DOMContentLoaded", () => {
  const poll = async () => {
    const panel = document.getElementById("payment-progress");
    if (!panel || !panel.dataset.pollUrl) return;
    try {
      const response = await fetch(panel.dataset.pollUrl, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (response.ok) {
        const holder = document.createElement("div");
        holder.innerHTML = await response.text();
        const fresh = holder.querySelector("#payment-progress");
        if (fresh) {
          const changed = fresh.dataset.state !== panel.dataset.state;
          panel.replaceWith(fresh);
          // Paid: the page reloads so the state badge and the register show each line's payment.
          if (changed) {
            window.location.reload();
            return;
          }
        }
      }
    } catch (error) {
      // The network dropped for a moment: try again on the next tick.
    }
    window.setTimeout(poll, 3000);
  };
  window.setTimeout(poll, 3000);
});
