// English, Spanish and Portuguese: picked from the browser's language, switched by the user (kept for the tab).
export const LANGUAGES = { en: "English", es: "Español", pt: "Português" };
const CHOICE = "atende.console.language";

const en = {
  title: "Atende console", skip: "Skip to content", language: "Language", sections: "Sections",
  sign_in: "Sign in", sign_out: "Sign out", api_key: "API key",
  signin_hint: "A tenant admin key, or the operator's root key. Kept in this tab only, until you close it.",
  bad_key: "This key is not valid.", not_admin: "This key has no admin scope.",
  bots: "Bots", conversations: "Conversations", keys: "API keys", credentials: "Provider credentials",
  limits: "Limits", usage: "Usage", audit: "Audit log", tenants: "Tenants",
  id: "Id", id_hint: "Lowercase letters, digits, - and _.", id_optional: "Generated when empty.",
  name: "Name", model: "Model", enabled: "Enabled", updated: "Updated", created: "Created", status: "Status",
  actions: "Actions", yes: "yes", no: "no", loading: "Loading…", active: "active",
  new_bot: "New bot", create_bot: "Create bot", all_bots: "All bots", bot: "Bot", version: "Version",
  save: "Save", saved: "Saved.", saved_version: "Saved: version", delete: "Delete", deleted: "Deleted.",
  reload: "Reload", conflict: "This bot was changed by someone else: reload to see their version, then edit again.",
  confirm_delete_bot: "Delete this bot?", confirm_delete: "Delete?", confirm_delete_tenant: "Delete this tenant and everything it holds?",
  bad_json: "Not valid JSON", one_per_line: "One per line.", json_hint: "JSON.", characters: "characters",
  group_general: "General", group_persona: "Persona and knowledge base", group_prompts: "Named prompts",
  group_handoff: "Handoff to a person", group_instant: "Instant answers", group_moderation: "Moderation and privacy",
  group_model: "Model, sampling and fallbacks", group_advanced: "History and deadline",
  playground: "Playground", conversation: "Conversation", customer: "Customer", message: "Message",
  prompts_to_use: "Prompts", prompts_hint: "Names, separated by commas; empty for the bot's defaults.",
  send: "Send", sending: "Sending…", reset: "Reset conversation", source: "Source", handoff: "Handoff",
  flagged: "Flagged", tokens: "Tokens", cost: "Cost", open: "Open", erase: "Erase conversation",
  confirm_erase: "Erase this conversation for good?", erased: "Conversation erased.",
  new_key: "New API key", label: "Label", scopes: "Scopes", create_key: "Create key",
  key_once: "Copy this key now: it is shown only once.", copy: "Copy", copied: "Copied.", done: "Done",
  prefix: "Prefix", revoke: "Revoke", revoked: "revoked", confirm_revoke: "Revoke this key? Clients using it stop working.",
  credentials_write_only: "Keys are write-only: Atende shows only a mask and the date.", provider: "Provider",
  key_mask: "Key", rotate: "Rotate", store_credential: "Store a credential", store: "Store", stored: "Stored.",
  organization: "Organization",
  limit: "Limit", yours: "Yours", operator_caps: "Operator's cap", effective: "Enforced", set_limits: "Set limits",
  resets: "Resets", day: "Day", month: "Month", suspended_by: "Suspended by", soft_limit_state: "Soft limit",
  daily_budget_usd: "Daily budget (USD)", monthly_budget_usd: "Monthly budget (USD)",
  soft_limit_percent: "Soft limit (% of a budget)", monthly_token_quota: "Monthly token quota",
  monthly_request_quota: "Monthly turn quota", rate_limit_rps: "Rate limit (requests/s)", rate_limit_burst: "Burst",
  period: "Period", refresh: "Show", spend: "Spend", turns: "Turns", refused: "Refused",
  spend_per_day: "Spend per day", turns_per_day: "Turns per day", tokens_per_day: "Tokens per day",
  input_tokens: "Input tokens", output_tokens: "Output tokens", by_bot: "By bot", by_model: "By model",
  no_usage: "No usage in this period.",
  when: "When", actor: "Who", action: "Action", target: "What", changed: "Fields", newer: "Newer", older: "Older",
  caps: "Caps", suspend: "Suspend", suspended: "Suspended.", resume: "Resume", resumed: "Resumed.",
  issue_admin_key: "Issue admin key", new_tenant: "New tenant", create_tenant: "Create tenant",
  kb_max_chars: "Knowledge base limit (characters)", retention_days: "Retention (days)",
};

