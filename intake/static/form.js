// Change the question the body asks when the reader switches between tip and question.
document.addEventListener("DOMContentLoaded", () => {
  const body = document.querySelector("[data-prompt-target]");
  if (!body) return;
  const label = document.querySelector(`label[for="${body.id}"]`);
  for (const radio of document.querySelectorAll("input[name=kind]")) {
    radio.addEventListener("change", () => {
      if (radio.checked && label) label.textContent = radio.dataset.prompt;
    });
  }
});
