// Link a wallet by signing a Sign-In with Ethereum (EIP-4361) message with any EIP-1193 provider.
(() => {
  const root = document.getElementById("wallet-link");
  if (!root) return;
  const button = root.querySelector("[data-wallet-connect]");
  const status = root.querySelector("[data-wallet-status]");
  const preview = root.querySelector("[data-wallet-message]");
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;

  const show = (text, kind) => {
    status.className = `alert alert-${kind} mt-3`;
    status.textContent = text;
    status.hidden = false;
  };

  const toHex = (text) =>
    "0x" + Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");

  const post = async (url, body) => {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data.error || {};
      const details = error.details && Object.values(error.details).flat().join(" ");
      throw new Error(details ? `${error.message} ${details}` : error.message || `The portal answered ${response.status}.`);
    }
    return data;
  };

  button.addEventListener("click", async () => {
    const provider = window.ethereum;
    if (!provider || typeof provider.request !== "function") {
      show("No browser wallet was found. Install a wallet extension, or ask the issuer to record a wallet its custodian holds for you.", "warning");
      return;
    }
    button.disabled = true;
    try {
      show("Waiting for your wallet…", "info");
      const accounts = await provider.request({ method: "eth_requestAccounts" });
      if (!accounts || !accounts.length) throw new Error("The wallet shared no account.");
      const address = accounts[0];
      const chainId = parseInt(await provider.request({ method: "eth_chainId" }), 16);
      const challenge = await post(root.dataset.challengeUrl, { address, chain_id: chainId });
      preview.textContent = challenge.message;
      preview.hidden = false;
      show("Sign the message in your wallet. It costs no gas and moves no funds.", "info");
      const signature = await provider.request({ method: "personal_sign", params: [toHex(challenge.message), address] });
      const linked = await post(root.dataset.linkUrl, { message: challenge.message, signature });
      show(`Wallet ${linked.address} is linked to your account.`, "success");
      window.setTimeout(() => window.location.reload(), 600);
    } catch (error) {
      show(error && error.message ? error.message : String(error), "danger");
    } finally {
      button.disabled = false;
    }
  });
})();
