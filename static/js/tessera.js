// Small progressive enhancements. Pages work without them.
document.addEventListener("DOMContentLoaded", () => {
  // Buttons that change something ask once before the form is sent.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  // Give allauth's plain form inputs Bootstrap's look.
  document.querySelectorAll(".auth-card input:not([type=checkbox]):not([type=radio]):not([type=hidden]):not([type=submit])")
    .forEach((input) => input.classList.add("form-control"));
  document.querySelectorAll(".auth-card input[type=checkbox]").forEach((input) => input.classList.add("form-check-input"));
  // A table that scrolls inside its card can be scrolled from the keyboard (WCAG 2.1.1).
  document.querySelectorAll(".table-responsive").forEach((region) => {
    if (region.scrollWidth > region.clientWidth && !region.hasAttribute("tabindex")) {
      region.setAttribute("tabindex", "0");
      region.setAttribute("role", "region");
      const caption = region.querySelector("caption");
      const heading = region.closest("section, .card")?.querySelector("h2, h3");
      region.setAttribute("aria-label", (caption || heading)?.textContent.trim() || "Table");
    }
  });
  // Long choices (countries) can be searched by typing: the select stays a real <select> for the form and
  // for browsers without this script.
  if (window.TomSelect) {
    document.querySelectorAll("select[data-searchable]").forEach((select) => {
      const multiple = select.multiple;
      new window.TomSelect(select, {
        create: false,
        maxOptions: null,
        allowEmptyOption: true,
        plugins: multiple ? ["remove_button"] : [],
        render: { no_results: () => '<div class="no-results">No country matches</div>' },
      });
    });
  }
  // Copy buttons beside transaction hashes and addresses put the whole value on the clipboard and say so.
  const announcer = document.createElement("div");
  announcer.className = "visually-hidden";
  announcer.setAttribute("aria-live", "polite");
  document.body.appendChild(announcer);
  const copyText = (text) => {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "copy-scratch";
    document.body.appendChild(area);
    area.select();
    const copied = document.execCommand("copy");
    area.remove();
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  };
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    copyText(button.dataset.copy).then(
      () => {
        button.textContent = "Copied";
        announcer.textContent = "Copied to the clipboard.";
      },
      () => {
        button.textContent = "Select and copy";
        announcer.textContent = "The browser refused to copy; select the text and copy it.";
      },
    );
    window.setTimeout(() => { button.textContent = "Copy"; }, 2000);
  });
});
