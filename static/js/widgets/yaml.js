// A small YAML writer for showing plain data (objects, arrays, strings, numbers, booleans)
// in the wizard's review; strings are quoted whenever YAML could misread them.
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./:@ -]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|~)$/i;

function scalar(value) {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  const text = String(value);
  return PLAIN.test(text) && !RESERVED.test(text) && !text.endsWith(" ")
    ? text
    : JSON.stringify(text);
}

export function toYaml(value, indent = "") {
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return value
      .map((item) => {
        const inner = toYaml(item, `${indent}  `);
        return item !== null &&
          typeof item === "object" &&
          !(Array.isArray(item) && !item.length) &&
          Object.keys(item).length
          ? `${indent}- ${inner.trimStart()}`
          : `${indent}- ${inner}`;
      })
      .join("\n");
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (!entries.length) return "{}";
    return entries
      .map(([key, item]) => {
        const nested =
          item !== null &&
          typeof item === "object" &&
          (Array.isArray(item) ? item.length : Object.keys(item).length);
        return nested
          ? `${indent}${scalar(key)}:\n${toYaml(item, `${indent}  `)}`
          : `${indent}${scalar(key)}: ${toYaml(item, "")}`;
      })
      .join("\n");
  }
  return scalar(value);
}
