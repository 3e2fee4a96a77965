// Vote by signing an EIP-712 message (eth_signTypedData_v4) with any EIP-1193 wallet; the portal verifies it.
(() => {
  const root = document.getElementById("ballot-sign");
  if (!root) return;
  const button = root.querySelector("[data-ballot-sign]");
  const status = root.querySelector("[data-ballot-status]");
  const form = document.getElementById("vote-form");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  const show = (text, kind) => {
    status.className = `alert alert-${kind} mt-3`;
    status.textContent = text;
    status.hidden = false;
  };

  const call = async (url, options) => {
    const response = await fetch(url, { credentials: "same-origin", ...options });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data.error || {};
      const details = error.details && Object.values(error.details).flat().join(" ");
      throw new Error(details ? `${error.message} ${details}` : error.message || `The portal answered ${response.status}.`);
    }
    return data;
  };

  button.addEventListener("click", async () => {
    const chosen = form.querySelector("input[name=option]:checked");
    if (!chosen) {
      show("Choose an option first.", "warning");
      return;
    }
    const provider = window.ethereum;
    if (!provider || typeof provider.request !== "function") {
      show("No browser wallet was found. Vote with the button above instead; it counts the same.", "warning");
      return;
    }
    button.disabled = true;
    try {
      show("Waiting for your wallet…", "info");
      const accounts = await provider.request({ method: "eth_requestAccounts" });
      if (!accounts || !accounts.length) throw new Error("The wallet shared no account.");
      const message = await call(`${root.dataset.messageUrl}?option=${encodeURIComponent(chosen.value)}`, {
        headers: { Accept: "application/json" },
      });
      show("Sign the vote in your wallet. It costs no gas and moves no funds.", "info");
      const signature = await provider.request({
        method: "eth_signTypedData_v4",
        params: [accounts[0], JSON.stringify(message.typed_data)],
      });
      const vote = await call(root.dataset.voteUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
        body: JSON.stringify({ option: Number(chosen.value), nonce: message.nonce, signature }),
      });
      show(`Your vote “${vote.option}” signed by ${vote.signer_wallet} is recorded with ${vote.power} units.`, "success");
      window.setTimeout(() => window.location.reload(), 800);
    } catch (error) {
      show(error && error.message ? error.message : String(error), "danger");
    } finally {
      button.disabled = false;
    }
  });
})();
