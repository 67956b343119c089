// latentid's page: identify a dropped file or a few seconds of microphone, browse the library.
// Plain browser JavaScript, no build step. Everything shown comes from /api/v1/.
"use strict";

const $ = (sel) => document.querySelector(sel);
const params = new URLSearchParams(location.search);
// Seconds recorded by Listen (5–10; `?listen=N` overrides, e.g. for tests).
const LISTEN_SECONDS = Math.min(30, Math.max(2, Number(params.get("listen")) || 7));

let kind = "audio";
let items = [];
const byId = new Map();

async function api(path, options) {
  let response;
  try {
    response = await fetch("/api/v1/" + path, options);
  } catch (e) {
    throw new Error("The latentid server cannot be reached (" + e.message + ").");
  }
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  if (!response.ok) {
    throw new Error((body && body.error) || "The server answered HTTP " + response.status + ".");
  }
  return body;
}

// ---------------------------------------------------------------- formatting

function clock(seconds) {
  const s = Math.max(0, seconds || 0);
  const m = Math.floor(s / 60);
  const rest = (s - 60 * m).toFixed(1).padStart(4, "0");
  return m + ":" + rest;
}

function percent(x) {
  return Math.round(100 * Math.max(0, Math.min(1, x))) + "%";
}

// What people call an item: its title where its tags gave one, else its name.
function titleOf(item, fallback) {
  return (item && item.title) || (item && item.name) || fallback || "";
}

function bylineOf(item) {
  if (!item) return "";
  return [item.artist, item.album].filter(Boolean).join(" · ");
}

function sizeOf(item) {
  if (item.duration_s != null) return clock(item.duration_s).replace(/\.\d$/, "");
  if (item.width != null) return item.width + "×" + item.height;
  return "";
}

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const c of children) node.append(c);
  return node;
}

// ---------------------------------------------------------------- the answer panel

function setState(state, message) {
  const answer = $("#answer");
  answer.dataset.state = state;
  const status = $("#status");
  status.textContent = message || "";
  status.className = "status" + (state === "error" ? " error" : "");
  $("#match").hidden = true;
  $("#nomatch").hidden = true;
  $("#candidates-box").hidden = true;
}

function showCandidates(candidates, heading, skipFirst) {
  const list = $("#candidates");
  list.replaceChildren();
  const shown = candidates.slice(skipFirst ? 1 : 0);
  for (const c of shown) {
    const item = byId.get(c.id);
    const where = c.offset_s != null ? "at " + clock(c.offset_s) : c.distance != null ? "distance " + c.distance.toFixed(3) : "";
    const bar = el("div", { className: "bar" }, el("div"));
    bar.firstChild.style.width = percent(c.confidence);
    list.append(
      el("li", { className: "candidate" },
        el("span", { className: "c-name" }, item && item.title ? [item.artist, item.title].filter(Boolean).join(" – ") : c.name),
        el("span", { className: "c-where" }, where),
        el("span", { className: "c-conf" }, bar, percent(c.confidence)))
    );
  }
  $("#candidates-heading").textContent = heading;
  $("#candidates-box").hidden = shown.length === 0;
}

function showAnswer(answer, what) {
  setState(answer.match ? "match" : "nomatch", "");
  highlight(answer.match ? answer.match.id : null);
  if (answer.match) {
    const m = answer.match;
    const item = byId.get(m.id);
    $("#match-kicker").textContent = what === "similar" ? "Most like it" : "It’s";
    $("#match-title").textContent = titleOf(item, m.name);
    $("#match-subtitle").textContent = bylineOf(item);
    $("#fact-offset").hidden = m.offset_s == null;
    $("#match-offset").textContent = m.offset_s != null ? clock(m.offset_s) : "";
    $("#match-confidence").textContent = percent(m.confidence);
    $("#match-time").textContent = Math.round(1000 * (answer.seconds || 0)) + " ms";
    $("#match-bar").style.width = percent(m.confidence);
    $("#match").hidden = false;
    showCandidates(answer.candidates, "Other candidates", true);
  } else {
    $("#nomatch-detail").textContent = answer.candidates.length
      ? "Nothing in your library is a confident match. The closest ones are below."
      : "Nothing in your library sounds like this.";
    $("#nomatch").hidden = false;
    showCandidates(answer.candidates, "Closest, but not a match", false);
  }
  $("#answer").scrollIntoView({ behavior: "smooth", block: "nearest" });
}

