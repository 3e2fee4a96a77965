// Token administration: the action page fetches its progress fragment until the action is finished.
document.addEventListener("DOMContentLoaded", () => {
  const poll = async () => {
    const panel = document.getElementById("token-admin-progress");
    if (!panel || !panel.dataset.pollUrl) return;
    try {
      const response = await fetch(panel.dataset.pollUrl, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (response.ok) {
        const holder = document.createElement("div");
        holder.innerHTML = await response.text();
        const fresh = holder.querySelector("#token-admin-progress");
        if (fresh) {
          const changed = fresh.dataset.state !== panel.dataset.state;
          panel.replaceWith(fresh);
          // The approval buttons belong to the proposal: once it moved on, the page reloads to drop them.
          if (changed && document.getElementById("decide")) {
            window.location.reload();
            return;
          }
        }
      }
    } catch (error) {
      // The network dropped for a moment: try again on the next tick.
    }
    window.setTimeout(poll, 2000);
  };
  window.setTimeout(poll, 2000);
});