const es = {
  title: "Consola de Atende", skip: "Ir al contenido", language: "Idioma", sections: "Secciones",
  sign_in: "Entrar", sign_out: "Salir", api_key: "Clave de API",
  signin_hint: "Una clave de administrador del inquilino o la clave raíz del operador. Se guarda solo en esta pestaña.",
  bad_key: "Esta clave no es válida.", not_admin: "Esta clave no tiene el permiso admin.",
  bots: "Bots", conversations: "Conversaciones", keys: "Claves de API", credentials: "Credenciales del proveedor",
  limits: "Límites", usage: "Uso", audit: "Auditoría", tenants: "Inquilinos",
  id: "Id", id_hint: "Minúsculas, dígitos, - y _.", id_optional: "Se genera si queda vacío.",
  name: "Nombre", model: "Modelo", enabled: "Activo", updated: "Actualizado", created: "Creado", status: "Estado",
  actions: "Acciones", yes: "sí", no: "no", loading: "Cargando…", active: "activa",
  new_bot: "Nuevo bot", create_bot: "Crear bot", all_bots: "Todos los bots", bot: "Bot", version: "Versión",
  save: "Guardar", saved: "Guardado.", saved_version: "Guardado: versión", delete: "Eliminar", deleted: "Eliminado.",
  reload: "Recargar", conflict: "Otra persona cambió este bot: recarga para ver su versión y vuelve a editar.",
  confirm_delete_bot: "¿Eliminar este bot?", confirm_delete: "¿Eliminar?", confirm_delete_tenant: "¿Eliminar este inquilino y todo lo que tiene?",
  bad_json: "JSON no válido", one_per_line: "Uno por línea.", json_hint: "JSON.", characters: "caracteres",
  group_general: "General", group_persona: "Persona y base de conocimiento", group_prompts: "Prompts con nombre",
  group_handoff: "Derivación a una persona", group_instant: "Respuestas instantáneas", group_moderation: "Moderación y privacidad",
  group_model: "Modelo, muestreo y alternativas", group_advanced: "Historial y plazo",
  playground: "Pruebas", conversation: "Conversación", customer: "Cliente", message: "Mensaje",
  prompts_to_use: "Prompts", prompts_hint: "Nombres separados por comas; vacío para los del bot.",
  send: "Enviar", sending: "Enviando…", reset: "Reiniciar conversación", source: "Origen", handoff: "Derivación",
  flagged: "Marcado", tokens: "Tokens", cost: "Costo", open: "Abrir", erase: "Borrar conversación",
  confirm_erase: "¿Borrar esta conversación para siempre?", erased: "Conversación borrada.",
  new_key: "Nueva clave de API", label: "Etiqueta", scopes: "Permisos", create_key: "Crear clave",
  key_once: "Copia esta clave ahora: solo se muestra una vez.", copy: "Copiar", copied: "Copiada.", done: "Listo",
  prefix: "Prefijo", revoke: "Revocar", revoked: "revocada", confirm_revoke: "¿Revocar esta clave? Los clientes que la usan dejarán de funcionar.",
  credentials_write_only: "Las claves son de solo escritura: Atende muestra solo una máscara y la fecha.", provider: "Proveedor",
  key_mask: "Clave", rotate: "Rotar", store_credential: "Guardar una credencial", store: "Guardar", stored: "Guardada.",
  organization: "Organización",
  limit: "Límite", yours: "Tuyo", operator_caps: "Tope del operador", effective: "Aplicado", set_limits: "Fijar límites",
  resets: "Se reinicia", day: "Día", month: "Mes", suspended_by: "Suspendido por", soft_limit_state: "Límite suave",
  daily_budget_usd: "Presupuesto diario (USD)", monthly_budget_usd: "Presupuesto mensual (USD)",
  soft_limit_percent: "Límite suave (% de un presupuesto)", monthly_token_quota: "Cuota mensual de tokens",
  monthly_request_quota: "Cuota mensual de turnos", rate_limit_rps: "Tasa (solicitudes/s)", rate_limit_burst: "Ráfaga",
  period: "Período", refresh: "Ver", spend: "Gasto", turns: "Turnos", refused: "Rechazados",
  spend_per_day: "Gasto por día", turns_per_day: "Turnos por día", tokens_per_day: "Tokens por día",
  input_tokens: "Tokens de entrada", output_tokens: "Tokens de salida", by_bot: "Por bot", by_model: "Por modelo",
  no_usage: "Sin uso en este período.",
  when: "Cuándo", actor: "Quién", action: "Acción", target: "Qué", changed: "Campos", newer: "Más recientes", older: "Más antiguas",
  caps: "Topes", suspend: "Suspender", suspended: "Suspendido.", resume: "Reanudar", resumed: "Reanudado.",
  issue_admin_key: "Emitir clave admin", new_tenant: "Nuevo inquilino", create_tenant: "Crear inquilino",
  kb_max_chars: "Límite de la base de conocimiento (caracteres)", retention_days: "Retención (días)",
};