async function identify(file) {
  setState("working", "Identifying " + file.name + "…");
  try {
    const answer = await api("identify?name=" + encodeURIComponent(file.name), {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: file,
    });
    showAnswer(answer, "identify");
  } catch (e) {
    setState("error", e.message);
  }
}

// ---------------------------------------------------------------- dropping and choosing files

function setUpDrop() {
  const drop = $("#drop");
  const input = $("#file");
  input.addEventListener("change", () => {
    if (input.files.length) identify(input.files[0]);
    input.value = "";
  });
  for (const ev of ["dragenter", "dragover"]) {
    drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  for (const ev of ["dragleave", "drop"]) {
    drop.addEventListener(ev, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    const f = e.dataTransfer.files[0];
    if (f) identify(f);
  });
  // A file dropped anywhere on the page is meant for us, not for the browser to open.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => {
    e.preventDefault();
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f && !drop.contains(e.target)) identify(f);
  });
}

// ---------------------------------------------------------------- listening

// 16-bit PCM mono WAV: the browser's own recorder makes Opus, which the server cannot decode.
function wav(samples, rate) {
  const buffer = new ArrayBuffer(44 + 2 * samples.length);
  const v = new DataView(buffer);
  const text = (at, s) => { for (let i = 0; i < s.length; i++) v.setUint8(at + i, s.charCodeAt(i)); };
  text(0, "RIFF");
  v.setUint32(4, 36 + 2 * samples.length, true);
  text(8, "WAVEfmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, 2 * rate, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  text(36, "data");
  v.setUint32(40, 2 * samples.length, true);
  for (let i = 0; i < samples.length; i++) {
    const x = Math.max(-1, Math.min(1, samples[i]));
    v.setInt16(44 + 2 * i, x < 0 ? x * 0x8000 : x * 0x7fff, true);
  }
  return new Blob([buffer], { type: "audio/wav" });
}

let listening = false;

async function listen() {
  if (listening) return;
  const button = $("#listen");
  const label = $("#listen-label");
  const ring = $("#ring-progress");
  const meter = $("#meter-level");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    setState("error", "This browser cannot record here (the microphone needs https or localhost).");
    return;
  }
  listening = true;
  button.disabled = true;
  let stream = null;
  let ctx = null;
  try {
    setState("working", "Asking for the microphone…");
    // Raw sound: echo cancellation and noise suppression would take the music away.
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
    });
    ctx = new AudioContext();
    await ctx.resume();
    const source = ctx.createMediaStreamSource(stream);
    const processor = ctx.createScriptProcessor(4096, 1, 1);
    const need = Math.round(LISTEN_SECONDS * ctx.sampleRate);
    const samples = new Float32Array(need);
    let have = 0;
    const done = new Promise((resolve) => {
      processor.onaudioprocess = (e) => {
        const input = e.inputBuffer.getChannelData(0);
        const n = Math.min(input.length, need - have);
        samples.set(input.subarray(0, n), have);
        have += n;
        let peak = 0;
        for (let i = 0; i < input.length; i++) peak = Math.max(peak, Math.abs(input[i]));
        meter.style.width = Math.min(100, 140 * peak) + "%";
        const left = Math.max(0, Math.ceil((need - have) / ctx.sampleRate));
        label.textContent = left > 0 ? left + " s" : "…";
        ring.style.strokeDashoffset = String(339.3 * (1 - have / need));
        if (have >= need) resolve();
      };
    });
    source.connect(processor);
    // A processor only runs when connected onwards; it outputs silence.
    processor.connect(ctx.destination);
    button.classList.add("listening");
    setState("working", "Listening… hold the phone or laptop near the music.");
    await done;
    processor.onaudioprocess = null;
    source.disconnect();
    processor.disconnect();
    await identify(new File([wav(samples, ctx.sampleRate)], "microphone.wav", { type: "audio/wav" }));
  } catch (e) {
    const why = e && e.name === "NotAllowedError" ? "The microphone was not allowed." : (e && e.message) || String(e);
    setState("error", why);
  } finally {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    if (ctx) ctx.close();
    button.classList.remove("listening");
    button.disabled = false;
    label.textContent = "Listen";
    ring.style.strokeDashoffset = "339.3";
    meter.style.width = "0";
    listening = false;
  }
}

