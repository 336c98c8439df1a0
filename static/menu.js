/* The page layout on small screens: the main menu folds behind a "Menu"
   button, and the search filters start folded so that results come first.
   Without JavaScript both stay open. */
(function () {
  "use strict";
  var narrow = window.matchMedia("(max-width: 640px)");

  var toggle = document.querySelector(".menu-toggle");
  if (toggle) {
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    var setOpen = function (open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    };
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    // Escape closes the open menu and puts focus back on its button.
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && narrow.matches) {
        setOpen(false);
        toggle.focus();
      }
    });
  }

  var filters = document.querySelector("details.filters-panel");
  if (filters && window.matchMedia("(max-width: 800px)").matches) {
    filters.open = false;
  }
})();
