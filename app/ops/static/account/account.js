// Sends the token from this page's address (and a new password, when asked
// for) to the API; shows the API's answer. The token never leaves this origin.
"use strict";
const token = new URLSearchParams(window.location.search).get("token") || "";
const form = document.querySelector("form");
const outcome = document.getElementById("outcome");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { token };
  if (form.elements.password) body.password = form.elements.password.value;
  const response = await fetch(form.dataset.endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status === 204) {
    outcome.textContent = "Done. You can close this page and sign in.";
    form.hidden = true;
  } else {
    const problem = await response.json().catch(() => ({}));
    outcome.textContent = problem.detail || problem.title || `Failed (${response.status}).`;
  }
});
