// The playground's Python: Pyodide (CPython in WebAssembly) running autograd_mini and nn from
// the zip of their source that `autograd-mini site` copied next to this file. Nothing is fetched
// from anywhere else. A module worker: Pyodide 314 no longer loads in classic workers.
import { loadPyodide } from "./vendor/pyodide/pyodide.mjs";

const here = (name) => new URL(name, import.meta.url).href;
const progress = (text, fraction) => postMessage({ progress: text, fraction });

const ready = (async () => {
  progress("Starting Python (WebAssembly, about 13 MB)…", 0.05);
  const pyodide = await loadPyodide({ indexURL: here("./vendor/pyodide/") });
  progress("Unpacking the engine's source…", 0.75);
  const zip = await (await fetch(here("./engine.zip"))).arrayBuffer();
  pyodide.unpackArchive(zip, "zip", { extractDir: "/engine" });
  progress("Importing autograd_mini and nn…", 0.85);
  pyodide.runPython("import sys; sys.path.insert(0, '/engine')\nimport autograd_mini.playground");
  const playground = pyodide.pyimport("autograd_mini.playground");
  const version = pyodide.runPython("import sys, autograd_mini; f'autograd_mini {autograd_mini.__version__} from {autograd_mini.__path__[0]} on Python {sys.version.split()[0]}'");
  postMessage({ ready: true, version });
  return playground;
})().catch((error) => {
  postMessage({ failed: String(error && error.message || error).split("\n").filter(Boolean).pop() });
  throw error;
});

onmessage = async (event) => {
  const { id, name, args } = event.data;
  let playground;
  try {
    playground = await ready;
  } catch (error) {
    postMessage({ id, result: { error: "the engine did not load" } });
    return;
  }
  let result;
  try {
    result = JSON.parse(playground.call(name, JSON.stringify(args || {})));
  } catch (error) {  // a Python error the bridge did not expect: its last line
    result = { error: String(error && error.message || error).split("\n").filter(Boolean).pop() };
  }
  postMessage({ id, result });
};
