/* The step-through player of autograd_mini: AutogradMiniPlayer.mount(rootElement, data).

   `data` is what Trace.player_data() returns (see its docstring): one picture of the whole graph
   (data.svg, Graphviz's SVG; or, when data.svg is absent, the svg element already inside rootElement)
   and, per step, only what changes: each node's state (a CSS class), its gradient row, the edges
   in use, the caption. Node i of the picture is the element id="n{i}", edge j id="e{j}".
   mount() fills rootElement (styled by player.css; give it a height: the player fills it) and
   returns {show(frame), fit(), destroy()}; destroy() before mounting another in its place.
   Steps are numbered from 1 everywhere (the counter, the list): step k is data.frames[k - 1]. */
(function () {
  "use strict";

  var LABELS = {create: "build", seed: "backward", send: "backward", group: "backward",
                tangent_seed: "forward", tangent: "forward", summary: "summary"};
  var READABLE = 1.0;   // pixels per picture unit to start at when the whole graph is too small
  var FITS = 0.45;      // the whole graph "fits" when it shows at least this many pixels per unit
  var SMALLEST = 0.6;   // keeping a step in view zooms out no further than this
  var NARROW = 800;     // below this width (pixels) the list goes under the picture

  function element(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function button(className, text, title) {
    var b = element("button", className, text);
    b.type = "button";
    if (title) { b.title = title; b.setAttribute("aria-label", title.replace(/ \(.*\)$/, "")); }
    return b;
  }

  // The keys go to one player: the one holding the focus, else the one last mounted or used
  // (clicked, focused) among those on screen. A hidden player never takes them, so a page may
  // keep players mounted in views it hides.
  var live = [];  // [{root, key}] of mounted players, the one last used at the end
  function shown(root) { return root.isConnected && root.getClientRects().length > 0; }
  function onDocumentKey(event) {
    var target = event.target, owner = null, i;
    for (i = live.length - 1; i >= 0 && !owner; i--) {
      if (live[i].root.contains(target)) owner = live[i];
    }
    if (!owner) {
      if (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
      for (i = live.length - 1; i >= 0 && !owner; i--) if (shown(live[i].root)) owner = live[i];
    }
    if (owner && shown(owner.root)) owner.key(event);
  }
  function used(player) {
    var at = live.indexOf(player);
    if (at >= 0) { live.splice(at, 1); live.push(player); }
  }

  function mount(root, data) {
    var frames = data.frames, groups = data.groups || [], last = frames.length - 1;
    var svg = null;
    if (data.svg) {
      var holder = document.createElement("div");
      holder.innerHTML = data.svg;
      svg = holder.querySelector("svg");
    } else {
      svg = root.querySelector("svg");
    }
    if (svg && svg.parentNode) svg.parentNode.removeChild(svg);
    root.textContent = "";
    root.classList.add("agm-player");

    // -- the page's parts ----------------------------------------------------------------------
    var header = element("header");
    var title = element("h1", "agm-title", data.title || "autograd-mini: step by step");
    var counter = element("span", "agm-counter");
    header.append(title, counter);
    var captionbox = element("div", "agm-captionbox");
    captionbox.setAttribute("aria-live", "polite");
    var kind = element("span", "agm-kind"), caption = element("span", "agm-caption");
    captionbox.append(kind, caption);
    var main = element("div", "agm-main"), left = element("section", "agm-left");
    var stage = element("div", "agm-stage"), zoomBox = element("div", "agm-zoom");
    var zoomIn = button("agm-zoomin", "+", "zoom in (+)");
    var zoomOut = button("agm-zoomout", "\u2212", "zoom out (-)");
    var fitButton = button("agm-fit", "\u2922", "whole graph (0)");
    zoomBox.append(zoomIn, zoomOut, fitButton);
    stage.append(zoomBox);
    if (svg) stage.append(svg);
    var controls = element("div", "agm-controls");
    var first = button("agm-first", "|\u25C0", "first step (Home)");
    var prev = button("agm-prev", "\u25C0 Prev", "previous step (left arrow)");
    var playButton = button("agm-play", "\u25B6 Play", "play / pause (space)");
    var next = button("agm-next", "Next \u25B6", "next step (right arrow)");
    var lastButton = button("agm-last", "\u25B6|", "last step (End)");
    var slider = element("input", "agm-slider");
    slider.type = "range"; slider.min = 1; slider.max = frames.length; slider.value = 1;
    slider.setAttribute("aria-label", "step");
    var speedBox = element("select", "agm-speed");
    speedBox.title = "play speed"; speedBox.setAttribute("aria-label", "play speed");
    [0.5, 1, 2, 4].forEach(function (s) {
      var option = element("option", "", s + "\u00D7");
      option.value = String(s); option.selected = s === 1;
      speedBox.append(option);
    });
    controls.append(first, prev, playButton, next, lastButton, slider, speedBox);
    var legend = element("details", "agm-legend");
    legend.append(element("summary", "", "Colours"));
    var swatches = element("span", "swatches");
    [["input", "input"], ["data", "data"], ["new", "just made"], ["sender", "sending"],
     ["receiver", "receiving"], ["complete", "derivative final"],
     ["complete-input", "input, final"], ["edge", "edge in use"],
     ["edge-zero", "edge that carried nothing"]]
      .forEach(function (pair) {
        swatches.append(element("span", "agm-swatch " + pair[0]), document.createTextNode(pair[1]));
      });
    swatches.append(document.createTextNode(
      " \u2002Edges carry the local derivative d(child)/d(parent); \u201C\u2013\u201D: nothing " +
      "piled up yet."));
    legend.append(swatches);
    var help = element("div", "agm-help",
      "Keys: \u2190 \u2192 step, space play / pause, Home / End, + / \u2212 / 0 zoom; drag to pan, " +
      "wheel or pinch to zoom; \u25B8 in the list opens a group of steps.");
    left.append(stage, controls, legend, help);
    var aside = element("aside");
    aside.append(element("h2", "", "Steps"));
    var list = element("ol", "agm-steps");
    var summary = element("div", "agm-summary");
    aside.append(list, summary);
    main.append(left, aside);
    root.append(header, captionbox, main);

    var heads = [], items = [];
    var group_at = {};
    groups.forEach(function (group, g) { group_at[group.first] = g; });
    frames.forEach(function (frame, f) {
      if (group_at[f] !== undefined) {
        var g = group_at[f], group = groups[g];
        var head = element("li", "group");
        head.setAttribute("data-group", g);
        head.append(button("toggle", "\u25B8", "show the steps"),
                    element("span", "n", (group.first + 1) + "\u2013" + (group.last + 1)),
                    element("span", "t", group.caption));
        list.append(head);
        heads[g] = head;
      }
      var item = element("li", frame.g !== undefined ? "member" : "");
      item.setAttribute("data-frame", f);
      item.append(element("span", "n", String(f + 1)), element("span", "t", frame.c));
      list.append(item);
      items.push(item);
    });
    if (data.table) {
      var table = element("table"), body = element("tbody");
      data.table.forEach(function (row) {
        var tr = element("tr");
        tr.append(element("td", "", row[0]), element("td", "", row[1]));
        body.append(tr);
      });
      table.append(body);
      summary.append(table);
    }

    // -- the picture: nodes, their gradient rows, edges ------------------------------------------
    function part(id) { return svg ? svg.querySelector('[id="' + id + '"]') : null; }
    var nodes = [], rows = [], edges = [], edgesOf = [], nodeState = [];
    for (var i = 0; i < data.nodes; i++) {
      var g = part("n" + i);
      nodes.push(g);
      nodeState.push("");
      edgesOf.push([]);
      var row = null;
      if (g) {
        var texts = g.querySelectorAll("text");
        for (var k = texts.length - 1; k >= 0; k--) {
          var t = texts[k].textContent;
          if (t.indexOf("grad ") === 0 || t.indexOf("\u2202/\u2202") === 0) { row = texts[k]; break; }
        }
      }
      rows.push(row);
    }
    data.edges.forEach(function (pair, j) {
      edges.push(part("e" + j));
      edgesOf[pair[0]].push(j);
      edgesOf[pair[1]].push(j);
    });
    function setNode(i, state) {
      nodeState[i] = state;
      var g = nodes[i];
      if (!g) return;
      g.classList.remove("st-h", "st-n", "st-s", "st-r", "st-c", "st-f");
      if (state) g.classList.add("st-" + state);
      edgesOf[i].forEach(function (j) {
        var e = edges[j]; if (!e) return;
        var a = nodeState[data.edges[j][0]], b = nodeState[data.edges[j][1]];
        e.classList.toggle("st-h", a === "h" || b === "h");
        e.classList.toggle("st-f", a === "f" || b === "f");
      });
    }
    function setText(i, text) { if (rows[i]) rows[i].textContent = text; }

    var applied = -1, lit = [];
    function applyUpTo(index) {  // frame 0 holds every node's state; later frames the changes
      if (index < applied) applied = -1;
      for (var f = applied + 1; f <= index; f++) {
        var frame = frames[f];
        if (frame.s) frame.s.forEach(function (c) { setNode(c[0], c[1]); });
        if (frame.t) frame.t.forEach(function (c) { setText(c[0], c[1]); });
      }
      applied = index;
    }
    function light(edgeIds, zeroIds) {  // an edge that carried nothing has a look of its own
      lit.forEach(function (j) { if (edges[j]) edges[j].classList.remove("on", "zero"); });
      lit = edgeIds || [];
      lit.forEach(function (j) {
        if (edges[j]) edges[j].classList.add((zeroIds || []).indexOf(j) >= 0 ? "zero" : "on");
      });
    }

    // -- zoom and pan: the svg's viewBox. "fitted": the whole graph, kept so until the user
    // zooms or pans (a resize refits it) -------------------------------------------------------
    var whole = null, box = null, fitted = false;
    if (svg) {
      var vb = svg.viewBox.baseVal;
      var pad = 6;  // room for strokes that Graphviz's box leaves out (a bold node's outline)
      whole = {x: vb.x - pad, y: vb.y - pad, w: vb.width + 2 * pad, h: vb.height + 2 * pad};
      svg.removeAttribute("width"); svg.removeAttribute("height");
      svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
      box = {x: whole.x, y: whole.y, w: whole.w, h: whole.h};
    }
    function sizedNow() { return stage.clientWidth > 0 && stage.clientHeight > 0; }
    function draw() {  // never a NaN box: zoom and pan wait for the stage to have a size
      var numbers = [box.x, box.y, box.w, box.h];
      if (svg && numbers.every(isFinite)) svg.setAttribute("viewBox", numbers.join(" "));
    }
    function scale() {  // screen pixels per picture unit
      return Math.min(stage.clientWidth / box.w, stage.clientHeight / box.h);
    }
    function setFitted(state) {
      fitted = state;
      fitButton.classList.toggle("on", state);
      root.toggleAttribute("data-fitted", state);
    }
    function zoom(factor, px, py) {  // px, py: the fixed point, in pixels within the stage
      if (!svg || !sizedNow()) return;
      var s = scale(), newScale = Math.max(0.05, Math.min(8, s * factor));
      factor = newScale / s;
      if (px === undefined) {
        var centre = focusCentre();
        px = centre[0]; py = centre[1];
      }
      // the picture point under (px, py), with meet's centring offsets
      var ox = (stage.clientWidth - box.w * s) / 2, oy = (stage.clientHeight - box.h * s) / 2;
      var ux = box.x + (px - ox) / s, uy = box.y + (py - oy) / s;
      box.w /= factor; box.h /= factor;
      var ox2 = (stage.clientWidth - box.w * newScale) / 2;
      var oy2 = (stage.clientHeight - box.h * newScale) / 2;
      box.x = ux - (px - ox2) / newScale; box.y = uy - (py - oy2) / newScale;
      draw();
    }
    function userZoom(factor, px, py) { setFitted(false); zoom(factor, px, py); }
    function fit() {
      if (!svg) return;
      box = {x: whole.x, y: whole.y, w: whole.w, h: whole.h};
      draw();
      setFitted(true);
    }
    function pan(dx, dy) { if (!sizedNow()) return; var s = scale(); box.x -= dx / s; box.y -= dy / s; draw(); }
    function focusRect(ids) {  // the screen rectangle around the nodes ``ids``, or null
      var r = null;
      (ids || []).forEach(function (i) {
        var g = nodes[i]; if (!g) return;
        var b = g.getBoundingClientRect();
        if (!b.width && !b.height) return;
        r = r ? {left: Math.min(r.left, b.left), top: Math.min(r.top, b.top),
                 right: Math.max(r.right, b.right), bottom: Math.max(r.bottom, b.bottom)}
              : {left: b.left, top: b.top, right: b.right, bottom: b.bottom};
      });
      return r;
    }
    function focusCentre() {  // zoom about the current step: its nodes' centre, when on screen
      var s = stage.getBoundingClientRect(), r = focusRect(currentFocus());
      if (r) {
        var x = (r.left + r.right) / 2 - s.left, y = (r.top + r.bottom) / 2 - s.top;
        if (x >= 0 && y >= 0 && x <= s.width && y <= s.height) return [x, y];
      }
      return [stage.clientWidth / 2, stage.clientHeight / 2];
    }
    function keepInView(ids, again) {  // pan (and zoom out if need be) so the step's nodes are
      if (!svg || fitted || !sized) return;  // on screen; the page itself never scrolls
      var r = focusRect(ids);
      if (!r) return;
      var s = stage.getBoundingClientRect(), m = 8;
      var inside = r.left >= s.left + m && r.right <= s.right - m && r.top >= s.top + m &&
                   r.bottom <= s.bottom - m;
      if (inside) return;
      var fits = r.right - r.left <= s.width - 2 * m && r.bottom - r.top <= s.height - 2 * m;
      if (!fits && !again) {  // zoom out until they fit, but not past legibility
        var factor = Math.min((s.width - 2 * m) / (r.right - r.left),
                              (s.height - 2 * m) / (r.bottom - r.top));
        zoom(Math.min(1, Math.max(factor, SMALLEST / scale())));
        keepInView(ids, true);
        return;
      }
      var tx = fits ? (s.left + s.right) / 2 - (r.left + r.right) / 2 : s.left + m - r.left;
      var ty = fits ? (s.top + s.bottom) / 2 - (r.top + r.bottom) / 2 : s.top + m - r.top;
      pan(tx, ty);
    }
    var pointers = {};
    function onPointerDown(event) {
      if (event.target.closest("button")) return;
      pointers[event.pointerId] = {x: event.clientX, y: event.clientY};
      stage.setPointerCapture(event.pointerId);
      stage.classList.add("dragging");
    }
    function onPointerMove(event) {
      var p = pointers[event.pointerId]; if (!p) return;
      var ids = Object.keys(pointers);
      if (event.clientX === p.x && event.clientY === p.y) return;
      setFitted(false);
      if (ids.length === 2) {  // pinch: zoom by the change of distance between two fingers
        var other = pointers[ids[0] == event.pointerId ? ids[1] : ids[0]];
        var before = Math.hypot(p.x - other.x, p.y - other.y);
        var after = Math.hypot(event.clientX - other.x, event.clientY - other.y);
        var s = stage.getBoundingClientRect();
        if (before > 0) zoom(after / before, (event.clientX + other.x) / 2 - s.left,
                             (event.clientY + other.y) / 2 - s.top);
      } else {
        pan(event.clientX - p.x, event.clientY - p.y);
      }
      p.x = event.clientX; p.y = event.clientY;
    }
    function release(event) {
      delete pointers[event.pointerId];
      if (!Object.keys(pointers).length) stage.classList.remove("dragging");
    }
    stage.addEventListener("pointerdown", onPointerDown);
    stage.addEventListener("pointermove", onPointerMove);
    stage.addEventListener("pointerup", release);
    stage.addEventListener("pointercancel", release);
    stage.addEventListener("wheel", function (event) {
      event.preventDefault();
      var s = stage.getBoundingClientRect();
      userZoom(Math.exp(-event.deltaY * 0.0015), event.clientX - s.left, event.clientY - s.top);
    }, {passive: false});
    zoomIn.onclick = function () { userZoom(1.25); };
    zoomOut.onclick = function () { userZoom(0.8); };
    fitButton.onclick = fit;

    // -- the steps: frames, and groups of frames shown as one step until opened -----------------
    var open = {};
    function units() {  // what Next walks through: a closed group is one step
      var out = [], f = 0;
      while (f <= last) {
        var g = frames[f].g;
        if (g !== undefined && !open[g]) { out.push({group: g}); f = groups[g].last + 1; }
        else { out.push({frame: f}); f += 1; }
      }
      return out;
    }
    var walk = units(), position = -1, timer = null;
    function itemOf(unit) { return unit.group !== undefined ? heads[unit.group] : items[unit.frame]; }
    function frameOf(unit) { return unit.group !== undefined ? groups[unit.group].last : unit.frame; }
    function unitAt(frame) {  // the step of the walk that shows ``frame``
      for (var i = 0; i < walk.length; i++) {
        var u = walk[i];
        var from = u.group !== undefined ? groups[u.group].first : u.frame;
        if (from <= frame && frame <= frameOf(u)) return i;
      }
      return walk.length - 1;
    }
    function currentFocus() {
      var unit = walk[position];
      if (!unit) return [];
      return unit.group !== undefined ? groups[unit.group].focus : frames[unit.frame].f;
    }
    function render() {
      heads.forEach(function (head, g) {
        var shut = !open[g];
        head.querySelector(".toggle").textContent = shut ? "\u25B8" : "\u25BE";
        head.setAttribute("aria-expanded", shut ? "false" : "true");
        for (var f = groups[g].first; f <= groups[g].last; f++) items[f].classList.toggle("collapsed", shut);
      });
    }
    function show(index) {
      index = Math.max(0, Math.min(walk.length - 1, index));
      var previous = walk[position];
      if (previous) itemOf(previous).classList.remove("current");
      position = index;
      var unit = walk[index], frame = frameOf(unit), text, kindName, edgeIds, zeroIds, number;
      if (unit.group !== undefined) {
        var group = groups[unit.group];
        text = group.caption; kindName = "group"; edgeIds = group.edges; zeroIds = group.z;
        number = (group.first + 1) + "\u2013" + (group.last + 1);
      } else {
        var entry = frames[frame];
        text = entry.c; kindName = entry.k; edgeIds = entry.e; number = String(frame + 1);
        zeroIds = entry.z ? entry.e : [];
      }
      applyUpTo(frame);
      light(edgeIds, zeroIds);
      caption.textContent = text;
      kind.textContent = LABELS[kindName] || kindName;
      kind.className = "agm-kind " + kindName;
      slider.value = frame + 1;
      counter.textContent = number + " / " + frames.length;
      var item = itemOf(unit);
      item.classList.add("current");
      var top = item.offsetTop, bottom = top + item.offsetHeight;  // scroll the list, not the page
      if (top < list.scrollTop) list.scrollTop = top - 4;
      else if (bottom > list.scrollTop + list.clientHeight) list.scrollTop = bottom - list.clientHeight + 4;
      summary.classList.toggle("shown", frames[frame].k === "summary");
      keepInView(currentFocus());
      root.setAttribute("data-frame", frame);
      root.setAttribute("data-step", frame + 1);
      prev.disabled = first.disabled = index === 0;
      next.disabled = lastButton.disabled = index === walk.length - 1;
    }
    function showFrame(frame) {  // a frame inside a closed group opens the group
      var owner = frames[frame].g;
      if (owner !== undefined && !open[owner] && groups[owner].last !== frame) {
        open[owner] = true; walk = units(); render(); position = -1;
      }
      show(unitAt(frame));
    }
    function reopen(g, state) {  // open or close a group, staying on the same step
      var frame = frameOf(walk[position]);
      itemOf(walk[position]).classList.remove("current");
      open[g] = state;
      walk = units();
      render();
      position = -1;
      show(unitAt(frame));
    }
    function stop() {
      if (timer !== null) { clearInterval(timer); timer = null; }
      playButton.textContent = "\u25B6 Play";
      root.removeAttribute("data-playing");
    }
    function speed() { return parseFloat(speedBox.value) || 1; }
    function advance() {
      if (position >= walk.length - 1) { stop(); return; }
      show(position + 1);
      if (position >= walk.length - 1) stop();
    }
    function play() {
      if (timer !== null) { stop(); return; }
      if (position === walk.length - 1) show(0);
      playButton.textContent = "\u275A\u275A Pause";
      root.setAttribute("data-playing", "");
      timer = setInterval(advance, 900 / speed());
    }
    speedBox.onchange = function () {
      if (timer !== null) { clearInterval(timer); timer = setInterval(advance, 900 / speed()); }
    };
    function step(delta) { stop(); show(position + delta); }
    function noFocusScroll(control, action) {  // a pressed button must not scroll the page
      control.addEventListener("mousedown", function (event) { event.preventDefault(); });
      control.onclick = action;
    }
    noFocusScroll(first, function () { stop(); show(0); });
    noFocusScroll(prev, function () { step(-1); });
    noFocusScroll(next, function () { step(1); });
    noFocusScroll(lastButton, function () { stop(); show(walk.length - 1); });
    noFocusScroll(playButton, play);
    slider.oninput = function () { stop(); showFrame(parseInt(slider.value, 10) - 1); };
    list.addEventListener("click", function (event) {
      var li = event.target.closest("li"); if (!li) return;
      stop();
      if (li.hasAttribute("data-group")) {
        var g = +li.getAttribute("data-group");
        if (event.target.closest(".toggle")) { reopen(g, !open[g]); return; }
        for (var i = 0; i < walk.length; i++) if (walk[i].group === g) { show(i); return; }
        reopen(g, false);
        return;
      }
      showFrame(+li.getAttribute("data-frame"));
    });
    function onKey(event) {  // called by onDocumentKey when the keys are this player's
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      var target = event.target;
      if (target === slider && event.key.indexOf("Arrow") === 0) return;  // the slider steps
      var keys = {ArrowRight: function () { step(1); }, ArrowDown: function () { step(1); },
                  ArrowLeft: function () { step(-1); }, ArrowUp: function () { step(-1); },
                  Home: function () { stop(); show(0); },
                  End: function () { stop(); show(walk.length - 1); },
                  "+": function () { userZoom(1.25); }, "=": function () { userZoom(1.25); },
                  "-": function () { userZoom(0.8); }, "0": fit, " ": play};
      if (keys[event.key] && !(event.key === " " && target.tagName === "BUTTON")) {
        event.preventDefault();
        keys[event.key]();
      }
    }
    var self = {root: root, key: onKey};
    if (!live.length) document.addEventListener("keydown", onDocumentKey);
    live.push(self);
    function touched() { used(self); }
    root.addEventListener("pointerdown", touched);
    root.addEventListener("focusin", touched);
    var sized = false;  // a player mounted out of sight (no size yet) frames its view later
    function frameView() {  // the whole graph when it fits, else readable around the step
      if (!svg || !stage.clientWidth || !stage.clientHeight) return;
      sized = true;
      box = {x: whole.x, y: whole.y, w: whole.w, h: whole.h};
      if (scale() >= FITS) { fit(); return; }
      setFitted(false);
      zoom(READABLE / scale(), stage.clientWidth / 2, stage.clientHeight / 2);
      keepInView(currentFocus());
    }
    function layout() {  // the list under the picture when the player is narrow
      root.classList.toggle("narrow", root.clientWidth < NARROW);
      if (!sized) frameView();
      else if (fitted) fit();
      else keepInView(currentFocus());
    }
    var watcher = window.ResizeObserver ? new ResizeObserver(layout) : null;
    if (watcher) watcher.observe(root); else window.addEventListener("resize", layout);

    root.classList.toggle("narrow", root.clientWidth < NARROW);
    legend.open = root.clientWidth >= NARROW;
    render();
    draw();
    frameView();
    show(0);

    return {
      show: function (frame) { stop(); showFrame(frame); },
      fit: fit,
      destroy: function () {
        stop();
        live.splice(live.indexOf(self), 1);
        if (!live.length) document.removeEventListener("keydown", onDocumentKey);
        root.removeEventListener("pointerdown", touched);
        root.removeEventListener("focusin", touched);
        if (watcher) watcher.disconnect(); else window.removeEventListener("resize", layout);
        root.textContent = "";
        root.classList.remove("agm-player", "narrow");
      }
    };
  }

  window.AutogradMiniPlayer = {mount: mount};
})();
