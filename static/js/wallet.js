// What the portal asks of a browser wallet (any EIP-1193 provider), in one module: link a wallet by signing a
// Sign-In with Ethereum (EIP-4361) message, sign a vote as EIP-712 typed data, and send a token transfer the portal
// has checked. Each part starts only on a page that has its element; without a wallet each says what else to do.
(() => {
  const walletOf = () => {
    const provider = window.ethereum;
    return provider && typeof provider.request === "function" ? provider : null;
  };

  const statusIn = (root, selector) => {
    const status = root.querySelector(selector);
    return (text, kind) => {
      status.className = `alert alert-${kind} mt-3`;
      status.textContent = text;
      status.hidden = false;
    };
  };

  // A refusal in the wallet (EIP-1193 code 4001) is the holder's choice, not a failure.
  const reasonOf = (error) => {
    if (error && error.code === 4001) return "You declined in your wallet; nothing was signed or sent.";
    return error && error.message ? error.message : String(error);
  };

  const call = async (url, options = {}) => {
    const response = await fetch(url, { credentials: "same-origin", ...options });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data.error || {};
      const details = error.details && Object.values(error.details).flat().join(" ");
      throw new Error(details ? `${error.message} ${details}` : error.message || `The portal answered ${response.status}.`);
    }
    return data;
  };

  const post = (url, csrf, body) =>
    call(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    });

  const accountsOf = async (wallet) => {
    const accounts = await wallet.request({ method: "eth_requestAccounts" });
    if (!accounts || !accounts.length) throw new Error("The wallet shared no account.");
    return accounts;
  };

  const csrfIn = (element) => element.querySelector("input[name=csrfmiddlewaretoken]").value;

  const toHex = (text) =>
    "0x" + Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");

  // One click at a time: the button stays disabled while the wallet and the portal answer.
  const onClick = (button, show, action) => {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await action();
      } catch (error) {
        show(reasonOf(error), "danger");
      } finally {
        button.disabled = false;
      }
    });
  };

  const walletLink = (root) => {
    const button = root.querySelector("[data-wallet-connect]");
    const preview = root.querySelector("[data-wallet-message]");
    const show = statusIn(root, "[data-wallet-status]");
    const csrf = csrfIn(root);
    onClick(button, show, async () => {
      const wallet = walletOf();
      if (!wallet) {
        show("No browser wallet was found. Install a wallet extension, or ask the issuer to record a wallet its custodian holds for you.", "warning");
        return;
      }
      show("Waiting for your wallet…", "info");
      const [address] = await accountsOf(wallet);
      const chainId = parseInt(await wallet.request({ method: "eth_chainId" }), 16);
      const challenge = await post(root.dataset.challengeUrl, csrf, { address, chain_id: chainId });
      preview.textContent = challenge.message;
      preview.hidden = false;
      show("Sign the message in your wallet. It costs no gas and moves no funds.", "info");
      const signature = await wallet.request({ method: "personal_sign", params: [toHex(challenge.message), address] });
      const linked = await post(root.dataset.linkUrl, csrf, { message: challenge.message, signature });
      show(`Wallet ${linked.address} is linked to your account.`, "success");
      window.setTimeout(() => window.location.reload(), 600);
    });
  };

  const ballotSign = (root) => {
    const button = root.querySelector("[data-ballot-sign]");
    const form = document.getElementById("vote-form");
    const show = statusIn(root, "[data-ballot-status]");
    const csrf = csrfIn(form);
    if (walletOf()) root.hidden = false; // the portal's own vote button works without a wallet
    onClick(button, show, async () => {
      const chosen = form.querySelector("input[name=option]:checked");
      if (!chosen) {
        show("Choose an option first.", "warning");
        return;
      }
      const wallet = walletOf();
      if (!wallet) {
        show("No browser wallet was found. Vote with the button above instead; it counts the same.", "warning");
        return;
      }
      show("Waiting for your wallet…", "info");
      const [account] = await accountsOf(wallet);
      const message = await call(`${root.dataset.messageUrl}?option=${encodeURIComponent(chosen.value)}`, {
        headers: { Accept: "application/json" },
      });
      show("Sign the vote in your wallet. It costs no gas and moves no funds.", "info");
      const signature = await wallet.request({
        method: "eth_signTypedData_v4",
        params: [account, JSON.stringify(message.typed_data)],
      });
      const vote = await post(root.dataset.voteUrl, csrf, { option: Number(chosen.value), nonce: message.nonce, signature });
      show(`Your vote “${vote.option}” signed by ${vote.signer_wallet} is recorded with ${vote.power} units.`, "success");
      window.setTimeout(() => window.location.reload(), 800);
    });
  };

  // The portal checks the transfer again (its rules and the token's answer) and only then hands over the
  // transaction to sign; the wallet sends it, and the portal follows its hash to the register.
  const transferSign = (root) => {
    const button = root.querySelector("[data-transfer-sign]");
    const show = statusIn(root, "[data-transfer-status]");
    const csrf = csrfIn(root);
    onClick(button, show, async () => {
      const wallet = walletOf();
      if (!wallet) {
        show("No browser wallet was found. Open this page in a browser with the wallet that holds the tokens.", "warning");
        return;
      }
      show("Checking the transfer once more…", "info");
      const prepared = await post(root.dataset.prepareUrl, csrf, {});
      const accounts = await accountsOf(wallet);
      const from = prepared.transaction.from;
      if (!accounts.some((a) => a.toLowerCase() === from.toLowerCase())) {
        throw new Error(`Your wallet shares ${accounts.join(", ")}; switch it to ${from}, the wallet that holds the tokens.`);
      }
      const chainId = parseInt(await wallet.request({ method: "eth_chainId" }), 16);
      if (chainId !== prepared.chain_id) {
        throw new Error(`Your wallet is on chain ${chainId}; switch it to chain ${prepared.chain_id} and try again.`);
      }
      show("Confirm the transfer in your wallet.", "info");
      const hash = await wallet.request({ method: "eth_sendTransaction", params: [prepared.transaction] });
      const sent = await post(root.dataset.submittedUrl, csrf, { tx_hash: hash });
      show(sent.message, "success");
      window.setTimeout(() => window.location.reload(), 1200);
    });
  };

  const parts = { "wallet-link": walletLink, "ballot-sign": ballotSign, "transfer-sign": transferSign };
  for (const [id, start] of Object.entries(parts)) {
    const root = document.getElementById(id);
    if (root) start(root);
  }
})();
