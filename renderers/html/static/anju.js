// Anju's small script (no inline scripts: the pages' CSP forbids them).
// - [data-select-all]: a checkbox that checks every box named by its value (bulk actions).
// - [data-confirm]: on a form, or on the submit button pressed, asks before the form submits.
// - the side menu starts closed on a phone screen.
document.addEventListener("change", function (event) {
  var box = event.target;
  if (box.matches && box.matches("input[data-select-all]")) {
    document.querySelectorAll('input[name="' + box.dataset.selectAll + '"]').forEach(function (b) {
      b.checked = box.checked;
    });
  }
});
document.addEventListener("submit", function (event) {
  var form = event.target;
  var button = event.submitter;
  var text = (button && button.dataset && button.dataset.confirm) ||
    (form.dataset && form.dataset.confirm);
  if (text && !window.confirm(text)) { event.preventDefault(); }
});
document.addEventListener("DOMContentLoaded", function () {
  var side = document.querySelector("details.side");
  if (side && window.matchMedia("(max-width: 760px)").matches) { side.open = false; }
});
