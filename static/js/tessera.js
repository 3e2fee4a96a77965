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
});
