// Starts Swagger UI on /docs. A file of its own, not an inline script, so the page's Content-Security-Policy
// can allow scripts from the gateway only. validatorUrl null: no call to the online validator badge.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  showExtensions: true,
  showCommonExtensions: true,
});
