// The accreditation form shows only the fields of the basis chosen; without this script every field shows
// and the server keeps only the chosen basis's figures anyway.
document.addEventListener("DOMContentLoaded", () => {
  const choice = document.querySelector("[data-basis-choice]");
  if (!choice) return;
  const groups = document.querySelectorAll("[data-basis]");
  const show = () => {
    const checked = choice.querySelector("input[type=radio]:checked");
    const basis = checked ? checked.value : "";
    groups.forEach((group) => {
      const applies = group.dataset.basis.split(" ").includes(basis);
      group.hidden = !applies;
      group.querySelectorAll("input, select, textarea").forEach((field) => { field.disabled = !applies; });
    });
  };
  choice.addEventListener("change", show);
  show();
});
