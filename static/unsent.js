// Work is never lost: a form with data-unsent-key keeps an unsent copy of what
// is typed into it in this browser (localStorage), and offers it back when the
// form opens again after an error page, a timeout or a closed tab. kb.js drops
// the copy once the server confirms the save (the kb_saved cookie) and at
// sign-out. Passwords and tokens are never in these forms.
(() => {
  const form = document.querySelector("form[data-unsent-key]");
  if (!form) return;
  const key = form.dataset.unsentKey;
  const SKIP = new Set(["csrf_token", "unsent_key", "action"]);

  // The form's values as [name, value] pairs, the way the browser would post them.
  function values() {
    const pairs = [];
    for (const el of form.elements) {
      if (!el.name || SKIP.has(el.name) || el.disabled) continue;
      if (["submit", "button", "reset", "file"].includes(el.type)) continue;
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked) pairs.push([el.name, el.value]);
      } else if (el.tagName === "SELECT" && el.multiple) {
        for (const option of el.selectedOptions) pairs.push([el.name, option.value]);
      } else {
        pairs.push([el.name, el.value]);
      }
    }
    return pairs;
  }
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

  function read() {
    try {
      const copy = JSON.parse(localStorage.getItem(key));
      return copy && Array.isArray(copy.fields) ? copy : null;
    } catch {
      return null;
    }
  }

  const asSent = values();
  let typed = false;
  let offered = null; // the copy on offer, until the user restores or discards it
  function keep() {
    if (!typed) return;
    const fields = values();
    try {
      if (same(fields, asSent) && !offered) localStorage.removeItem(key);
      else localStorage.setItem(key, JSON.stringify({ savedAt: new Date().toISOString(), fields }));
    } catch {
      // Storage full or switched off: the form still works, without a copy.
    }
  }
  let timer = null;
  function soon() {
    typed = true;
    clearTimeout(timer);
    timer = setTimeout(keep, 300);
  }
  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
  form.addEventListener("kb:rows-changed", soon);
  // Whatever happens to the request, what was typed up to the click is kept.
  form.addEventListener("submit", () => { clearTimeout(timer); keep(); });
  window.addEventListener("pagehide", () => { clearTimeout(timer); keep(); });
  // Signing out drops every copy (kb.js); none may be written after it.
  document.addEventListener("submit", (event) => {
    if (event.target.matches("form[action$='/logout']")) {
      clearTimeout(timer);
      typed = false;
    }
  });

  // ---- the offer ----------------------------------------------------------

  const copy = read();
  if (copy && !same(copy.fields, asSent)) offer(copy);

  function offer(copy) {
    const when = new Date(copy.savedAt).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
    const box = document.createElement("section");
    box.className = "unsent-offer";
    box.setAttribute("aria-label", "Unsent copy");
    const text = document.createElement("p");
    text.textContent = `This browser kept what you typed into this form on ${when}; it was not saved.`;
    const restore = document.createElement("button");
    restore.type = "button";
    restore.className = "primary";
    restore.textContent = `Restore what you typed on ${when}`;
    const discard = document.createElement("button");
    discard.type = "button";
    discard.textContent = "Discard";
    box.append(text, restore, discard);
    form.before(box);
    offered = copy;

    restore.addEventListener("click", () => {
      fill(copy.fields);
      box.remove();
      offered = null;
      typed = true;
      keep();
      const first = form.querySelector("[data-restored]") || form.elements[0];
      first.focus();
    });
    discard.addEventListener("click", () => {
      box.remove();
      offered = null;
      // What has been typed since the page opened is the copy now.
      if (typed) keep();
      else localStorage.removeItem(key);
      const first = [...form.elements].find((el) => el.type !== "hidden" && !el.disabled);
      if (first) first.focus();
    });
  }

  // Put the copy back: first as many reason and quote rows as it had, then each value.
  function fill(pairs) {
    const byName = new Map();
    for (const [name, value] of pairs) byName.set(name, [...(byName.get(name) || []), value]);
    if (form.kbRows) {
      for (const section of form.querySelectorAll("[data-rows]")) {
        const position = new RegExp(`^${section.id}-(\\d+)-`);
        const indexes = pairs.map(([name]) => position.exec(name)).filter(Boolean).map((m) => +m[1]);
        form.kbRows.resize(section.id, indexes.length ? Math.max(...indexes) + 1 : 1);
      }
    }
    for (const el of form.elements) {
      if (!el.name || SKIP.has(el.name) || el.disabled || el.type === "hidden" && !byName.has(el.name)) continue;
      if (["submit", "button", "reset", "file"].includes(el.type)) continue;
      const wanted = byName.get(el.name) || [];
      const before = el.type === "checkbox" ? el.checked : el.value;
      if (el.type === "checkbox" || el.type === "radio") el.checked = wanted.includes(el.value);
      else if (el.tagName === "SELECT" && el.multiple) {
        for (const option of el.options) option.selected = wanted.includes(option.value);
      } else if (wanted.length) el.value = wanted[0];
      if ((el.type === "checkbox" ? el.checked : el.value) !== before) {
        el.setAttribute("data-restored", "");
        // A restored value inside a closed section is opened, so it is seen.
        const details = el.closest("details");
        if (details) details.open = true;
      }
    }
    form.querySelectorAll("#deal-competitors input").forEach((box) => {
      box.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }
})();
