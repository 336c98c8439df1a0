// The debrief form, enhanced: reasons and quotes are added, removed and moved
// in place, and the choices follow the outcome and the deal's competitors.
// Without this file every button posts the form and the server does the same.
(() => {
  const form = document.querySelector("form.debrief-form");
  if (!form) return;

  const status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  form.append(status);
  const say = (text) => { status.textContent = text; };

  // ---- rows -------------------------------------------------------------

  const sections = [...form.querySelectorAll("[data-rows]")];
  const rowsOf = (section) => [...section.querySelectorAll(":scope > [data-row]")];
  const firstControl = (row) => row.querySelector(".field select, .field textarea, .field input");
  const title = (section) => section.dataset.rows[0].toUpperCase() + section.dataset.rows.slice(1);

  // Names and ids carry a row's position ("reasons-2-category"); numbering the
  // rows again after each change makes the form post them in the order shown.
  function renumber(section) {
    const kind = section.dataset.rows;
    const plural = section.id;
    const position = new RegExp(`^${plural}-\\d+`);
    rowsOf(section).forEach((row, i, rows) => {
      const at = `${plural}-${i}`;
      row.id = at;
      for (const el of row.querySelectorAll("[name], [id], [for], [aria-describedby]")) {
        for (const attr of ["name", "id", "for"]) {
          const value = el.getAttribute(attr);
          if (value && position.test(value)) el.setAttribute(attr, value.replace(position, at));
        }
        const described = el.getAttribute("aria-describedby");
        if (described) {
          el.setAttribute("aria-describedby",
            described.split(" ").map((id) => id.replace(position, at)).join(" "));
        }
      }
      row.querySelector(".row-head h3").textContent = `${title(section)} ${i + 1}`;
      for (const button of row.querySelectorAll(".row-tools button")) {
        const verb = button.value.split("_")[0];
        button.value = `${verb}_${kind}:${i}`;
        const label = { up: `Move ${kind} ${i + 1} up`, down: `Move ${kind} ${i + 1} down`,
          remove: `Remove ${kind} ${i + 1}` }[verb];
        button.setAttribute("aria-label", label);
        button.disabled = (verb === "up" && i === 0) || (verb === "down" && i === rows.length - 1);
      }
    });
    form.dispatchEvent(new CustomEvent("kb:rows-changed"));
  }

  // Empty a row: no value, no error left from the server.
  function clear(row) {
    for (const el of row.querySelectorAll("input, textarea, select")) {
      if (el.type === "checkbox") el.checked = el.defaultChecked = false;
      else if (el.tagName === "SELECT") {
        for (const option of el.options) option.selected = option.defaultSelected = false;
        el.selectedIndex = 0;
      } else el.value = el.defaultValue = "";
      el.removeAttribute("autofocus");
      el.removeAttribute("aria-invalid");
      const described = (el.getAttribute("aria-describedby") || "")
        .split(" ").filter((id) => id && !id.endsWith("-error"));
      if (described.length) el.setAttribute("aria-describedby", described.join(" "));
      else el.removeAttribute("aria-describedby");
    }
    row.querySelectorAll("p.error").forEach((p) => p.remove());
    row.querySelectorAll(".has-error").forEach((f) => f.classList.remove("has-error"));
  }

  function add(section) {
    const rows = rowsOf(section);
    const row = rows[0].cloneNode(true);
    clear(row);
    rows[rows.length - 1].after(row);
    renumber(section);
    return row;
  }

  function remove(section, row) {
    const rows = rowsOf(section);
    const i = rows.indexOf(row);
    if (rows.length === 1) clear(row);
    else row.remove();
    renumber(section);
    const after = rowsOf(section);
    return after[Math.max(0, Math.min(i, after.length - 1))];
  }

  function move(section, row, verb) {
    const other = verb === "up" ? row.previousElementSibling : row.nextElementSibling;
    if (!other || !other.hasAttribute("data-row")) return;
    if (verb === "up") other.before(row);
    else other.after(row);
    renumber(section);
  }

  // Make `section` hold `count` rows, adding empty ones or dropping the last.
  function resize(section, count) {
    while (rowsOf(section).length < count) add(section);
    while (rowsOf(section).length > Math.max(1, count)) remove(section, rowsOf(section).pop());
  }

  form.addEventListener("click", (event) => {
    const button = event.target.closest("button[name=action]");
    const section = button && button.closest("[data-rows]");
    if (!section) return;
    const [verb] = button.value.split("_");
    const noun = section.dataset.rows;
    event.preventDefault();
    if (verb === "add") {
      const row = add(section);
      firstControl(row).focus();
      say(`${title(section)} ${rowsOf(section).length} added.`);
      return;
    }
    const row = button.closest("[data-row]");
    if (verb === "remove") {
      const number = rowsOf(section).indexOf(row) + 1;
      firstControl(remove(section, row)).focus();
      say(`${title(section)} ${number} removed.`);
    } else {
      move(section, row, verb);
      // The same button, now on the row's new place, unless it has reached the end.
      (button.disabled ? firstControl(row) : button).focus();
      say(`${title(section)} moved to place ${rowsOf(section).indexOf(row) + 1} of ${noun}s.`);
    }
  });

  form.kbRows = {
    count: (plural) => rowsOf(form.querySelector(`#${plural}`)).length,
    resize: (plural, count) => resize(form.querySelector(`#${plural}`), count),
  };

  // ---- choices that follow the deal -------------------------------------

  const outcome = form.querySelector("#deal-outcome");
  const winner = form.querySelector("#deal-winner");
  if (outcome && winner) {
    // On a win "who won" is us; on anything else "us" is not an answer.
    outcome.addEventListener("change", () => {
      if (outcome.value === "won" && !winner.value) winner.value = "us";
      else if (outcome.value !== "won" && winner.value === "us") winner.value = "";
    });
  }

  // A reason's competitor list starts with the competitors ticked for the deal.
  const ticked = form.querySelector("#deal-competitors");
  function competitorsFirst() {
    const inDeal = [...ticked.querySelectorAll("input:checked")].map((box) => box.value);
    for (const select of form.querySelectorAll("select[id$='-competitor']")) {
      const chosen = select.value;
      const names = [...select.options].map((o) => o.value).filter(Boolean).sort();
      select.replaceChildren(new Option("—", ""));
      const group = (label, list) => {
        if (!list.length) return;
        const parent = label ? document.createElement("optgroup") : select;
        if (label) { parent.label = label; select.append(parent); }
        list.forEach((name) => parent.append(new Option(name, name)));
      };
      const first = names.filter((n) => inDeal.includes(n));
      group(first.length ? "In this deal" : null, first);
      group(first.length ? "Other competitors" : null, names.filter((n) => !inDeal.includes(n)));
      select.value = chosen;
    }
  }
  if (ticked) ticked.addEventListener("change", competitorsFirst);
})();