const pt = {
  title: "Console do Atende", skip: "Ir para o conteúdo", language: "Idioma", sections: "Seções",
  sign_in: "Entrar", sign_out: "Sair", api_key: "Chave de API",
  signin_hint: "Uma chave de administrador do inquilino ou a chave raiz do operador. Fica só nesta aba.",
  bad_key: "Esta chave não é válida.", not_admin: "Esta chave não tem o escopo admin.",
  bots: "Bots", conversations: "Conversas", keys: "Chaves de API", credentials: "Credenciais do provedor",
  limits: "Limites", usage: "Uso", audit: "Auditoria", tenants: "Inquilinos",
  id: "Id", id_hint: "Minúsculas, dígitos, - e _.", id_optional: "Gerado quando vazio.",
  name: "Nome", model: "Modelo", enabled: "Ativo", updated: "Atualizado", created: "Criado", status: "Situação",
  actions: "Ações", yes: "sim", no: "não", loading: "Carregando…", active: "ativa",
  new_bot: "Novo bot", create_bot: "Criar bot", all_bots: "Todos os bots", bot: "Bot", version: "Versão",
  save: "Salvar", saved: "Salvo.", saved_version: "Salvo: versão", delete: "Excluir", deleted: "Excluído.",
  reload: "Recarregar", conflict: "Outra pessoa alterou este bot: recarregue para ver a versão dela e edite de novo.",
  confirm_delete_bot: "Excluir este bot?", confirm_delete: "Excluir?", confirm_delete_tenant: "Excluir este inquilino e tudo o que ele tem?",
  bad_json: "JSON inválido", one_per_line: "Um por linha.", json_hint: "JSON.", characters: "caracteres",
  group_general: "Geral", group_persona: "Persona e base de conhecimento", group_prompts: "Prompts nomeados",
  group_handoff: "Transferência para uma pessoa", group_instant: "Respostas instantâneas", group_moderation: "Moderação e privacidade",
  group_model: "Modelo, amostragem e alternativas", group_advanced: "Histórico e prazo",
  playground: "Testes", conversation: "Conversa", customer: "Cliente", message: "Mensagem",
  prompts_to_use: "Prompts", prompts_hint: "Nomes separados por vírgulas; vazio para os do bot.",
  send: "Enviar", sending: "Enviando…", reset: "Reiniciar conversa", source: "Origem", handoff: "Transferência",
  flagged: "Sinalizado", tokens: "Tokens", cost: "Custo", open: "Abrir", erase: "Apagar conversa",
  confirm_erase: "Apagar esta conversa para sempre?", erased: "Conversa apagada.",
  new_key: "Nova chave de API", label: "Rótulo", scopes: "Escopos", create_key: "Criar chave",
  key_once: "Copie esta chave agora: ela só aparece uma vez.", copy: "Copiar", copied: "Copiada.", done: "Pronto",
  prefix: "Prefixo", revoke: "Revogar", revoked: "revogada", confirm_revoke: "Revogar esta chave? Os clientes que a usam param de funcionar.",
  credentials_write_only: "As chaves são só de escrita: o Atende mostra apenas uma máscara e a data.", provider: "Provedor",
  key_mask: "Chave", rotate: "Trocar", store_credential: "Guardar uma credencial", store: "Guardar", stored: "Guardada.",
  organization: "Organização",
  limit: "Limite", yours: "Seu", operator_caps: "Teto do operador", effective: "Aplicado", set_limits: "Definir limites",
  resets: "Reinicia", day: "Dia", month: "Mês", suspended_by: "Suspenso por", soft_limit_state: "Limite suave",
  daily_budget_usd: "Orçamento diário (USD)", monthly_budget_usd: "Orçamento mensal (USD)",
  soft_limit_percent: "Limite suave (% de um orçamento)", monthly_token_quota: "Cota mensal de tokens",
  monthly_request_quota: "Cota mensal de turnos", rate_limit_rps: "Taxa (requisições/s)", rate_limit_burst: "Rajada",
  period: "Período", refresh: "Ver", spend: "Gasto", turns: "Turnos", refused: "Recusados",
  spend_per_day: "Gasto por dia", turns_per_day: "Turnos por dia", tokens_per_day: "Tokens por dia",
  input_tokens: "Tokens de entrada", output_tokens: "Tokens de saída", by_bot: "Por bot", by_model: "Por modelo",
  no_usage: "Sem uso neste período.",
  when: "Quando", actor: "Quem", action: "Ação", target: "O quê", changed: "Campos", newer: "Mais recentes", older: "Mais antigas",
  caps: "Tetos", suspend: "Suspender", suspended: "Suspenso.", resume: "Retomar", resumed: "Retomado.",
  issue_admin_key: "Emitir chave admin", new_tenant: "Novo inquilino", create_tenant: "Criar inquilino",
  kb_max_chars: "Limite da base de conhecimento (caracteres)", retention_days: "Retenção (dias)",
};

