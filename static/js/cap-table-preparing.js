// The cap table as of a past date of a large register: a worker prepares it; this page asks again every few
// seconds and opens the register once the answer is no longer "preparing".
document.addEventListener("DOMContentLoaded", () => {
  if (!document.querySelector("[data-snapshot-preparing]")) return;
  const url = window.location.href;
  const poll = async () => {
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (response.ok) {
        const html = await response.text();
        if (!html.includes("data-snapshot-preparing")) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // The network dropped for a moment: try again on the next tick.
    }
    window.setTimeout(poll, 3000);
  };
  window.setTimeout(poll, 2000);
});