// ---------------------------------------------------------------- the library

function highlight(id) {
  for (const row of document.querySelectorAll("#items tr")) {
    row.classList.toggle("hit", id != null && row.dataset.id === String(id));
  }
}

function renderItems() {
  const q = $("#search").value.trim().toLowerCase();
  const body = $("#items");
  body.replaceChildren();
  let shown = 0;
  for (const item of items) {
    const hay = [item.name, item.title, item.artist, item.album, item.path].filter(Boolean).join(" ").toLowerCase();
    if (q && !hay.includes(q)) continue;
    shown++;
    const more = el("button", { type: "button", textContent: kind === "audio" ? "Similar" : "Similar" });
    more.addEventListener("click", () => similar(item));
    const row = el("tr", {},
      el("td", {}, titleOf(item), el("div", { className: "path" }, item.path)),
      el("td", {}, item.artist || ""),
      el("td", {}, item.album || ""),
      el("td", { className: "num" }, sizeOf(item)),
      el("td", {}, more));
    row.dataset.id = String(item.id);
    body.append(row);
  }
  $("#items-empty").hidden = shown > 0 || items.length === 0;
}

async function similar(item) {
  setState("working", "Looking for items like " + titleOf(item) + "…");
  try {
    const r = await api("similar?item=" + item.id + "&top=6");
    setState("match", "");
    $("#match-kicker").textContent = "Like";
    $("#match-title").textContent = titleOf(item);
    $("#match-subtitle").textContent = bylineOf(item);
    $("#fact-offset").hidden = true;
    $("#match-confidence").textContent = r.candidates.length ? percent(r.candidates[0].confidence) : "–";
    $("#match-time").textContent = Math.round(1000 * (r.seconds || 0)) + " ms";
    $("#match-bar").style.width = r.candidates.length ? percent(r.candidates[0].confidence) : "0";
    $("#match").hidden = false;
    showCandidates(r.candidates, "Most like it", false);
    highlight(item.id);
    $("#answer").scrollIntoView({ behavior: "smooth", block: "nearest" });
  } catch (e) {
    setState("error", e.message);
  }
}

async function loadLibrary() {
  try {
    const [stats, list] = await Promise.all([api("stats"), api("items")]);
    kind = stats.kind;
    items = list;
    byId.clear();
    for (const it of items) byId.set(it.id, it);
    const what = kind === "audio"
      ? stats.items + " tracks · " + stats.audio_hours.toFixed(1) + " h"
      : stats.items + " pictures";
    $("#library-summary").textContent = what;
    if (kind === "image") {
      $("#headline").textContent = "What’s this picture?";
      $("#lede").textContent = "Drop a photo — a crop, a copy, a re-compressed version — and latentid finds it in your library.";
      $("#listen").hidden = true;
      $("#drop-title").textContent = "Drop a picture";
      $("#size-heading").textContent = "Size";
    }
    renderItems();
  } catch (e) {
    $("#library-summary").textContent = e.message;
  }
}

setUpDrop();
$("#listen").addEventListener("click", listen);
$("#search").addEventListener("input", renderItems);
loadLibrary();
