// Tessera web UI: a streaming chat over /v1/chat/completions and the live numbers of /stats.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const history = [];
  let model = null;
  let contextLength = 0;
  let controller = null;
  const KEY_ITEM = "tessera.api_key";

  function headers() {
    const h = { "Content-Type": "application/json" };
    const key = $("api_key").value.trim();
    if (key) h["Authorization"] = "Bearer " + key;
    return h;
  }

  function addMessage(role, text) {
    const div = document.createElement("div");
    div.className = "msg " + role;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = role;
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    div.append(who, body);
    $("messages").append(div);
    $("messages").scrollTop = $("messages").scrollHeight;
    return body;
  }

  async function loadModel() {
    try {
      const r = await fetch("/v1/models", { headers: headers() });
      const j = await r.json();
      if (r.ok && j.data && j.data.length) {
        model = j.data[0].id;
        contextLength = j.data[0].max_model_len || 0;
        $("model-name").textContent = model + " · context " + j.data[0].max_model_len;
      } else {
        $("model-name").textContent = (j.error && j.error.message) || "no model";
      }
    } catch (e) {
      $("model-name").textContent = "server unreachable";
    }
  }

  function num(id) {
    const v = $(id).value.trim();
    return v === "" ? undefined : Number(v);
  }

  function conversation() {
    const messages = [];
    const sys = $("system").value.trim();
    if (sys) messages.push({ role: "system", content: sys });
    messages.push(...history);
    return messages;
  }

  // The conversation's length in tokens, as the server's chat template renders it.
  async function promptTokens() {
    const r = await fetch("/tokenize", {
      method: "POST", headers: headers(), body: JSON.stringify({ model: model, messages: conversation() }),
    });
    const j = await r.json();
    if (!r.ok) throw new Error((j.error && j.error.message) || ("HTTP " + r.status));
    return j.count;
  }

  // Drops the oldest exchanges until the conversation and the reply's max tokens fit the context;
  // returns the max tokens to ask for (fewer when even the newest message alone leaves less room).
  async function fitToContext(maxTokens) {
    if (!contextLength) return maxTokens;
    let dropped = 0;
    for (;;) {
      const count = await promptTokens();
      const wanted = maxTokens === undefined ? 1 : maxTokens;
      if (count + wanted <= contextLength || history.length <= 1) {
        if (dropped) addMessage("note", dropped + " earlier message" + (dropped > 1 ? "s were" : " was")
          + " left out to fit the model's context of " + contextLength + " tokens");
        if (count + wanted <= contextLength) return maxTokens;
        if (count < contextLength) return contextLength - count;
        throw new Error("this message alone takes " + count + " tokens, more than the model's context of "
          + contextLength);
      }
      history.shift();
      dropped++;
      while (history.length > 1 && history[0].role !== "user") {
        history.shift();
        dropped++;
      }
    }
  }

  async function send(text) {
    $("send").disabled = true;
    if (!model) await loadModel();
    history.push({ role: "user", content: text });
    addMessage("user", text);
    let maxTokens;
    try {
      maxTokens = await fitToContext(num("max_tokens"));
    } catch (e) {
      history.pop();
      const err = addMessage("assistant", "Error: " + e.message);
      err.parentElement.className = "msg error";
      $("send").disabled = false;
      return;
    }
    const out = addMessage("assistant", "");
    const req = {
      model: model, messages: conversation(), stream: true, stream_options: { include_usage: true },
      temperature: num("temperature"), top_p: num("top_p"), top_k: num("top_k"),
      max_tokens: maxTokens, seed: num("seed"),
    };
    controller = new AbortController();
    $("stop").disabled = false;
    $("gen-status").textContent = "generating…";
    const started = performance.now();
    let first = 0, tokens = 0, text_ = "";
    try {
      const r = await fetch("/v1/chat/completions", {
        method: "POST", headers: headers(), body: JSON.stringify(req), signal: controller.signal,
      });
      if (!r.ok) {
        const j = await r.json().catch(() => ({}));
        throw new Error((j.error && j.error.message) || ("HTTP " + r.status));
      }
      const reader = r.body.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const event = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (!event.startsWith("data: ")) continue;
          const data = event.slice(6);
          if (data === "[DONE]") continue;
          const chunk = JSON.parse(data);
          if (chunk.error) throw new Error(chunk.error.message);
          if (chunk.usage) tokens = chunk.usage.completion_tokens;
          for (const c of chunk.choices || []) {
            const piece = c.delta && c.delta.content;
            if (piece) {
              if (!first) first = performance.now();
              text_ += piece;
              out.textContent = text_;
              $("messages").scrollTop = $("messages").scrollHeight;
            }
          }
        }
      }
      const secs = (performance.now() - started) / 1000;
      const ttft = first ? ((first - started) / 1000).toFixed(2) + " s to first token, " : "";
      $("gen-status").textContent = tokens + " tokens in " + secs.toFixed(2) + " s (" + ttft
        + (tokens / Math.max(secs, 1e-3)).toFixed(1) + " tokens/s)";
    } catch (e) {
      if (e.name === "AbortError") {
        $("gen-status").textContent = "stopped";
      } else {
        out.parentElement.className = "msg error";
        out.textContent = text_ + (text_ ? "\n" : "") + "Error: " + e.message;
        $("gen-status").textContent = "";
      }
    } finally {
      history.push({ role: "assistant", content: text_ });
      controller = null;
      $("send").disabled = false;
      $("stop").disabled = true;
    }
  }

  async function poll() {
    try {
      const s = await (await fetch("/stats")).json();
      $("stat-running").textContent = s.requests_running;
      $("stat-waiting").textContent = s.requests_waiting;
      $("stat-tps").textContent = s.generation_tokens_per_s.toFixed(1);
      $("stat-kv").textContent = (100 * s.kv_cache_usage).toFixed(1) + " % of " + s.kv_blocks_total + " blocks";
      $("stat-kv-bar").style.width = (100 * s.kv_cache_usage).toFixed(1) + "%";
      $("stat-hit").textContent = (100 * s.prefix_cache_hit_rate).toFixed(1) + " %";
      $("stat-preempt").textContent = s.preemptions;
    } catch (e) {
      $("stat-running").textContent = "offline";
    }
  }

  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("input").value.trim();
    if (!text || $("send").disabled) return;
    $("input").value = "";
    send(text);
  });
  $("input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("stop").addEventListener("click", () => controller && controller.abort());
  $("clear").addEventListener("click", () => { history.length = 0; $("messages").innerHTML = ""; });
  // the key stays for this browser tab's session, never on disk
  $("api_key").value = sessionStorage.getItem(KEY_ITEM) || "";
  $("api_key").addEventListener("change", () => {
    const key = $("api_key").value.trim();
    if (key) sessionStorage.setItem(KEY_ITEM, key); else sessionStorage.removeItem(KEY_ITEM);
    loadModel();
  });
  loadModel();
  poll();
  setInterval(poll, 1000);
})();
