// Starts Swagger UI on Folio's spec. It lives in a file, not inline in the
// page, so the page's Content-Security-Policy can refuse inline scripts.
// validatorUrl: null keeps Swagger UI from sending the spec to its public
// validator: the page talks to Folio and nothing else.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
