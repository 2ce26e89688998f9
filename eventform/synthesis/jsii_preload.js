// Preloaded (`node --require`) into the Node processes of jsii that eventform's synthesis starts
// (eventform/synthesis/toolchain.py, jsii_node_options). Why: the AWS provider bindings' lib/index.js requires all of
// its ~2,400 submodules eagerly, and compiling them is most of the bindings' import time (3 to 4 s of Node CPU per
// process, paid again by every synthesis worker), while a stack uses a few dozen. Here that index defines each
// submodule as a getter that requires it on first use: the same modules, loaded when jsii first names them, so the
// synthesized JSON is byte for byte the same. Any other file, or an index of another shape, loads unchanged.
"use strict";
const Module = require("module");
const fs = require("fs");
const path = require("path");

const PACKAGE = `${path.sep}@cdktn${path.sep}provider-aws${path.sep}`;
const INDEX = `${path.sep}lib${path.sep}index.js`;
// one submodule per line, as the provider generator writes them: exports.sqsQueue = __importStar(require("./sqs-queue/index"));
const EAGER = /^exports\.(\w+) = __importStar\(require\("(\.\/[\w-]+\/index)"\)\);$/;
// appended to the rewritten index (function declarations are hoisted; the file's "use strict" stays its first line)
const LAZY = `
function __eventformLazy(target, name, load) {
  Object.defineProperty(target, name, {
    configurable: true,
    enumerable: true,
    get() {
      const value = load();
      Object.defineProperty(target, name, { value, configurable: true, enumerable: true, writable: true });
      return value;
    },
  });
}
`;

const compileJs = Module._extensions[".js"];
Module._extensions[".js"] = function eventformLazyProviderIndex(module, filename) {
  if (filename.endsWith(INDEX) && filename.includes(PACKAGE)) {
    let lazy = 0;
    const lines = fs.readFileSync(filename, "utf8").split("\n").map((line) => {
      const match = EAGER.exec(line);
      if (match === null) return line;
      lazy += 1;
      const [, name, request] = match;
      return `__eventformLazy(exports, ${JSON.stringify(name)}, () => __importStar(require(${JSON.stringify(request)})));`;
    });
    if (lazy > 0) {
      module._compile(lines.join("\n") + LAZY, filename);
      return;
    }
  }
  compileJs(module, filename);
};
