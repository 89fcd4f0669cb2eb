// Niceties only: every staff page works the same with JavaScript off.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.reply");
  const pick = document.getElementById("reply_canned");
  if (!form || !pick) return;
  const box = document.getElementById("reply_text");
  const used = document.getElementById("reply_used_canned");
  const to = document.getElementById("reply_to");
  const note = document.getElementById("canned_note");
  // Choosing fills the box at once, so the "Use" button (for pages without script) can go.
  for (const button of form.querySelectorAll("button.use-canned")) button.hidden = true;
  let filled = null;

  // The language of the reader the reply goes to: this one's, or a duplicate's.
  const reader = () => {
    const option = to && to.selectedOptions[0];
    const source = option && option.dataset.locale ? option.dataset : form.dataset;
    return { code: source.locale || "en", name: source.localeName || "English" };
  };

  const fill = () => {
    const option = pick.selectedOptions[0];
    if (!option || !option.value) {
      used.value = "";
      note.textContent = "";
      filled = null;
      return;
    }
    const { code, name } = reader();
    const key = "text" + code.charAt(0).toUpperCase() + code.slice(1);
    const own = option.dataset[key];
    box.value = own || option.dataset.textEn || "";
    used.value = option.value;
    filled = box.value;
    note.textContent = own
      ? `“${option.text}” is in the box in ${name}, the reader's language.`
      : `“${option.text}” has no ${name} text (the reader's language): the English one is in the box.`;
  };

  pick.addEventListener("change", fill);
  // Another reader may read another language: refill, unless the text was edited since.
  if (to) to.addEventListener("change", () => {
    if (filled !== null && box.value === filled) fill();
  });
  box.addEventListener("input", () => {
    if (box.value === "") used.value = "";
  });
});
