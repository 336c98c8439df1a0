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
