// Progressive enhancements; every page works without this file.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.classList.contains("confirm-delete") && !window.confirm("Delete this for good?")) {
    event.preventDefault();
  }
});
