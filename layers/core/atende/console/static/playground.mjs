// The playground (chat as a customer would, through the webhook route) and the conversation viewer.
import { html, useState } from "./preact-htm.mjs";
import { api, enc } from "./api.mjs";
import { t } from "./i18n.mjs";
import { Heading, Notice, TextInput } from "./ui.mjs";

const newConversation = () => "console-" + crypto.randomUUID();

export function Playground({ botId }) {
  const [conversation, setConversation] = useState(newConversation);
  const [turns, setTurns] = useState([]);
  const [message, setMessage] = useState("");
  const [prompts, setPrompts] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const send = async (event) => {
    event.preventDefault();
    if (!message.trim()) return;
    setBusy(true);
    setError(null);
    const body = { message, conversation_id: conversation };
    const chosen = prompts.split(",").map((p) => p.trim()).filter(Boolean);
    if (chosen.length) body.prompts = chosen;
    try {
      const answer = await api("POST", `/v1/bots/${enc(botId)}/chat`, { body });
      setTurns([...turns, { message, answer }]);
      setMessage("");
    } catch (e) { setError(e.message); }
    setBusy(false);
  };
  const reset = () => { setConversation(newConversation()); setTurns([]); setError(null); };
  return html`<section class="playground" aria-labelledby="pg-h">
    <h2 id="pg-h">${t("playground")}</h2>
    <p class="meta">${t("conversation")} <code data-testid="conversation-id">${conversation}</code></p>
    <ol class="turns" aria-live="polite">
      ${turns.map(({ message, answer }) => html`<li class="turn">
        <p class="customer"><span class="who">${t("customer")}:</span> ${message}</p>
        <p class="reply"><span class="who">${t("bot")}:</span> <span class="reply-text">${answer.reply}</span></p>
        <dl class="facts">
          <dt>${t("source")}</dt><dd class="source">${answer.source}</dd>
          <dt>${t("handoff")}</dt><dd class="handoff">${answer.handoff ? t("yes") + (answer.handoff_reason ? ` (${answer.handoff_reason})` : "") : t("no")}</dd>
          <dt>${t("flagged")}</dt><dd class="flagged">${answer.flagged ? t("yes") : t("no")}${answer.moderation ? " · " + JSON.stringify(answer.moderation) : ""}</dd>
          <dt>${t("model")}</dt><dd>${answer.model ?? "—"}</dd>
          <dt>${t("tokens")}</dt><dd class="tokens">${tokens(answer.usage)}</dd>
          <dt>${t("cost")}</dt><dd class="cost">$${answer.cost_usd}</dd>
        </dl>
      </li>`)}
    </ol>
    <form onSubmit=${send}>
      <${TextInput} id="pg-message" label=${t("message")} value=${message} onInput=${setMessage} />
      <${TextInput} id="pg-prompts" label=${t("prompts_to_use")} hint=${t("prompts_hint")} value=${prompts} onInput=${setPrompts} />
      <${Notice} kind="error">${error}</${Notice}>
      <div class="actions"><button type="submit" disabled=${busy}>${busy ? t("sending") : t("send")}</button>
        <button type="button" onClick=${reset}>${t("reset")}</button></div>
    </form>
  </section>`;
}

const tokens = (usage) => (usage ? `${usage.prompt_tokens ?? usage.input_tokens ?? 0} → ${usage.completion_tokens ?? usage.output_tokens ?? 0}` : "—");

export function Conversations() {
  const [bot, setBot] = useState("");
  const [id, setId] = useState("");
  const [found, setFound] = useState(null);
  const [notice, setNotice] = useState(null);
  const path = () => `/v1/bots/${enc(bot)}/conversations/${enc(id)}`;
  const open = async (event) => {
    event.preventDefault();
    setNotice(null);
    try { setFound(await api("GET", path())); } catch (e) { setFound(null); setNotice({ kind: "error", text: e.message }); }
  };
  const erase = async () => {
    if (!confirm(t("confirm_erase"))) return;
    try { await api("DELETE", path()); setFound(null); setNotice({ kind: "ok", text: t("erased") }); } catch (e) { setNotice({ kind: "error", text: e.message }); }
  };
  const messages = found?.data || found?.messages || [];
  return html`<section aria-labelledby="conv-h">
    <${Heading}><span id="conv-h">${t("conversations")}</span></${Heading}>
    <form class="card inline" onSubmit=${open}>
      <${TextInput} label=${t("bot")} value=${bot} onInput=${setBot} />
      <${TextInput} label=${t("conversation")} value=${id} onInput=${setId} />
      <button type="submit">${t("open")}</button>
    </form>
    <${Notice} kind=${notice?.kind}>${notice?.text}</${Notice}>
    ${found && html`<div class="card">
      <ol class="transcript">${messages.map((m) => html`<li><span class="who">${m.role}:</span> ${typeof m.content === "string" ? m.content : JSON.stringify(m.content)}</li>`)}</ol>
      <button type="button" class="danger" onClick=${erase}>${t("erase")}</button>
    </div>`}
  </section>`;
}
