// ESLint for the console's browser modules (static/js); prettier owns the layout.
import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    files: ["static/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: {
        ...globals.browser,
        // Django's JavaScript catalogue (templates/base.html loads it before every module).
        gettext: "readonly",
        ngettext: "readonly",
        interpolate: "readonly",
      },
    },
    rules: {
      // `x == null` is the idiom for "null or undefined"; everything else compares strictly.
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      "prefer-const": "error",
      "no-var": "error",
    },
  },
];
