package io.tessera.server;

import io.tessera.core.format.SafeText;
import io.tessera.server.jinja.JinjaTemplate;
import io.tessera.server.jinja.RenderLimits;
import io.tessera.server.jinja.TemplateException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Renders chat messages into a prompt with a Jinja chat template exactly as Hugging Face's
 * {@code apply_chat_template} does with Python's Jinja2 ({@link io.tessera.server.jinja}): variables
 * {@code messages} (each with {@code role} and {@code content}, assistant messages' {@code tool_calls}
 * and tool messages' {@code tool_call_id}), {@code tools} (the request's, or None), {@code documents}
 * (None), {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}, the request's own
 * variables ({@code chat_template_kwargs}), and the functions {@code raise_exception} and
 * {@code strftime_now}; blocks are trimmed ({@code trim_blocks}, {@code lstrip_blocks}).
 *
 * <p>A model without a template ({@code tokenizer.chat_template} absent from its metadata, e.g. a
 * llama2.c checkpoint) gets {@link #FALLBACK}: a plain transcript, a system message first as a
 * paragraph, then one {@code "Role: content"} line per message, ending in {@code "Assistant:"}.
 * The fallback emits no special tokens; the prompt is encoded with BOS added.
 *
 * <p>The template comes from the model file and is not trusted: it renders within
 * {@link TemplateLimits} (see {@link io.tessera.server.jinja.RenderLimits}); a rendering that breaks them is a 400 for
 * that request. {@link #probe()} tells at load time whether an ordinary conversation fits. A template
 * that does not parse fails every request with its syntax error; {@link #syntaxError()} tells.
 */
public final class ChatTemplate {

    /** The template used when the model has none. */
    public static final String FALLBACK = """
            {%- for message in messages -%}
            {%- if message['role'] == 'system' -%}
            {{ message['content'] }}{{ '\\n\\n' }}
            {%- else -%}
            {{ message['role'] | capitalize }}: {{ message['content'] }}{{ '\\n' }}
            {%- endif -%}
            {%- endfor -%}
            {%- if add_generation_prompt -%}Assistant:{%- endif -%}""";

    private final String source;
    private final boolean fallback;
    private final String bosToken;
    private final String eosToken;
    private final RenderLimits limits;
    /** The parsed template, or null when it does not parse ({@link #syntaxError} then says why). */
    private final JinjaTemplate template;
    private final String syntaxError;

    /**
     * @param template the model's template, or null for the fallback
     * @param bosToken the text of the BOS token, as templates write it
     */
    public ChatTemplate(String template, String bosToken, String eosToken) {
        this(template, bosToken, eosToken, TemplateLimits.DEFAULTS);
    }

    public ChatTemplate(String template, String bosToken, String eosToken, TemplateLimits limits) {
        this.fallback = template == null || template.isBlank();
        this.source = fallback ? FALLBACK : template;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.limits = new RenderLimits(limits.maxOutputChars(), limits.maxSteps(), limits.maxRenderTime().toNanos());
        JinjaTemplate parsed = null;
        String error = null;
        try {
            parsed = JinjaTemplate.parse(source);
        } catch (TemplateException e) {
            error = e.getMessage();
        }
        this.template = parsed;
        this.syntaxError = error;
    }

    /** Why the template does not parse, if it does not. */
    public Optional<String> syntaxError() {
        return Optional.ofNullable(syntaxError);
    }

    /** Whether this is the fallback (the prompt then needs BOS, and special-token text stays plain text). */
    public boolean isFallback() {
        return fallback;
    }

    public String source() {
        return source;
    }

    /**
     * Renders the prompt.
     *
     * @throws ApiException 400 when the template rejects the messages or fails on them
     */
    public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, false, Map.of());
    }

    /**
     * Renders the prompt as Hugging Face's {@code apply_chat_template} does.
     *
     * @param continueFinalMessage end the prompt with the final message's content, open, so that the
     *     model continues it (assistant prefill): the rendering is cut after that content, as
     *     {@code continue_final_message} does
     * @param variables the template's own variables ({@code chat_template_kwargs}, e.g. Qwen 3's
     *     {@code enable_thinking}), never one of {@link #RESERVED_VARIABLES}
     * @throws ApiException 400 when the template rejects the messages or fails on them
     */
    public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt,
            boolean continueFinalMessage, Map<String, Object> variables) {
        return render(messages, addGenerationPrompt, continueFinalMessage, variables, null);
    }

    /**
     * Renders the prompt with tool definitions, as {@code apply_chat_template(tools=...)} does.
     *
     * @param tools the request's tools ({@code [{"type": "function", "function": {...}}]}) or null
     */
    public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt,
            boolean continueFinalMessage, Map<String, Object> variables, List<Object> tools) {
        Map<String, Object> ctx = new HashMap<>(variables);
        ctx.put("messages", messages);
        ctx.put("tools", tools);
        ctx.put("documents", null);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", bosToken);
        ctx.put("eos_token", eosToken);
        if (template == null) {
            throw ApiException.badParam("messages", FAILED + syntaxError);
        }
        String out;
        try {
            out = template.render(ctx, limits);
        } catch (TemplateException.LimitExceeded e) {
            throw ApiException.badParam("messages", LIMIT_EXCEEDED + e.getMessage());
        } catch (TemplateException.Raised e) {
            throw ApiException.badParam("messages", REJECTED + e.getMessage());
        } catch (TemplateException e) {
            throw ApiException.badParam("messages", FAILED + e.getMessage());
        }
        return continueFinalMessage ? cutAfterFinalMessage(out, messages) : out;
    }

    /** The variables a template is always given, which a request's own variables may not replace. */
    public static final Set<String> RESERVED_VARIABLES = Set.of("messages", "tools", "documents",
            "add_generation_prompt", "bos_token", "eos_token", "raise_exception", "strftime_now");

    /**
     * Cuts the rendering after the final message's content, as {@code apply_chat_template} does for
     * {@code continue_final_message}: at the last occurrence of the stripped content, keeping the
     * content's trailing whitespace only where the template kept it.
     */
    private static String cutAfterFinalMessage(String rendered, List<Map<String, Object>> messages) {
        Object content = messages.getLast().get("content");
        String finalText = content == null ? "" : content.toString();
        String stripped = PythonText.strip(finalText);
        int at = rendered.lastIndexOf(stripped);
        if (at < 0) {
            throw ApiException.badParam("messages", "the final message does not appear in the rendered chat, so it"
                    + " cannot be continued (continue_final_message)");
        }
        int kept = PythonText.lstrip(finalText).length();
        if (rendered.substring(at, Math.min(rendered.length(), at + kept)).equals(finalText)) {
            return rendered.substring(0, at + kept);
        }
        return rendered.substring(0, at + stripped.length());
    }

    private static final String REJECTED = "the chat template rejected the messages: ";
    private static final String FAILED = "the chat template failed: ";
    private static final String LIMIT_EXCEEDED = "the chat template exceeded its rendering limits: ";

    /** A conversation every chat template should render: system, user, assistant, user. */
    static final List<Map<String, Object>> PROBE = List.of(
            Map.of("role", "system", "content", "You are a helpful assistant."),
            Map.of("role", "user", "content", "Hello!"),
            Map.of("role", "assistant", "content", "Hi! How can I help?"),
            Map.of("role", "user", "content", "Tell me a short story."));

    /**
     * Renders {@link #PROBE} once, as at load time: a template that breaks its limits or fails on
     * an ordinary conversation would fail every chat request.
     *
     * @return a warning for the operator (control characters escaped), or empty when the probe
     *     rendered or the template deliberately rejected it ({@code raise_exception}, e.g. for its
     *     system message)
     */
    public Optional<String> probe() {
        try {
            render(PROBE, true);
            return Optional.empty();
        } catch (ApiException e) {
            if (e.getMessage().startsWith(LIMIT_EXCEEDED) || e.getMessage().startsWith(FAILED)) {
                return Optional.of(SafeText.escape("the model's chat template fails on a four-message conversation, so"
                        + " chat requests will get 400 (" + e.getMessage() + ")"));
            }
            return Optional.empty();
        }
    }
}
