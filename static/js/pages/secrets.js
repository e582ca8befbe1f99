// Image registry secrets: list, create (scheme, address, credentials, default), Validate inline
// (login and push permission reported separately), delete by typing the name.
import { api } from "../api.js";
import {
  confirmByName,
  field,
  formatTime,
  formValues,
  h,
  openDialog,
  pageConfig,
  setFieldError,
  toast,
} from "../ui.js";
import { localizeMessage } from "../messages.js";
import { DataTable } from "../widgets/table.js";

const config = pageConfig();
const base = `${config.api.project}/registrysecrets/`;
const canOperate = Boolean(config.can.operate);

// A check's message in the page's language: by its code when it failed, a plain "ok" when not.
function checkMessage(ok, code, okCode, message) {
  return message ? localizeMessage(ok ? okCode : code, message) : message;
}

function validationPanel(secret) {
  const repo = h("input", {
    name: "repository",
    value: "b2i/validate",
    "aria-label": gettext("Repository to test push on"),
  });
  const results = h("ul", {
    class: "checks",
    "data-testid": "validation-results",
    "aria-live": "polite",
  });
  const button = h(
    "button",
    { type: "button", class: "primary small", "data-testid": "run-validation" },
    gettext("Validate"),
  );
  const run = async () => {
    button.disabled = true;
    results.replaceChildren(h("li", { class: "muted" }, gettext("Checking the registry…")));
    try {
      const report = await api.post(`${base}${secret.name}/validate/`, { repository: repo.value });
      results.replaceChildren(
        h(
          "li",
          { class: report.login_ok ? "pass" : "fail", "data-check": "login" },
          gettext("Login"),
          ": ",
          checkMessage(report.login_ok, report.login_code, "login:ok", report.login_message),
        ),
        h(
          "li",
          { class: report.push_ok ? "pass" : "fail", "data-check": "push" },
          gettext("Push permission"),
          ` (${report.repository}): `,
          checkMessage(report.push_ok, report.push_code, "push:ok", report.push_message) || "—",
        ),
      );
    } catch (err) {
      results.replaceChildren(h("li", { class: "fail" }, err.message));
    } finally {
      button.disabled = false;
    }
  };
  button.addEventListener("click", run);
  const element = h(
    "div",
    { class: "row", style: "align-items:center" },
    h("label", { class: "small", for: repo.id || "" }, gettext("Test push to repository")),
    repo,
    button,
    results,
  );
  return { element, run };
}

// `check`: run the validation right away (a secret just created), not only open the panel.
function toggleValidation(secret, button, { check = false } = {}) {
  const row = button.closest("tr");
  const next = row.nextElementSibling;
  if (next && next.classList.contains("validate-row")) {
    next.remove();
    return;
  }
  const panel = validationPanel(secret);
  const cell = h("td", { colspan: 6 }, panel.element);
  row.after(h("tr", { class: "validate-row run-log-row" }, cell));
  cell.querySelector("button.primary").focus();
  if (check) panel.run();
}

// A wrong password is corrected in place: the secret keeps its name and identity, so the
// image builders pushing with it keep it. The password is write-only (never shown or sent back).
function changePassword(secret) {
  const password = h("input", { name: "password", type: "password", autocomplete: "new-password" });
  openDialog({
    title: gettext("Change Password"),
    body: h(
      "div",
      {},
      h("p", {}, h("strong", {}, secret.name), " · ", h("code", {}, secret.address)),
      field(gettext("Username"), h("input", { name: "username", value: secret.username || "" })),
      field(gettext("New password or token"), password, {
        required: true,
        hint: gettext("Replaces the stored one; it is never shown again."),
      }),
    ),
    submitLabel: gettext("Save"),
    onSubmit: async (form) => {
      const values = formValues(form);
      if (!values.password) {
        setFieldError(password, gettext("Enter the new password or token."));
        return true; // keep the dialog open
      }
      const saved = await api.patch(`${base}${secret.name}/`, values);
      toast(gettext("Password changed; checking it now."), "success");
      await table.load();
      const row = document.querySelector(
        `[data-testid=secrets] tr[data-name="${CSS.escape(saved.name)}"]`,
      );
      const validate = row?.querySelector("button[data-action=validate]");
      if (validate) toggleValidation(saved, validate, { check: true });
    },
  });
  password.focus();
}

