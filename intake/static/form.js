// Niceties only: the form works the same with JavaScript off.
document.addEventListener("DOMContentLoaded", () => {
  const body = document.querySelector("[data-prompt-target]");
  if (!body) return;
  // Ask the question that fits: a tip or a question.
  const label = document.querySelector(`label[for="${body.id}"]`);
  for (const radio of document.querySelectorAll("input[name=kind]")) {
    radio.addEventListener("change", () => {
      if (radio.checked && label) label.textContent = radio.dataset.prompt;
    });
  }
  // A character counter under the text, announced politely to screen readers.
  const template = body.dataset.counter;
  if (!template) return;
  const counter = document.createElement("p");
  counter.className = "counter";
  counter.setAttribute("aria-live", "polite");
  const update = () => {
    counter.textContent = template
      .replace("%(n)s", String(body.value.length))
      .replace("%(max)s", body.getAttribute("maxlength") || "");
  };
  body.insertAdjacentElement("afterend", counter);
  body.addEventListener("input", update);
  update();
});
