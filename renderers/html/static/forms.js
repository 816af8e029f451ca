// Record forms: re-evaluate which fields are visible, read-only and required as the user
// types. The form names its state URL in data-form-state; the server answers
// {"fields": {name: {visible, readonly, required}}, "sections": [visible, ...]} (see
// renderers/html/forms.py). Only attributes change: values and focus stay as they are.
(function () {
  "use strict";
  var DELAY = 300;

  function apply(state) {
    Object.keys(state.fields).forEach(function (name) {
      var field = state.fields[name];
      var wrap = document.getElementById("wrap-" + name);
      var input = document.getElementById("field-" + name);
      if (!wrap || !input) { return; }
      wrap.hidden = !field.visible;
      if (input.dataset.lock === "disable") { input.disabled = field.readonly; }
      else { input.readOnly = field.readonly; }
      var search = document.getElementById("pick-" + name);
      if (search) { search.disabled = field.readonly; }
      if (field.required) { input.setAttribute("aria-required", "true"); }
      else { input.removeAttribute("aria-required"); }
      var label = wrap.querySelector("label[for='field-" + name + "']");
      if (label) { label.classList.toggle("required", field.required); }
    });
    state.sections.forEach(function (visible, index) {
      var section = document.getElementById("section-" + index);
      if (section) { section.hidden = !visible; }
    });
  }

  function watch(form) {
    var timer = null;
    var sent = 0;
    function refresh() {
      var body = new URLSearchParams();
      new FormData(form).forEach(function (value, name) {
        if (typeof value === "string") { body.append(name, value); }  // no file uploads
      });
      var mine = ++sent;
      fetch(form.dataset.formState, {
        method: "POST", body: body, credentials: "same-origin",
        headers: {"Accept": "application/json"}
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (state) {
        if (state && mine === sent) { apply(state); }  // only the newest answer counts
      }).catch(function () { /* offline: the server checks again on save */ });
    }
    function later(event) {
      if (event.target.form !== form) { return; }  // the pickers' search boxes
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, DELAY);
    }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-form-state]").forEach(watch);
  });
})();