// Bot field labels (the path in the field table); a field missing here shows its path.
const FIELD_LABELS = {
  en: {
    name: "Name", enabled: "Enabled", language: "Language", rules: "Persona rules", knowledge_base: "Knowledge base",
    prompts: "Named prompts (name → text)", default_prompts: "Default prompts", "handoff.keywords": "Handoff keywords",
    "handoff.sentinel": "Sentinel", "handoff.tool": "Offer a handoff tool", "handoff.on_upstream_failure": "Hand off when the model fails",
    "handoff.message": "Handoff message", "handoff.on_limit_refusal": "Over budget or suspended (webhook)", "handoff.limit_message": "Over-budget message", instant_answers: "Instant answers (questions → answer)", "moderation.mode": "Moderation",
    "moderation.thresholds": "Thresholds per category", "moderation.on_flagged_input": "On flagged input",
    "moderation.refusal_message": "Refusal message", "moderation.fail_mode": "When moderation fails", redact_pii: "Redact personal data",
    model: "Model", provider: "Provider", "sampling.temperature": "Temperature", "sampling.top_p": "Top p",
    "sampling.frequency_penalty": "Frequency penalty", "sampling.presence_penalty": "Presence penalty",
    "sampling.max_tokens": "Max tokens", "sampling.response_format": "Response format", fallbacks: "Fallback providers",
    "history.max_history_tokens": "History budget (tokens)", "history.summarize": "Summarize older turns",
    deadline_seconds: "Deadline (seconds)",
  },
  es: {
    name: "Nombre", enabled: "Activo", language: "Idioma", rules: "Reglas de la persona", knowledge_base: "Base de conocimiento",
    prompts: "Prompts con nombre (nombre → texto)", default_prompts: "Prompts por defecto", "handoff.keywords": "Palabras de derivación",
    "handoff.sentinel": "Marcador", "handoff.tool": "Ofrecer una herramienta de derivación", "handoff.on_upstream_failure": "Derivar si el modelo falla",
    "handoff.message": "Mensaje de derivación", "handoff.on_limit_refusal": "Sin presupuesto o suspendido (webhook)", "handoff.limit_message": "Mensaje sin presupuesto", instant_answers: "Respuestas instantáneas (preguntas → respuesta)", "moderation.mode": "Moderación",
    "moderation.thresholds": "Umbrales por categoría", "moderation.on_flagged_input": "Ante una entrada marcada",
    "moderation.refusal_message": "Mensaje de rechazo", "moderation.fail_mode": "Si la moderación falla", redact_pii: "Ocultar datos personales",
    model: "Modelo", provider: "Proveedor", "sampling.temperature": "Temperatura", "sampling.top_p": "Top p",
    "sampling.frequency_penalty": "Penalización de frecuencia", "sampling.presence_penalty": "Penalización de presencia",
    "sampling.max_tokens": "Máximo de tokens", "sampling.response_format": "Formato de respuesta", fallbacks: "Proveedores alternativos",
    "history.max_history_tokens": "Presupuesto del historial (tokens)", "history.summarize": "Resumir turnos antiguos",
    deadline_seconds: "Plazo (segundos)",
  },
  pt: {
    name: "Nome", enabled: "Ativo", language: "Idioma", rules: "Regras da persona", knowledge_base: "Base de conhecimento",
    prompts: "Prompts nomeados (nome → texto)", default_prompts: "Prompts padrão", "handoff.keywords": "Palavras de transferência",
    "handoff.sentinel": "Marcador", "handoff.tool": "Oferecer uma ferramenta de transferência", "handoff.on_upstream_failure": "Transferir se o modelo falhar",
    "handoff.message": "Mensagem de transferência", "handoff.on_limit_refusal": "Sem orçamento ou suspenso (webhook)", "handoff.limit_message": "Mensagem sem orçamento", instant_answers: "Respostas instantâneas (perguntas → resposta)", "moderation.mode": "Moderação",
    "moderation.thresholds": "Limiares por categoria", "moderation.on_flagged_input": "Diante de entrada sinalizada",
    "moderation.refusal_message": "Mensagem de recusa", "moderation.fail_mode": "Se a moderação falhar", redact_pii: "Ocultar dados pessoais",
    model: "Modelo", provider: "Provedor", "sampling.temperature": "Temperatura", "sampling.top_p": "Top p",
    "sampling.frequency_penalty": "Penalidade de frequência", "sampling.presence_penalty": "Penalidade de presença",
    "sampling.max_tokens": "Máximo de tokens", "sampling.response_format": "Formato da resposta", fallbacks: "Provedores alternativos",
    "history.max_history_tokens": "Orçamento do histórico (tokens)", "history.summarize": "Resumir turnos antigos",
    deadline_seconds: "Prazo (segundos)",
  },
};

const STRINGS = { en, es, pt };

function browserLanguage() {
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const code = tag.slice(0, 2).toLowerCase();
    if (code in STRINGS) return code;
  }
  return "en";
}

let current = sessionStorage.getItem(CHOICE) || browserLanguage();

export const language = () => current;

export function setLanguage(code) {
  current = code in STRINGS ? code : "en";
  sessionStorage.setItem(CHOICE, current);
  document.documentElement.lang = current;
}

export const t = (key) => STRINGS[current][key] ?? en[key] ?? key;
export const fieldLabel = (path) => FIELD_LABELS[current][path] ?? FIELD_LABELS.en[path] ?? path;
