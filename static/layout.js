/* Layout help: on small screens the main menu folds behind a "Menu" button
   and the search filters start folded so that results come first (without
   JavaScript both stay open); on any screen, a field that gets focus is
   scrolled clear of its form's sticky save bar. */
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

  // The browser scrolls a focused field into view only when it is outside
  // the window, so one just behind the sticky bar would stay hidden there.
  var CLEARANCE = 12;
  document.addEventListener("focusin", function (event) {
    var form = event.target.closest && event.target.closest("form");
    var bar = form && form.querySelector(".form-actions");
    if (!bar || bar.contains(event.target)) return;
    var barTop = bar.getBoundingClientRect().top;
    var field = event.target.getBoundingClientRect();
    if (field.top < barTop && field.bottom + CLEARANCE > barTop) {
      window.scrollBy(0, field.bottom + CLEARANCE - barTop);
    }
  });
})();
