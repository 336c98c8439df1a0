// Progressive enhancements; every page works without this file.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.classList.contains("confirm-delete") && !window.confirm("Delete this for good?")) {
    event.preventDefault();
  }
});

// "Print or save as PDF": the browser's print dialog offers both.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});

// A form's unsent copy (unsent.js) goes once the server confirms the save: the
// response to the save named the copy in the kb_saved cookie.
(() => {
  const saved = document.cookie.match(/(?:^|;\s*)kb_saved=([^;]*)/);
  if (!saved) return;
  try {
    localStorage.removeItem(decodeURIComponent(saved[1].replace(/^"|"$/g, "")));
  } catch {
    // No storage, no copy to drop.
  }
  document.cookie = "kb_saved=; Max-Age=0; path=/; SameSite=Lax";
})();

// At sign-out every unsent copy goes: the next person at this browser must not see them.
document.addEventListener("submit", (event) => {
  if (!event.target.matches("form[action$='/logout']")) return;
  try {
    Object.keys(localStorage)
      .filter((key) => key.startsWith("kb-unsent:"))
      .forEach((key) => localStorage.removeItem(key));
  } catch {
    // No storage, nothing kept.
  }
});
