/* The lessons' math, typeset with no network: MathJax 2's HTML-CSS output with the STIX-Web
   fonts that jupyter-server-mathjax ships (it ships no TeX font data). docs/hooks.py copies the
   rest of MathJax in beside this file; mkdocs.yml's custom_mathjax_url loads it. */
MathJax.Hub.Config({
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null}
});
MathJax.Ajax.loadComplete("[MathJax]/config/local/site.js");
