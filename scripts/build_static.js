// Copies the front-end packages the pages use from node_modules into static/vendor/.
// Nothing is loaded from a CDN: WhiteNoise serves these files with the rest of static/.
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const vendor = path.join(root, "static", "vendor");
const files = [
  ["bootstrap/dist/css/bootstrap.min.css", "bootstrap.min.css"],
  ["bootstrap/dist/css/bootstrap.min.css.map", "bootstrap.min.css.map"],
  ["bootstrap/dist/js/bootstrap.bundle.min.js", "bootstrap.bundle.min.js"],
  ["bootstrap/dist/js/bootstrap.bundle.min.js.map", "bootstrap.bundle.min.js.map"],
  ["chart.js/dist/chart.umd.min.js", "chart.umd.min.js"],
  // The bundle names its source map; collectstatic's hashed manifest (production) refuses a missing one.
  ["chart.js/dist/chart.umd.min.js.map", "chart.umd.min.js.map"],
  // Long choices (countries) become searchable selects.
  ["tom-select/dist/js/tom-select.complete.min.js", "tom-select.complete.min.js"],
  ["tom-select/dist/js/tom-select.complete.min.js.map", "tom-select.complete.min.js.map"],
  ["tom-select/dist/css/tom-select.bootstrap5.min.css", "tom-select.bootstrap5.min.css"],
  ["tom-select/dist/css/tom-select.bootstrap5.min.css.map", "tom-select.bootstrap5.min.css.map"],
];

fs.mkdirSync(vendor, { recursive: true });
for (const [from, to] of files) {
  const source = path.join(root, "node_modules", from);
  if (!fs.existsSync(source)) {
    console.error(`missing ${source}: run npm ci first`);
    process.exit(1);
  }
  fs.copyFileSync(source, path.join(vendor, to));
}
console.log(`static/vendor: ${files.length} files from npm packages`);