function removeSecret(secret) {
  confirmByName({
    title: gettext("Delete Secret"),
    name: secret.name,
    message: gettext(
      "Image builders pushing with this secret will fail until they get another one.",
    ),
    onConfirm: async () => {
      await api.delete(`${base}${secret.name}/?confirm=${encodeURIComponent(secret.name)}`);
      toast(gettext("Secret deleted"), "success");
      table.load();
    },
  });
}

const table = new DataTable({
  container: document.getElementById("secrets-table"),
  url: base,
  testid: "secrets",
  pageSize: 20,
  empty: gettext("No image registry secret yet. Create one to push images."),
  columns: [
    {
      label: gettext("Name"),
      className: "name-cell",
      render: (s) => [
        h("strong", {}, s.name),
        s.is_default ? h("span", { class: "alias" }, gettext("Default registry")) : null,
      ],
    },
    { label: gettext("Registry address"), render: (s) => h("code", {}, s.address) },
    { label: gettext("Username"), render: (s) => s.username || "—" },
    { label: gettext("Type"), render: () => "kubernetes.io/dockerconfigjson" },
    { label: gettext("Created"), render: (s) => formatTime(s.created_at) },
    {
      label: "",
      className: "actions",
      render: (s) => [
        canOperate
          ? h(
              "button",
              {
                type: "button",
                class: "small",
                dataset: { action: "validate" },
                onclick: (e) => toggleValidation(s, e.currentTarget),
              },
              gettext("Validate"),
            )
          : null,
        canOperate
          ? h(
              "button",
              {
                type: "button",
                class: "small",
                dataset: { action: "change-password" },
                onclick: () => changePassword(s),
              },
              gettext("Change password"),
            )
          : null,
        canOperate
          ? h(
              "button",
              { type: "button", class: "small", onclick: () => removeSecret(s) },
              gettext("Delete"),
            )
          : null,
      ],
    },
  ],
});
table.load();

function secretForm() {
  const scheme = h(
    "select",
    { name: "scheme", "aria-label": gettext("Scheme") },
    h("option", { value: "https://" }, "https://"),
    h("option", { value: "http://" }, gettext("http:// (insecure)")),
  );
  const address = h("input", {
    name: "address",
    placeholder: "harbor.example.com",
    autocomplete: "off",
  });
  return h(
    "div",
    {},
    field(gettext("Name"), h("input", { name: "name", maxlength: 63, autocomplete: "off" }), {
      required: true,
      hint: gettext("Lowercase letters, digits and '-'."),
    }),
    h(
      "div",
      { class: "field" },
      h("label", { for: "secret-address", class: "required" }, gettext("Registry address")),
      h(
        "div",
        { class: "row" },
        scheme,
        Object.assign(address, { id: "secret-address", style: "flex:1" }),
      ),
      h("span", { class: "field-error", id: "secret-address-error" }),
    ),
    field(gettext("Username"), h("input", { name: "username", autocomplete: "off" })),
    field(
      gettext("Password or token"),
      h("input", { name: "password", type: "password", autocomplete: "new-password" }),
      { hint: gettext("Stored encrypted; it is never shown again.") },
    ),
    field(gettext("Email"), h("input", { name: "email", type: "email" })),
    h(
      "label",
      { class: "field inline" },
      h("input", { type: "checkbox", name: "is_default" }),
      gettext("Default registry of this project"),
    ),
    h(
      "details",
      {},
      h("summary", {}, gettext("TLS options")),
      h(
        "label",
        { class: "field inline" },
        h("input", { type: "checkbox", name: "skip_tls_verify" }),
        gettext("Skip TLS verification"),
      ),
      field(gettext("CA bundle (PEM)"), h("textarea", { name: "ca_bundle" })),
    ),
  );
}

document.getElementById("create-secret")?.addEventListener("click", () => {
  openDialog({
    title: gettext("Create Image Registry Secret"),
    body: secretForm(),
    submitLabel: gettext("Create"),
    onSubmit: async (form) => {
      const values = formValues(form);
      const address = values.address.replace(/^https?:\/\//, "");
      const body = { ...values, address: `${values.scheme}${address}` };
      delete body.scheme;
      const created = await api.post(base, body);
      toast(gettext("Secret created; checking it now."), "success");
      await table.load();
      const validate = document.querySelector(
        `[data-testid=secrets] tr[data-name="${CSS.escape(created.name)}"] button`,
      );
      if (validate && validate.textContent === gettext("Validate"))
        toggleValidation(created, validate, { check: true });
    },
  });
});
